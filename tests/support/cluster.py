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
from typing import Any

from tests.support.client import PASSWORD
from tests.support.process import ServerProcess
from tests.support.ws import Peer

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


async def one_nil(node: ServerProcess, prefix: str
                  ) -> tuple[dict[str, Any], dict[str, str], Peer, Peer, dict[str, Any]]:
    """An rps match to 2 created through ``node`` by two new users, started and
    at 1-0 to the host: the match, the tokens by role, the two players' peers
    and the ack of the last move."""
    tokens = {role: account(node, f"{prefix}_{role}") for role in ("host", "challenger")}
    status, match = node.request("POST", "/api/ongoing_matches/",
                                 {"game": "rps", "target_score": 2}, token=tokens["host"])
    assert status == 201
    host = await seated(node, match["id"], tokens["host"])
    challenger = await seated(node, match["id"], tokens["challenger"])
    assert (await challenger.command("join", role="challenger"))["type"] == "ack"
    assert (await challenger.command("ready"))["type"] == "ack"
    assert (await host.command("start"))["type"] == "ack"
    assert (await host.command("move", move={"throw": "rock"}))["type"] == "ack"
    seen = await challenger.command("move", move={"throw": "scissors"})
    assert seen["type"] == "ack"
    return match, tokens, host, challenger, seen


async def finish_two_one(node: ServerProcess, match: dict[str, Any], tokens: dict[str, str],
                         seen: dict[str, Any], prefix: str) -> None:
    """Both players of ``one_nil``'s match come back through ``node``, find it
    where they left it, and the host wins it: elo applied once."""
    host = await Peer.connect(node.url, match["id"], tokens["host"])
    snapshot = await host.next("snapshot")
    assert snapshot["seq"] >= seen["seq"]  # nothing seen was lost
    assert snapshot["state"]["score"] == {"host": 1, "challenger": 0}
    challenger = await seated(node, match["id"], tokens["challenger"])
    assert (await host.command("move", move={"throw": "paper"}))["type"] == "ack"
    assert (await challenger.command("move", move={"throw": "rock"}))["type"] == "ack"
    ended = await host.next("event", "ended")
    assert ended["result"]["winner_elo_after_match"] == 1050
    for role, elo in (("host", 1050), ("challenger", 950)):
        user = node.request("GET", f"/api/users/{prefix}_{role}/")[1]
        assert (user["elo"], user["ongoing_match"]) == (elo, None)
