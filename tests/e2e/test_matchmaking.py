"""The ranked queue end to end: tickets over REST, pairing, the match it makes."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pymongo
import pytest

from actors.matchmaking.matchmaker import ROUND_INTERVAL, Matchmaker
from config import Config
from handlers.arena import Arena
from handlers.context import AppContext
from store import pages
from store.tickets import FEED
from tests.support.client import PASSWORD, Api
from tests.support.play import attach, create_match
from tests.support.process import ServerProcess, database_uri
from tests.support.ws import Peer

#: Windows widen every second here (100, 150, 200, ... as seconds pass), and a
#: matchmade match that is not started within 3 s is cancelled.
EVERY = 1.0
GRACE = 3.0


@pytest.fixture
def config(config: Config) -> Config:
    return dataclasses.replace(config, matchmaking_every=EVERY, grace_period=GRACE)


@pytest.fixture(autouse=True)
def empty_queue(io_loop: Any, context: AppContext) -> None:
    """Each test starts with nobody queued (the module shares one database)."""
    io_loop.run_sync(lambda: context.store.tickets.collection.delete_many({}))


async def queue(api: Api, token: str, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/matchmaking/", body, token=token)
    assert response.status == 201, response.body
    return response.json


async def ticket(api: Api, token: str) -> dict[str, Any] | None:
    response = await api.get("/api/matchmaking/", token=token)
    if response.status == 404:
        return None
    assert response.status == 200, response.body
    return response.json


async def paired(api: Api, token: str, timeout: float = 5.0) -> dict[str, Any]:
    """The caller's ticket once it is matched (its match is there from that moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await ticket(api, token)
        if found is not None and found["status"] == "matched":
            match = await api.get(f"/api/ongoing_matches/{found['match']}/")
            assert match.status == 200, "a matched ticket's match is not there yet"
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"not paired within {timeout} s: {found}")


async def player(api: Api, context: AppContext, elo: int = 1000) -> tuple[dict[str, Any], str]:
    """A new user with the given elo (set in the database, as matches would have)."""
    user, token = await api.new_user()
    if elo != 1000:
        await context.store.users.collection.update_one({"_id": user["id"]},
                                                        {"$set": {"elo": elo}})
    return user, token


@pytest.mark.gen_test(timeout=30)
async def test_a_ticket_is_queued_shown_retried_and_cancelled(api: Api, context: AppContext,
                                                              base_url: str) -> None:
    _, token = await player(api, context)
    assert (await api.get("/api/matchmaking/", token=token)).status == 404
    first = await queue(api, token, game="connect4")
    assert first["status"] == "waiting" and first["match"] is None
    assert (first["game"], first["target_score"], first["elo"], first["window"]) == (
        "connect4", 3, 1000, 100)
    again = await api.post("/api/matchmaking/", {"game": "connect4"}, token=token)
    assert again.status == 200 and again.json["id"] == first["id"]
    assert (await ticket(api, token)) == first
    assert (await api.delete("/api/matchmaking/", token=token)).status == 204
    assert (await api.get("/api/matchmaking/", token=token)).status == 404
    assert (await api.delete("/api/matchmaking/", token=token)).status == 404
    # a cancelled ticket is not paired: a compatible ticket queued after it waits alone
    _, other = await player(api, context)
    await queue(api, other, game="connect4")
    await asyncio.sleep(1.5)
    assert (await ticket(api, other))["status"] == "waiting"


@pytest.mark.gen_test(timeout=30)
async def test_concurrent_posts_make_one_ticket(api: Api, context: AppContext) -> None:
    _, token = await player(api, context)
    responses = await asyncio.gather(*(api.post("/api/matchmaking/", {}, token=token)
                                       for _ in range(8)))
    assert sorted(r.status for r in responses) == [200] * 7 + [201]
    assert len({r.json["id"] for r in responses}) == 1


@pytest.mark.gen_test(timeout=30)
async def test_bad_requests_are_refused(api: Api, context: AppContext, base_url: str) -> None:
    assert (await api.post("/api/matchmaking/", {})).status == 401
    assert (await api.get("/api/matchmaking/")).status == 401
    _, token = await player(api, context)
    response = await api.post("/api/matchmaking/", {"game": "chess"}, token=token)
    assert response.status == 400 and "game" in response.json
    response = await api.post("/api/matchmaking/", {"game": "rps", "target_score": 0},
                              token=token)
    assert response.status == 400 and "target_score" in response.json
    host, host_token = await player(api, context)
    await create_match(api, host_token)
    response = await api.post("/api/matchmaking/", {}, token=host_token)
    assert response.status == 400
    assert response.json == [f"User {host['username']} is already in a match"]


@pytest.mark.gen_test(timeout=30)
async def test_close_elos_pair_at_once_and_the_older_ticket_hosts(
        api: Api, context: AppContext, base_url: str) -> None:
    host, host_token = await player(api, context, 1000)
    challenger, challenger_token = await player(api, context, 1090)
    await queue(api, host_token, target_score=3)
    queued = time.monotonic()
    await queue(api, challenger_token, target_score=3)
    mine = await paired(api, host_token, timeout=2.0)
    assert time.monotonic() - queued < 2.0
    theirs = await ticket(api, challenger_token)
    assert theirs is not None and theirs["status"] == "matched"
    assert mine["match"] == theirs["match"] is not None
    match = (await api.get(f"/api/ongoing_matches/{mine['match']}/")).json
    assert match["host"]["username"] == host["username"]
    assert match["challenger"]["username"] == challenger["username"]
    assert (match["game"], match["target_score"]) == ("rps", 3)
    assert match["is_challenger_ready"] and not match["is_started"]
    for user, role in ((host, "H"), (challenger, "C")):
        shown = (await api.get(f"/api/users/{user['username']}/")).json
        assert (shown["ongoing_match"], shown["role"]) == (mine["match"], role)


@pytest.mark.gen_test(timeout=30)
async def test_tickets_pair_only_with_the_same_options_and_the_match_gets_them(
        api: Api, context: AppContext) -> None:
    _, small = await player(api, context)
    _, big = await player(api, context)
    _, also_small = await player(api, context)
    refused = await api.post("/api/matchmaking/", {"game": "cycles", "options": {"size": 3}},
                             token=small)
    assert refused.status == 400 and "options.size" in refused.json
    first = await queue(api, small, game="cycles", options={"size": 12})
    assert (first["players"], first["options"]) == (2, {"size": 12})
    await queue(api, big, game="cycles", options={"size": 16})
    await queue(api, also_small, game="cycles", options={"size": 12})
    mine = await paired(api, small, timeout=3.0)
    assert (await ticket(api, also_small))["match"] == mine["match"]
    match = (await api.get(f"/api/ongoing_matches/{mine['match']}/")).json
    assert (match["game"], match["options"]) == ("cycles", {"size": 12})
    await asyncio.sleep(1.5)  # another round or more: the other size waits alone
    assert (await ticket(api, big))["status"] == "waiting"
    plain = await queue(api, (await player(api, context))[1], game="rps")
    assert (plain["players"], plain["options"]) == (2, {})


@pytest.mark.gen_test(timeout=30)
async def test_far_elos_pair_only_once_the_windows_have_widened(
        api: Api, context: AppContext) -> None:
    _, low = await player(api, context, 1000)
    _, high = await player(api, context, 1300)
    await queue(api, low)
    await queue(api, high)
    queued = time.monotonic()
    # 300 apart: the windows are 100, 150, 200, 250 for the first four seconds
    await asyncio.sleep(2.5)
    waiting = await ticket(api, high)
    assert waiting is not None and waiting["status"] == "waiting"
    assert waiting["window"] in (200, 250)
    matched = await paired(api, low, timeout=5.0)
    assert time.monotonic() - queued >= 4.0 - 0.1
    assert matched["window"] >= 300


@pytest.mark.gen_test(timeout=30)
async def test_the_closest_of_several_candidates_wins(api: Api, context: AppContext) -> None:
    # queued together, far from each other: "first" (queued first) is 160 from
    # "near" and 170 from "far", which are 330 apart; once the windows reach
    # 200, first is the oldest and takes the nearer one
    _, first = await player(api, context, 1000)
    _, near = await player(api, context, 840)
    _, far = await player(api, context, 1170)
    for token in (first, near, far):
        await queue(api, token)
    matched = await paired(api, first, timeout=6.0)
    assert (await ticket(api, near))["match"] == matched["match"]
    assert (await ticket(api, far))["status"] == "waiting"


@pytest.mark.gen_test(timeout=40)
async def test_the_match_starts_by_itself_is_played_and_its_tickets_go(
        api: Api, context: AppContext, base_url: str) -> None:
    host, host_token = await player(api, context)
    _, challenger_token = await player(api, context)
    await queue(api, host_token, target_score=1)
    await queue(api, challenger_token, target_score=1)
    match_id = (await paired(api, host_token))["match"]
    host_peer = await Peer.connect(base_url, match_id, host_token)
    snapshot = await host_peer.next("snapshot")
    assert snapshot["you"] == "host" and not snapshot["match"]["is_started"]
    challenger_peer = await Peer.connect(base_url, match_id, challenger_token)
    assert (await challenger_peer.next("snapshot"))["you"] == "challenger"
    for peer in (host_peer, challenger_peer):  # nobody sent start
        await peer.next("event", "started")
    assert (await host_peer.command("move", move={"throw": "rock"}))["type"] == "ack"
    assert (await challenger_peer.command("move", move={"throw": "scissors"}))["type"] == "ack"
    ended = await host_peer.next("event", "ended")
    assert ended["result"]["winner"] == host["username"]
    assert ended["result"]["winner_elo_after_match"] == 1050
    assert await ticket(api, host_token) is None
    assert await ticket(api, challenger_token) is None
    again = await queue(api, host_token, target_score=1)  # and may queue again
    assert again["elo"] == 1050


@pytest.mark.gen_test(timeout=40)
async def test_a_match_one_player_never_attaches_to_is_cancelled(
        api: Api, context: AppContext, base_url: str) -> None:
    host, host_token = await player(api, context)
    _, challenger_token = await player(api, context)
    await queue(api, host_token)
    await queue(api, challenger_token)
    match_id = (await paired(api, host_token))["match"]
    created = time.monotonic()
    peer = await attach(base_url, match_id, host_token)
    await peer.next("event", "cancelled", timeout=GRACE + 3)
    assert time.monotonic() - created >= GRACE - 0.5
    assert await peer.closed() == 4410
    assert (await api.get(f"/api/ongoing_matches/{match_id}/")).status == 404
    shown = (await api.get(f"/api/users/{host['username']}/")).json
    assert shown["ongoing_match"] is None
    assert await ticket(api, host_token) is None
    assert await ticket(api, challenger_token) is None


@pytest.mark.gen_test(timeout=60)
async def test_forty_users_queueing_at_once_make_twenty_matches(
        api: Api, context: AppContext) -> None:
    users = await asyncio.gather(*(player(api, context) for _ in range(40)))
    responses = await asyncio.gather(*(api.post("/api/matchmaking/", {}, token=token)
                                       for _, token in users))
    assert all(r.status == 201 for r in responses)
    tickets = await asyncio.gather(*(paired(api, token, timeout=10) for _, token in users))
    per_match = Counter(t["match"] for t in tickets)
    assert len(per_match) == 20 and set(per_match.values()) == {2}
    for (user, _), mine in zip(users, tickets, strict=True):
        shown = (await api.get(f"/api/users/{user['username']}/")).json
        assert shown["ongoing_match"] == mine["match"]
    for match_id in per_match:
        match = (await api.get(f"/api/ongoing_matches/{match_id}/")).json
        assert match["challenger"] is not None
    metrics = (await api.get("/metrics")).body.decode()
    assert "arena_matchmaking_pairings_total 20" in metrics
    assert "arena_matchmaking_wait_seconds_count 40" in metrics  # one wait per ticket
    assert "arena_matchmaking_tickets 0" in metrics


@pytest.mark.gen_test(timeout=30)
async def test_a_user_who_enters_a_match_another_way_leaves_the_queue(
        api: Api, context: AppContext, base_url: str) -> None:
    _, creator = await player(api, context)
    await queue(api, creator)
    await create_match(api, creator)
    assert await ticket(api, creator) is None
    _, host_token = await player(api, context)
    match = await create_match(api, host_token)
    _, watcher = await player(api, context)
    await queue(api, watcher)
    peer = await attach(base_url, match["id"], watcher)
    assert (await peer.command("join", role="spectator"))["type"] == "ack"
    assert await ticket(api, watcher) is None
    _, lonely = await player(api, context)
    await queue(api, lonely)
    await asyncio.sleep(1.0)
    assert (await ticket(api, lonely))["status"] == "waiting"


@pytest.mark.gen_test(timeout=30)
async def test_a_ticket_whose_user_is_in_a_match_is_not_paired(
        api: Api, context: AppContext, base_url: str) -> None:
    # The race: a ticket queued while its user was creating a match (the
    # ticket written after the create had already cleared the queue).
    busy, busy_token = await player(api, context)
    match = await create_match(api, busy_token)
    user = await context.store.users.by_id(busy["id"])
    await context.store.tickets.open({**user, "ongoing_match": None}, "rps", 5)
    _, other = await player(api, context)
    await queue(api, other)
    await asyncio.sleep(1.5)
    assert await ticket(api, busy_token) is None  # removed, not paired
    assert (await ticket(api, other))["status"] == "waiting"
    shown = (await api.get(f"/api/users/{busy['username']}/")).json
    assert shown["ongoing_match"] == match["id"]
    assert (await api.get(f"/api/ongoing_matches/{match['id']}/")).json["challenger"] is None


# -- across restarts: the real server as a child process ------------------------------

ONE_THROW = {"game": "rps", "target_score": 1}


def sign_up(server: ServerProcess, name: str) -> str:
    assert server.request("POST", "/api/users/sign_up/",
                          {"username": name, "password": PASSWORD})[0] == 201
    return server.request("POST", "/api/token/", {"username": name, "password": PASSWORD})[1][
        "token"]


def wait_for_pairing(server: ServerProcess, token: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, found = server.request("GET", "/api/matchmaking/", token=token)
        if status == 200 and found["status"] == "matched":
            return found
        time.sleep(0.1)
    raise AssertionError(f"not paired within {timeout} s: {found}")


async def play_to_the_end(server: ServerProcess, match_id: int, tokens: list[str]) -> None:
    """Both players attach; the match starts by itself and is played (``ONE_THROW``)."""
    peers = [await Peer.connect(server.url, match_id, token) for token in tokens]
    for peer in peers:
        await peer.next("event", "started")
    for peer, throw in zip(peers, ("rock", "scissors"), strict=True):
        assert (await peer.command("move", move={"throw": throw}))["type"] == "ack"
    for peer in peers:
        assert (await peer.next("event", "ended"))["result"]["winner_score"] == 1


@pytest.mark.gen_test(timeout=120)
async def test_tickets_waiting_through_a_restart_keep_their_time_and_pair(
        tmp_path: Path) -> None:
    widen = ("--matchmaking-every", str(EVERY))
    server = ServerProcess(tmp_path, *widen).start()
    try:
        tokens = [sign_up(server, name) for name in ("low", "high")]
        status, _ = server.request("POST", "/api/matchmaking/", ONE_THROW, token=tokens[0])
        assert status == 201
        # 1000 and 1000 would pair at once: make one of them a stronger player
        with pymongo.MongoClient(database_uri(tmp_path)) as client:
            client["arena"]["users"].update_one({"username": "high"}, {"$set": {"elo": 1300}})
        status, queued = server.request("POST", "/api/matchmaking/", ONE_THROW, token=tokens[1])
        assert status == 201 and queued["elo"] == 1300
        queued_at = time.monotonic()
    finally:
        server.stop(signal.SIGKILL)
    again = ServerProcess(tmp_path, *widen).start()
    try:
        status, kept = again.request("GET", "/api/matchmaking/", token=tokens[1])
        assert status == 200
        assert {k: kept[k] for k in ("id", "created", "elo")} == {
            k: queued[k] for k in ("id", "created", "elo")}
        assert kept["status"] == "waiting"
        assert kept["window"] == 100 + 50 * int((time.monotonic() - queued_at) // EVERY)
        matched = wait_for_pairing(again, tokens[0], timeout=10)
        assert time.monotonic() - queued_at >= 4 * EVERY - 0.2
        await play_to_the_end(again, matched["match"], tokens)
    finally:
        again.stop()


@pytest.mark.gen_test(timeout=120)
@pytest.mark.parametrize("step", ["pair_reserved", "pair_claimed"])
async def test_a_crash_in_the_middle_of_a_pairing_queues_both_again(
        tmp_path: Path, step: str) -> None:
    server = ServerProcess(tmp_path, env={"ARENA_CRASH_AT": step}).start()
    tokens = [sign_up(server, f"{step}_{n}") for n in range(2)]
    for token in tokens:
        assert server.request("POST", "/api/matchmaking/", ONE_THROW, token=token)[0] == 201
    assert server.process is not None and server.process.wait(30) == -signal.SIGKILL

    again = ServerProcess(tmp_path).start()
    try:
        matched = wait_for_pairing(again, tokens[0], timeout=10)
        status, other = again.request("GET", "/api/matchmaking/", token=tokens[1])
        assert status == 200 and other["match"] == matched["match"]
        await play_to_the_end(again, matched["match"], tokens)
        for n in range(2):
            status, user = again.request("GET", f"/api/users/{step}_{n}/")
            assert user["ongoing_match"] is None
    finally:
        again.stop()


@pytest.mark.gen_test(timeout=30)
async def test_a_ticket_another_process_announces_late_is_still_paired(
        api: Api, context: AppContext) -> None:
    # Another process queued a ticket and took its feed number, but writes the
    # entry only after a later number has been read: the matchmaker looks for it.
    tickets = context.store.tickets
    late, late_token = await player(api, context)
    await asyncio.sleep(ROUND_INTERVAL + 0.2)  # past the first round (which reads everything)
    stranger, _ = await player(api, context)
    template, _ = await tickets.open(await context.store.users.by_id(stranger["id"]), "rps", 2)
    await tickets.discard(stranger["id"])  # a ticket's shape, for one left unannounced:
    await tickets.collection.insert_one({**template, "_id": late["id"], "id": str(uuid.uuid4()),
                                         "username": late["username"]})
    number = await context.store.counters.next(FEED)
    _, early = await player(api, context)
    await queue(api, early, target_score=2)  # announced after it
    await asyncio.sleep(1.2)
    assert (await ticket(api, early))["status"] == "waiting"  # the late one is not seen yet
    await tickets.feed.insert_one({"_id": pages.number(number), "user": late["id"]})
    matched = await paired(api, late_token, timeout=3.0)
    assert (await ticket(api, early))["match"] == matched["match"]


@pytest.mark.gen_test(timeout=60)
async def test_two_matchmakers_racing_over_one_queue_pair_each_ticket_once(
        api: Api, context: AppContext, arena: Arena) -> None:
    # A second matchmaker on the same database, as another process would run:
    # both see every ticket (through the feed) and race to pair them.
    rival = Matchmaker(arena.registry)
    await rival.start()
    try:
        users = await asyncio.gather(*(player(api, context) for _ in range(40)))
        for user, _ in users:
            stored = await context.store.users.by_id(user["id"])
            await context.store.tickets.open(stored, "rps", 4)  # announced, no one woken
        arena.matchmaker.woken.set()
        rival.woken.set()
        tickets = await asyncio.gather(*(paired(api, token, timeout=10) for _, token in users))
    finally:
        await rival.stop()
    per_match = Counter(t["match"] for t in tickets)
    assert len(per_match) == 20 and set(per_match.values()) == {2}
    for (user, _), mine in zip(users, tickets, strict=True):
        shown = (await api.get(f"/api/users/{user['username']}/")).json
        assert shown["ongoing_match"] == mine["match"]
    made = arena.matchmaker.metrics.pairings + rival.metrics.pairings
    assert made == 20
