"""Start an Arena server for a benchmark: a child process on a fresh data directory."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ArenaProcess:
    def __init__(self, *extra: str) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="arena-bench-")
        self.extra = extra
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ArenaProcess:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "server.py"), "--port", "0", "--data-dir",
             self.data_dir, "--log-level", "warning", "--bcrypt-rounds", "4", *self.extra],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("Arena listening on "):
                self.url = line.split()[-1].rstrip("/")
                return self
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(30)
