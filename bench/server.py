"""Start a server under test as a child process, and read its memory.

(The generator, ``bench/peer/generator.mjs``, reads CPU time itself from the
pids it is given.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from store.embedded import die_with_parent

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class ServerProcess:
    """A server started with ``command``; ready when it prints ``ready_prefix`` + URL."""

    name = "server"

    def __init__(self, command: list[str], ready_prefix: str, cpu: int | None = None) -> None:
        self.command = (["taskset", "-c", str(cpu)] if cpu is not None else []) + command
        self.ready_prefix = ready_prefix
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        # preexec: a benchmark stopped by a signal leaves no server running behind it
        self.process = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.PIPE,
                                        text=True, preexec_fn=die_with_parent)
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(self.ready_prefix):
                self.url = line.split()[-1].rstrip("/")
                # keep reading what it prints, so a full pipe never blocks it
                threading.Thread(target=self._relay_output, daemon=True).start()
                return self
        raise RuntimeError(f"{self.command} did not start")

    def _relay_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            sys.stderr.write(f"[{self.name}] {line}")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(30)

    def pids(self) -> list[int]:
        """The server and its children (the embedded database counts too)."""
        assert self.process is not None
        return [self.process.pid, *_children(self.process.pid)]

    def rss_bytes(self) -> int:
        return sum(rss_bytes(pid) for pid in self.pids())


class ArenaProcess(ServerProcess):
    name = "arena"

    def __init__(self, *extra: str, cpu: int | None = None) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="arena-bench-")
        super().__init__(
            [sys.executable, str(ROOT / "server.py"), "--port", "0", "--data-dir",
             self.data_dir, "--log-level", "warning", "--bcrypt-rounds", "4", *extra],
            "Arena listening on ", cpu)


class RelayProcess(ServerProcess):
    name = "relay"

    def __init__(self, port: int = 8501, cpu: int | None = None) -> None:
        super().__init__([sys.executable, "-m", "bench.relay", "--port", str(port)],
                         "Relay listening on ", cpu)
