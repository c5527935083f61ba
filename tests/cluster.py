"""Clusters for the tests: nodes on one database, each a real ``server.py``.

The database is ``python server.py database`` (the ``database`` fixture of
``tests.conftest``); ``cluster`` starts nodes on it sharing one secret, and
the helpers read what a node says of itself (``/metrics``).
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.client import PASSWORD
from tests.process import ServerProcess
from tests.ws import Peer

SECRET = "shared-secret-for-the-test"


@contextlib.contextmanager
def cluster(uri: str, tmp_path: Path, count: int, **env: str) -> Iterator[list[ServerProcess]]:
    """``count`` nodes on the database at ``uri``, sharing the secret; stopped after."""
    nodes: list[ServerProcess] = []
    try:
        for n in range(count):
            nodes.append(ServerProcess(tmp_path / f"node{n}", "--cookie-secret", SECRET,
                                       env={"MONGODB_URI": uri, **env}).start())
        yield nodes
    except BaseException:  # what the nodes logged goes with the failure
        for node in nodes:
            sys.stderr.write(f"--- {node.url}\n" + "".join(
                line for line in node.output if not line.startswith("  ")))
        raise
    finally:
        for node in nodes:
            node.stop()


def account(node: ServerProcess, name: str) -> str:
    """Sign ``name`` up through ``node``; a token for them."""
    assert node.request("POST", "/api/users/sign_up/",
                        {"username": name, "password": PASSWORD})[0] == 201
    return node.request("POST", "/api/token/", {"username": name, "password": PASSWORD})[1][
        "token"]


def counted(node: ServerProcess, name: str) -> int:
    """The value of the unlabelled sample ``name`` in ``node``'s ``/metrics``."""
    found = re.search(rf"^{name} (\d+)", node.request_text("/metrics"), re.M)
    assert found, name
    return int(found.group(1))


def nodes_seen(node: ServerProcess) -> int:
    return counted(node, "arena_cluster_nodes")


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def held_by(node: ServerProcess) -> int:
    """How many live matches ``node`` runs the actors of."""
    return counted(node, "arena_live_matches")


async def seated(node: ServerProcess, match_id: int, token: str) -> Peer:
    peer = await Peer.connect(node.url, match_id, token)
    await peer.next("snapshot")
    return peer
