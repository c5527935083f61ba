"""Crash tests: the real server as a child process, killed with SIGKILL and restarted."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.process import ServerProcess, new_user, seat
from tests.support.ws import Peer

ENDING_STEPS = ["ending_recorded", "completed_stored", "winner_rated", "loser_rated",
                "released"]


async def ready_match(server: ServerProcess, prefix: str, target: int = 3) -> dict[str, Any]:
    tokens = {role: new_user(server, f"{prefix}_{role}")
              for role in ("host", "challenger", "spectator")}
    status, match = server.request("POST", "/api/ongoing_matches/",
                                   {"game": "rps", "target_score": target}, token=tokens["host"])
    assert status == 201
    peers = {role: (await seat(server, match["id"], token))[0] for role, token in tokens.items()}
    assert (await peers["challenger"].command("join", role="challenger"))["type"] == "ack"
    assert (await peers["challenger"].command("ready"))["type"] == "ack"
    assert (await peers["spectator"].command("join", role="spectator"))["type"] == "ack"
    assert (await peers["host"].command("start"))["type"] == "ack"
    return {"id": match["id"], "tokens": tokens, "peers": peers}


async def play_round(peers: dict[str, Peer], host: str, challenger: str) -> None:
    assert (await peers["host"].command("move", move={"throw": host}))["type"] == "ack"
    assert (await peers["challenger"].command("move", move={"throw": challenger}))["type"] == "ack"


def user(server: ServerProcess, name: str) -> dict[str, Any]:
    status, body = server.request("GET", f"/api/users/{name}/")
    assert status == 200
    return body


@pytest.mark.gen_test(timeout=120)
@pytest.mark.parametrize("checkpoints", [False, True])
async def test_a_killed_server_restarts_where_the_clients_left_off(
    tmp_path: Path, checkpoints: bool
) -> None:
    # With frequent checkpoints the state survives in the match document and the
    # journal segments behind it are dropped; without, it is all in the journal.
    extra = ("--checkpoint-interval", "0.2") if checkpoints else ()
    server = ServerProcess(tmp_path, *extra).start()
    try:
        game = await ready_match(server, "crash")
        peers = game["peers"]
        await play_round(peers, "rock", "scissors")
        if checkpoints:
            await asyncio.sleep(0.6)
        await play_round(peers, "paper", "rock")
        ack = await peers["host"].command("move", move={"throw": "rock"})
        last = await peers["spectator"].next("event", "moved")
        while last["seq"] < ack["seq"]:
            last = await peers["spectator"].next("event")
    finally:
        server.stop(signal.SIGKILL)

    again = ServerProcess(tmp_path, *extra).start()
    try:
        status, detail = again.request("GET", f"/api/ongoing_matches/{game['id']}/")
        assert status == 200 and detail["is_started"] and detail["score"] == {
            "host": 2, "challenger": 0}
        tokens = game["tokens"]
        host, host_snapshot = await seat(again, game["id"], tokens["host"])
        challenger, snapshot = await seat(again, game["id"], tokens["challenger"])
        spectator, spectator_snapshot = await seat(again, game["id"], tokens["spectator"])
        # nothing any client saw was lost: the state is the last one shown
        assert host_snapshot["seq"] == last["seq"] + 1  # + the host's own reconnected event
        assert spectator_snapshot["state"]["score"] == last["state"]["score"]
        assert spectator_snapshot["state"]["thrown"] == {"host": True, "challenger": False}
        assert snapshot["you"] == "challenger"
        reply = await challenger.command("move", move={"throw": "scissors"})
        assert reply["type"] == "ack"
        ended = await spectator.next("event", "ended")
        result = ended["result"]
        assert (result["winner_score"], result["loser_score"]) == (3, 0)
        assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
        assert user(again, "crash_host")["elo"] == 1050
        assert user(again, "crash_challenger")["elo"] == 950
        assert user(again, "crash_spectator")["ongoing_match"] is None
        seqs = [e["seq"] for e in spectator.events()]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert host
    finally:
        again.stop()


@pytest.mark.gen_test(timeout=300)
@pytest.mark.parametrize("step", ENDING_STEPS)
async def test_a_crash_at_each_step_of_an_ending_completes_it_once(
    tmp_path: Path, step: str
) -> None:
    server = ServerProcess(tmp_path, env={"ARENA_CRASH_AT": step}).start()
    game = await ready_match(server, step, target=1)
    peers = game["peers"]
    peers["host"].send({"type": "move", "move": {"throw": "paper"}})
    await peers["host"].command("ping")  # the throw has been handled
    peers["challenger"].send({"type": "move", "move": {"throw": "rock"}})
    await peers["challenger"].closed(timeout=30)  # the server died at the fault point
    assert server.process is not None and server.process.wait(30) == -signal.SIGKILL

    again = ServerProcess(tmp_path).start()
    try:
        status, result = again.request("GET", f"/api/completed_matches/{game['id']}/")
        assert status == 200
        assert (result["winner"], result["loser"]) == (f"{step}_host", f"{step}_challenger")
        assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
        status, listed = again.request("GET", f"/api/completed_matches/?user={step}_host")
        assert [m["id"] for m in listed] == [game["id"]]
        for role, elo in (("host", 1050), ("challenger", 950), ("spectator", 1000)):
            found = user(again, f"{step}_{role}")
            assert (found["elo"], found["ongoing_match"], found["role"]) == (elo, None, None)
        assert again.request("GET", f"/api/ongoing_matches/{game['id']}/")[0] == 404
        late = await Peer.connect(again.url, game["id"], game["tokens"]["host"])
        assert await late.closed() == 4404
    finally:
        again.stop()
    # a second restart changes nothing more
    third = ServerProcess(tmp_path).start()
    try:
        assert user(third, f"{step}_host")["elo"] == 1050
        assert user(third, f"{step}_challenger")["elo"] == 950
    finally:
        third.stop()
