"""Several servers on one database: ``server.py database`` and nodes beside it.

Each node is ``python server.py`` with ``MONGODB_URI`` pointing at the
database that ``python server.py database`` runs alone; the nodes share
accounts and the ranked queue, see each other come and go, and what the database
settles holds across them: a ticket is paired once and nobody is in two matches, whichever node
took the ticket and whichever node's matchmaker paired it.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from actors.cluster.node import FENCE, HEARTBEAT, LEASE
from tests.support.client import PASSWORD
from tests.support.cluster import (
    SECRET,
    account,
    cluster,
    counted,
    finish_two_one,
    held_by,
    nodes_seen,
    one_nil,
    seated,
    wait_for,
)
from tests.support.netcut import Link
from tests.support.process import ROOT, ServerProcess
from tests.support.ws import Peer

GRACE = 30.0  # the default grace period


def test_the_database_runs_alone_and_stops_on_sigterm(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    process, _ = database
    again = subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "database", "--data-dir",
         str(tmp_path / "db"), "--port", "0"], cwd=ROOT, capture_output=True, text=True,
        timeout=60)
    assert again.returncode == 1 and "running on" in again.stderr  # one per data directory
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


def test_two_nodes_share_accounts_and_pair_each_ticket_once(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 2) as nodes:
        # signed up through one node, logged in through the other
        assert nodes[0].request("POST", "/api/users/sign_up/",
                                {"username": "traveller", "password": PASSWORD})[0] == 201
        status, body = nodes[1].request("POST", "/api/token/",
                                        {"username": "traveller", "password": PASSWORD})
        assert status == 200 and nodes[0].request("GET", "/api/users/me/",
                                                   token=body["token"])[0] == 200

        names = [f"ranked{n}" for n in range(40)]

        def token(n: int) -> str:
            return account(nodes[n % 2], names[n])

        def queue(n: int) -> int:  # half through each node, all at once
            return nodes[n % 2].request("POST", "/api/matchmaking/", {}, token=tokens[n])[0]

        with ThreadPoolExecutor(16) as pool:
            tokens = list(pool.map(token, range(40)))
            assert set(pool.map(queue, range(40))) == {201}
        deadline = time.monotonic() + 20
        while True:
            tickets = [nodes[n % 2].request("GET", "/api/matchmaking/", token=tokens[n])[1]
                       for n in range(40)]
            if all(t["status"] == "matched" for t in tickets) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        per_match = Counter(t["match"] for t in tickets)
        assert len(per_match) == 20 and set(per_match.values()) == {2}, per_match
        for n, ticket in enumerate(tickets):  # read through the other node
            user = nodes[(n + 1) % 2].request("GET", f"/api/users/{names[n]}/")[1]
            assert user["ongoing_match"] == ticket["match"]
        assert sum(counted(node, "arena_matchmaking_pairings_total") for node in nodes) == 20


def test_nodes_see_each_other_come_and_go(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    nodes = [ServerProcess(tmp_path / f"node{n}", "--cookie-secret", SECRET,
                           "--node-name", f"node-{n}", env={"MONGODB_URI": uri}).start()
             for n in range(3)]
    try:
        assert all(wait_for(lambda node=node: nodes_seen(node) == 3, 5) for node in nodes)
        assert 'arena_node_info{name="node-1"} 1' in nodes[1].request_text("/metrics")
        nodes[2].stop()  # SIGTERM: it leaves at once
        assert wait_for(lambda: nodes_seen(nodes[0]) == 2, 3)
        nodes[1].stop(signal.SIGKILL)  # gone without a word: after its lease
        started = time.monotonic()
        assert wait_for(lambda: nodes_seen(nodes[0]) == 1, LEASE + 3)
        assert time.monotonic() - started > LEASE - 2 * HEARTBEAT
    finally:
        for node in nodes:
            node.stop()


@pytest.mark.gen_test(timeout=120)
@pytest.mark.parametrize("how", ["kill", "stop"])
async def test_the_matches_of_a_node_that_goes_are_taken_over_and_finished(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path, how: str) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 2) as nodes:
        match, tokens, host, challenger, seen = await one_nil(nodes[0], how)
        assert held_by(nodes[0]) == 1 and held_by(nodes[1]) == 0
        gone = time.monotonic()
        nodes[0].stop(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        if how == "stop":  # "service restart": reconnect elsewhere, and at once:
            assert await host.closed() == await challenger.closed() == 1012
            # a node that stopped is gone, and asking for its match takes it over
        else:  # a node that died is gone once its lease has run out
            assert wait_for(lambda: held_by(nodes[1]) == 1, LEASE + 5)
            assert time.monotonic() - gone < GRACE  # within the players' grace period
        status, detail = nodes[1].request("GET", f"/api/ongoing_matches/{match['id']}/")
        assert status == 200  # and nothing seen was lost:
        assert detail["score"] == {"host": 1, "challenger": 0}
        await finish_two_one(nodes[1], match, tokens, seen, how)


def test_two_survivors_take_each_match_of_a_dead_node_once(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 3) as nodes:
        matches = [nodes[0].request("POST", "/api/ongoing_matches/", {},
                                    token=account(nodes[0], f"many_{n}"))[1]["id"]
                   for n in range(8)]
        nodes[0].stop(signal.SIGKILL)

        assert wait_for(lambda: held_by(nodes[1]) + held_by(nodes[2]) == len(matches),
                        LEASE + 5)
        time.sleep(2 * HEARTBEAT)  # and it stays so: each match on one survivor only
        assert held_by(nodes[1]) + held_by(nodes[2]) == len(matches)
        for match_id in matches:  # and any node answers for it
            assert all(nodes[n].request("GET", f"/api/ongoing_matches/{match_id}/")[0] == 200
                       for n in (1, 2))


@pytest.mark.gen_test(timeout=120)
async def test_a_match_is_played_through_three_nodes_with_every_socket_in_step(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 3) as nodes:
        tokens = {role: account(nodes[n], f"trio_{role}")
                  for n, role in enumerate(("host", "challenger", "spectator"))}
        status, match = nodes[0].request("POST", "/api/ongoing_matches/",
                                         {"game": "rps", "target_score": 2},
                                         token=tokens["host"])
        assert status == 201
        # created through node 0; the host attaches through node 1, the others through node 2
        peers = {"host": await seated(nodes[1], match["id"], tokens["host"]),
                 "challenger": await seated(nodes[2], match["id"], tokens["challenger"]),
                 "spectator": await seated(nodes[2], match["id"], tokens["spectator"])}
        assert (await peers["challenger"].command("join", role="challenger"))["type"] == "ack"
        assert (await peers["spectator"].command("join", role="spectator"))["type"] == "ack"
        assert (await peers["challenger"].command("ready"))["type"] == "ack"
        assert (await peers["host"].command("start"))["type"] == "ack"
        for host_throw, challenger_throw in (("rock", "scissors"), ("paper", "rock")):
            assert (await peers["host"].command(
                "move", move={"throw": host_throw}))["type"] == "ack"
            assert (await peers["challenger"].command(
                "move", move={"throw": challenger_throw}))["type"] == "ack"
        for peer in peers.values():
            ended = await peer.next("event", "ended")
            assert ended["result"]["winner"] == "trio_host"
            assert await peer.closed() == 4410
        events = [[(e["seq"], e["kind"]) for e in peer.events()] for peer in peers.values()]
        last = events[0][-1]
        for seen in events:  # the same events, in order, through every node
            assert seen == [e for e in events[0] if e[0] >= seen[0][0]] and seen[-1] == last
        # a REST read through any node shows the owner's state; elo applied once
        for node in nodes:
            user = node.request("GET", "/api/users/trio_host/")[1]
            assert (user["elo"], user["ongoing_match"]) == (1050, None)
        assert [counted(node, "arena_relayed_sockets_total") for node in nodes] == [0, 1, 2]


def test_rest_reads_and_deletes_of_a_match_reach_its_node(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 2) as nodes:
        token = account(nodes[0], "rest_host")
        match = nodes[0].request("POST", "/api/ongoing_matches/", {}, token=token)[1]
        here = nodes[0].request("GET", f"/api/ongoing_matches/{match['id']}/")
        there = nodes[1].request("GET", f"/api/ongoing_matches/{match['id']}/")
        assert here == there and there[0] == 200
        assert nodes[1].request("GET", f"/api/ongoing_matches/{match['id']}/host/")[1][
            "username"] == "rest_host"
        assert nodes[1].request("GET", "/api/users/rest_host/ongoing_match/")[1]["id"] == \
            match["id"]
        assert nodes[1].request("DELETE", f"/api/ongoing_matches/{match['id']}/",
                                token=token)[0] == 204
        assert nodes[0].request("GET", f"/api/ongoing_matches/{match['id']}/")[0] == 404
        assert nodes[1].request("GET", f"/api/ongoing_matches/{match['id']}/")[0] == 404


def test_the_list_of_ongoing_matches_is_the_whole_clusters(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 3) as nodes:
        made = [nodes[n % 3].request(  # two matches created through each node
            "POST", "/api/ongoing_matches/", {}, token=account(nodes[n % 3], f"lister_{n}"))[1][
                "id"] for n in range(6)]
        for node in nodes:
            listed = node.request("GET", "/api/ongoing_matches/")[1]
            assert [m["id"] for m in listed] == sorted(made)
            page = node.request("GET", "/api/ongoing_matches/?limit=2&offset=2")[1]
            assert [m["id"] for m in page] == sorted(made)[2:4]


@pytest.mark.gen_test(timeout=120)
async def test_two_workers_behind_one_port_serve_matches_end_to_end(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, "--workers", "2").start()
    try:
        assert wait_for(lambda: nodes_seen(server) == 2, 10)
        for n in range(4):  # whichever worker each request and socket lands on
            tokens = {role: account(server, f"worker{n}_{role}")
                      for role in ("host", "challenger")}
            status, match = server.request("POST", "/api/ongoing_matches/",
                                           {"game": "rps", "target_score": 1},
                                           token=tokens["host"])
            assert status == 201
            host = await seated(server, match["id"], tokens["host"])
            challenger = await seated(server, match["id"], tokens["challenger"])
            assert (await challenger.command("join", role="challenger"))["type"] == "ack"
            assert (await challenger.command("ready"))["type"] == "ack"
            assert (await host.command("start"))["type"] == "ack"
            assert (await host.command("move", move={"throw": "rock"}))["type"] == "ack"
            assert (await challenger.command("move", move={"throw": "scissors"}))["type"] == "ack"
            for peer in (host, challenger):
                assert (await peer.next("event", "ended"))["result"]["winner"] == \
                    f"worker{n}_host"
            user = server.request("GET", f"/api/users/worker{n}_host/")[1]
            assert (user["elo"], user["ongoing_match"]) == (1050, None)
    finally:
        assert server.stop() == 0


def test_races_through_three_nodes_hold(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database

    def new_user(name: str) -> tuple[str, str]:
        token = account(nodes[0], name)
        return nodes[0].request("GET", "/api/users/me/", token=token)[1]["id"], token

    with cluster(uri, tmp_path, 3) as nodes, ThreadPoolExecutor(12) as pool:
        # one user creating matches through every node at once: one match
        _, creator = new_user("racer")
        made = list(pool.map(lambda n: nodes[n % 3].request(
            "POST", "/api/ongoing_matches/", {}, token=creator)[0], range(9)))
        assert sorted(made) == [201] + [400] * 8
        # twelve users creating at once through three nodes: twelve ids, none twice
        makers = [new_user(f"maker_{n}")[1] for n in range(12)]
        ids = list(pool.map(lambda n: nodes[n % 3].request(
            "POST", "/api/ongoing_matches/", {}, token=makers[n])[1]["id"], range(12)))
        assert len(set(ids)) == 12
        # eight invites into one lobby through three nodes: five players, never six
        _, host = new_user("lobby_racer")
        guests = [new_user(f"guest_{n}")[0] for n in range(8)]
        lobby = nodes[0].request("POST", "/games", {"name": "raced", "users": []},
                                 token=host)[1]["data"]["game"]["id"]
        invited = list(pool.map(lambda n: nodes[n % 3].request(
            "POST", "/games/users", {"gameId": lobby, "userId": guests[n]},
            token=host)[0], range(8)))
        assert sorted(invited) == [200] * 4 + [409] * 4
        members = nodes[1].request("GET", f"/games?id={lobby}", token=host)[1]["data"]
        assert len(members["users"]) == 5
        # seven toggles of one flag through three nodes: flipped seven times
        _, fan = new_user("toggler")
        nodes[0].request("POST", "/api/actions/like/",
                         {"igdb": 424242, "name": "Raced", "value": False}, token=fan)
        toggled = list(pool.map(lambda n: nodes[n % 3].request(
            "POST", "/api/actions/like/", {"igdb": 424242, "name": "Raced"},
            token=fan)[0], range(7)))
        assert set(toggled) == {200}
        state = nodes[2].request("GET", "/api/actions/?igdb=424242", token=fan)[1]
        assert state["liked"] is True
        stats = nodes[1].request("GET", "/api/actions/stats/?igdb=424242", token=fan)[1]
        assert stats["liked"] == 1


@pytest.mark.gen_test(timeout=120)
@pytest.mark.parametrize("step", ["ending_recorded", "winner_rated"])
async def test_an_ending_a_dead_node_left_half_done_is_finished_once_by_another(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path, step: str) -> None:
    _, uri = database
    with cluster(uri, tmp_path / "dying", 1, ARENA_CRASH_AT=step) as dying, \
            cluster(uri, tmp_path / "surviving", 1) as surviving:
        nodes = [*dying, *surviving]
        tokens = {role: account(nodes[1], f"{step[:6]}_{role}") for role in ("host", "challenger")}
        match = nodes[0].request("POST", "/api/ongoing_matches/",
                                 {"game": "rps", "target_score": 1}, token=tokens["host"])[1]
        host = await seated(nodes[1], match["id"], tokens["host"])  # relayed to node 0
        challenger = await seated(nodes[1], match["id"], tokens["challenger"])
        assert (await challenger.command("join", role="challenger"))["type"] == "ack"
        assert (await challenger.command("ready"))["type"] == "ack"
        assert (await host.command("start"))["type"] == "ack"
        assert (await host.command("move", move={"throw": "paper"}))["type"] == "ack"
        challenger.send({"type": "move", "move": {"throw": "rock"}})  # node 0 dies ending it
        assert nodes[0].process is not None and nodes[0].process.wait(30) == -signal.SIGKILL

        def finished() -> bool:  # stored, and both players released (the last steps)
            return nodes[1].request("GET", f"/api/completed_matches/{match['id']}/")[0] == 200 \
                and all(nodes[1].request("GET", f"/api/users/{step[:6]}_{role}/")[1][
                    "ongoing_match"] is None for role in ("host", "challenger"))

        assert wait_for(finished, LEASE + 5)
        result = nodes[1].request("GET", f"/api/completed_matches/{match['id']}/")[1]
        assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
        for role, elo in (("host", 1050), ("challenger", 950)):
            user = nodes[1].request("GET", f"/api/users/{step[:6]}_{role}/")[1]
            assert (user["elo"], user["ongoing_match"]) == (elo, None)
        assert nodes[1].request("GET", f"/api/ongoing_matches/{match['id']}/")[0] == 404


def fenced(node: ServerProcess) -> bool:
    return counted(node, "arena_node_fenced") == 1


@contextlib.contextmanager
def cut_off(uri: str) -> Iterator[tuple[Link, str]]:
    """A link a test can cut in front of the database at ``uri``, and the URI
    that goes through it."""
    port = int(re.search(r":(\d+)/", uri).group(1))  # type: ignore[union-attr]
    with Link(port) as link:
        yield link, re.sub(r":\d+/", f":{link.port}/", uri)


@pytest.mark.gen_test(timeout=120)
async def test_a_node_cut_off_from_the_database_stops_its_match_before_it_is_taken_over(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cut_off(uri) as (link, linked), cluster(linked, tmp_path / "cut", 1) as (cut,), \
            cluster(uri, tmp_path / "other", 1) as (other,):
        match, tokens, host, challenger, seen = await one_nil(cut, "fence")
        link.cut()
        began = time.monotonic()
        assert await host.closed(LEASE + 5) == 1012  # "reconnect": the match is moving
        stopped = time.monotonic() - began
        assert await challenger.closed() == 1012
        assert held_by(other) == 0  # stopped first, then taken over: never two at once
        assert stopped <= FENCE + 0.5 and fenced(cut) and held_by(cut) == 0
        assert wait_for(lambda: held_by(other) == 1, LEASE + 5)
        assert time.monotonic() - began < GRACE
        link.heal()
        assert wait_for(lambda: not fenced(cut), 10)
        time.sleep(2 * HEARTBEAT)
        assert (held_by(cut), held_by(other)) == (0, 1)  # it does not take its match back
        await finish_two_one(cut, match, tokens, seen, "fence")  # relayed to the new owner


@pytest.mark.gen_test(timeout=120)
async def test_a_lone_node_cut_off_from_the_database_runs_its_match_again_once_back(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cut_off(uri) as (link, linked), cluster(linked, tmp_path, 1) as (node,):
        match, tokens, host, challenger, seen = await one_nil(node, "alone")
        link.cut()
        assert await host.closed(LEASE + 5) == await challenger.closed() == 1012
        assert held_by(node) == 0
        link.heal()
        assert wait_for(lambda: held_by(node) == 1, 10)
        await finish_two_one(node, match, tokens, seen, "alone")


async def reply(peer: Peer, frame_id: int) -> dict[str, Any]:
    """The ack or error answering the frame ``frame_id`` (already sent)."""
    while True:
        frame = await peer.read(10)
        assert frame is not None, f"closed ({peer.close_code}) before the reply"
        if frame["type"] in ("ack", "error") and frame.get("id") == frame_id:
            return frame


def in_order(peer: Peer) -> bool:
    """Whether the socket got one snapshot, then every event one ``seq``
    after another: no gap, no second snapshot standing in for events."""
    sequenced = [f for f in peer.received if f["type"] in ("snapshot", "event")]
    if not sequenced or sequenced[0]["type"] != "snapshot":
        return False
    seqs = [f["seq"] for f in sequenced]
    return all(f["type"] == "event" for f in sequenced[1:]) and \
        seqs == list(range(seqs[0], seqs[0] + len(seqs)))


@pytest.mark.gen_test(timeout=120)
async def test_a_node_stopping_hands_its_matches_over_unseen_by_relayed_sockets(
        database: tuple[subprocess.Popen[str], str], tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 3) as nodes:
        tables = []
        for n in range(3):  # held by node 0, every socket through node 1 or 2
            tokens = {role: account(nodes[1], f"move{n}_{role}")
                      for role in ("host", "challenger", "spectator")}
            match = nodes[0].request("POST", "/api/ongoing_matches/",
                                     {"game": "rps", "target_score": 2}, token=tokens["host"])[1]
            peers = {role: await seated(nodes[1 + (k + n) % 2], match["id"], tokens[role])
                     for k, role in enumerate(tokens)}
            assert (await peers["challenger"].command("join", role="challenger"))["type"] == "ack"
            assert (await peers["spectator"].command("join", role="spectator"))["type"] == "ack"
            assert (await peers["challenger"].command("ready"))["type"] == "ack"
            assert (await peers["host"].command("start"))["type"] == "ack"
            assert (await peers["host"].command("move", move={"throw": "rock"}))["type"] == "ack"
            assert (await peers["challenger"].command(
                "move", move={"throw": "scissors"}))["type"] == "ack"
            tables.append((match, peers))
        assert held_by(nodes[0]) == 3

        for n, (_, peers) in enumerate(tables):  # moves in flight as node 0 stops
            peers["host"].send({"type": "move", "id": 100 + n, "move": {"throw": "paper"}})
        assert nodes[0].stop(signal.SIGTERM) == 0
        for n, (_, peers) in enumerate(tables):
            answer = await reply(peers["host"], 100 + n)
            if answer["type"] == "error":  # it reached node 0 as it was stopping
                assert answer["code"] == "unavailable"
                assert (await peers["host"].command(
                    "move", move={"throw": "paper"}))["type"] == "ack"
        assert wait_for(lambda: held_by(nodes[1]) + held_by(nodes[2]) == 3, 5)
        # and every relay has followed its match (one ending sooner would find
        # a socket still moving: it closes with 4404, as a late reconnect would)
        assert wait_for(lambda: sum(counted(node, "arena_relayed_sockets_moved_total")
                                    for node in nodes[1:]) == 9, 5)
        for _, peers in tables:  # the count goes up as a relay reconnects: a pong
            for peer in peers.values():  # from the new owner says it has arrived
                assert (await peer.command("ping"))["type"] == "pong"

        for match, peers in tables:
            assert (await peers["challenger"].command(
                "move", move={"throw": "rock"}))["type"] == "ack"
            for peer in peers.values():
                ended = await peer.next("event", "ended")
                assert ended["result"]["winner"] == match["host"]["username"]
                assert await peer.closed() == 4410  # the first close any of them saw
                assert in_order(peer)
            ends = {peer.events()[-1]["seq"] for peer in peers.values()}
            assert len(ends) == 1
        for role, elo in (("host", 1050), ("challenger", 950)):
            user = nodes[1].request("GET", f"/api/users/move0_{role}/")[1]
            assert (user["elo"], user["ongoing_match"]) == (elo, None)
