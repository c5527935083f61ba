"""Run the real server as a child process, the way a user does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.client import PASSWORD
from tests.support.ws import Peer

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "server.py"), *args], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={**os.environ, **(env or {})},
    )


class ServerProcess:
    """``python server.py`` on a data directory and a free port."""

    def __init__(self, data_dir: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    @classmethod
    def at(cls, url: str) -> ServerProcess:
        """A handle on a server already listening at ``url`` (one node of
        ``--workers``), for its requests only."""
        server = cls(Path())
        server.url = url
        return server

    def start(self, timeout: float = 90.0) -> ServerProcess:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py"), "--port", "0", "--data-dir",
             str(self.data_dir), "--bcrypt-rounds", "4", "--log-level", "warning", *self.extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("server exited at start-up:\n" + "".join(self.output))
            self.output.append(line)
            if line.startswith("Arena listening on "):
                self.url = line.split()[-1].rstrip("/")
                # keep reading: a server whose log fills the pipe would block on it
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("server did not start in time:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)

    def request(self, method: str, path: str, body: Any = None,
                token: str | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


    def request_text(self, path: str) -> str:
        """The body of ``GET path`` as text (``/metrics``)."""
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return response.read().decode()


def database_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "embedded-db.json").read_text())["pid"])


def database_uri(data_dir: Path) -> str:
    """Where the embedded database of the server on ``data_dir`` listens."""
    return f"mongodb://127.0.0.1:{json.loads((data_dir / 'embedded-db.json').read_text())['port']}/"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def wait_until_dead(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.05)
    return False


def new_user(server: ServerProcess, name: str) -> str:
    status, _ = server.request("POST", "/api/users/sign_up/",
                               {"username": name, "password": PASSWORD})
    assert status == 201
    status, body = server.request("POST", "/api/token/", {"username": name, "password": PASSWORD})
    return body["token"]


async def seat(server: ServerProcess, match_id: int, token: str) -> tuple[Peer, dict[str, Any]]:
    peer = await Peer.connect(server.url, match_id, token)
    return peer, await peer.next("snapshot")
