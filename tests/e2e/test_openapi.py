"""The OpenAPI document describes what the server does: schemathesis finds nothing.

Schemathesis (every check, positive and negative data, the stateful phase)
runs against a real server process, authenticated as a real user, with the
expectations in ``tests/schemathesis/schemathesis.toml``.  Bounded in time
by the number of cases per operation.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.client import PASSWORD
from tests.support.process import ServerProcess

CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
CASES_PER_OPERATION = 40


@pytest.mark.skipif(shutil.which("schemathesis") is None and
                    subprocess.run([sys.executable, "-c", "import schemathesis"],
                                   capture_output=True).returncode != 0,
                    reason="schemathesis is not installed (pip install -e '.[test]')")
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        assert server.request("POST", "/api/users/sign_up/",
                              {"username": "fuzzer", "password": PASSWORD})[0] == 201
        status, body = server.request("POST", "/api/token/",
                                      {"username": "fuzzer", "password": PASSWORD})
        assert status == 200
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
             f"{server.url}/api/openapi.json", "-H", f"Authorization: Token {body['token']}",
             "--checks", "all", "--mode", "all", "-n", str(CASES_PER_OPERATION),
             "--seed", "20261201", "--no-color"],
            capture_output=True, text=True, timeout=600,
        )
    finally:
        server.stop()
    summary = re.search(r"(\d+) generated", result.stdout)
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-20000:]
    assert summary is not None and int(summary.group(1)) > 1000
