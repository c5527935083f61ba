"""Start a server under test as a child process, and read its memory.

(The generator, ``bench/peer/generator.mjs``, reads CPU time itself from the
pids it is given.)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from store.embedded import die_with_parent

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def cpu_seconds(pids: Iterable[int]) -> float:
    """The CPU time (user + system) the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


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

    def __init__(self, command: list[str], ready_prefix: str, cpu: int | None = None,
                 env: dict[str, str] | None = None, root: Path = ROOT) -> None:
        self.command = (["taskset", "-c", str(cpu)] if cpu is not None else []) + command
        self.ready_prefix = ready_prefix
        self.env = env
        self.root = root
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        # preexec: a benchmark stopped by a signal leaves no server running behind it
        self.process = subprocess.Popen(self.command, cwd=self.root, stdout=subprocess.PIPE,
                                        text=True, preexec_fn=die_with_parent,
                                        env=None if self.env is None else {**os.environ,
                                                                           **self.env})
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if self.ready(line):
                # keep reading what it prints, so a full pipe never blocks it
                threading.Thread(target=self._relay_output, daemon=True).start()
                return self
        raise RuntimeError(f"{self.command} did not start")

    def ready(self, line: str) -> bool:
        """Whether ``line``, printed at start, says the server is ready."""
        if line.startswith(self.ready_prefix):
            self.url = line.split()[-1].rstrip("/")
            return True
        return False

    @property
    def urls(self) -> list[str]:
        """Where clients may connect: one URL, or each node of a cluster's."""
        return [self.url]

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
    """Arena on a data directory of its own: one node, or with ``--workers N``
    N nodes behind one port, ready once each has said where it is reached;
    the code in ``root`` (another checkout: an earlier revision to compare)."""

    name = "arena"

    def __init__(self, *extra: str, cpu: int | None = None,
                 env: dict[str, str] | None = None, root: Path = ROOT) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="arena-bench-")
        self.workers = int(extra[extra.index("--workers") + 1]) if "--workers" in extra else 1
        self.node_urls: list[str] = []
        super().__init__(
            [sys.executable, str(root / "server.py"), "--port", "0", "--data-dir",
             self.data_dir, "--log-level", "warning", "--bcrypt-rounds", "4", *extra],
            "Arena listening on ", cpu, env, root)

    def ready(self, line: str) -> bool:
        listening = super().ready(line)  # the shared port, with --workers
        if self.workers == 1:
            return listening
        if line.startswith("Arena node "):
            self.node_urls.append(line.split()[-1].rstrip("/"))
        return len(self.node_urls) == self.workers

    def metrics(self) -> dict[str, float]:
        """Each node's ``/metrics`` counters added up (``--workers``: each
        node's own, reached on its private port)."""
        return add_metrics(self.node_urls or [self.url])


def add_metrics(urls: list[str]) -> dict[str, float]:
    """The unlabelled samples of ``/metrics`` at each of ``urls``, summed."""
    totals: dict[str, float] = {}
    for url in urls:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as answer:
            for line in answer.read().decode().splitlines():
                name, _, value = line.partition(" ")
                if value and not line.startswith("#") and "{" not in name:
                    totals[name] = totals.get(name, 0.0) + float(value)
    return totals


class DatabaseProcess(ServerProcess):
    """``server.py database`` alone, on a fresh data directory; ``url`` is its URI."""

    name = "database"

    def __init__(self, cpu: int | None = None) -> None:
        super().__init__([sys.executable, str(ROOT / "server.py"), "database", "--data-dir",
                          tempfile.mkdtemp(prefix="arena-db-"), "--port", "0"],
                         "Arena database ", cpu)


class ClusterProcess:
    """The database alone and ``count`` Arena nodes on it, each on its own port,
    sharing one secret; ``extra`` is every node's command line.  ``route`` says
    how a load generator should place its sockets on the nodes (``spread``
    or ``owner``: ``bench/peer/common.mjs``)."""

    name = "arena"

    def __init__(self, count: int, *extra: str, cpu: int | None = None,
                 route: str = "spread") -> None:
        self.count, self.extra, self.cpu, self.route = count, extra, cpu, route
        self.database = DatabaseProcess(cpu)
        self.nodes: list[ArenaProcess] = []
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> ClusterProcess:
        with contextlib.ExitStack() as stack:
            uri = stack.enter_context(self.database).url
            for n in range(self.count):
                self.nodes.append(stack.enter_context(ArenaProcess(
                    "--cookie-secret", "bench-cluster-secret", "--node-name", f"n{n + 1}",
                    *self.extra, cpu=self.cpu, env={"MONGODB_URI": uri})))
            self.stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()  # the nodes first, then the database

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def pids(self) -> list[int]:
        return [*self.database.pids(), *(pid for node in self.nodes for pid in node.pids())]

    def metrics(self) -> dict[str, float]:
        return add_metrics(self.urls)


class RelayProcess(ServerProcess):
    name = "relay"

    def __init__(self, port: int = 8501, cpu: int | None = None) -> None:
        super().__init__([sys.executable, "-m", "bench.relay", "--port", str(port)],
                         "Relay listening on ", cpu)
