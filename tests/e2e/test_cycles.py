"""Cycles over the wire: bots riding a match to its end, two and four of them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.client import Api
from tests.support.play import attach, create_match, seated
from tests.support.ws import Peer


async def round_over(peer: Peer) -> dict[str, Any]:
    return await peer.next("event", "round_over", timeout=10)


@pytest.mark.gen_test(timeout=60)
async def test_bots_crash_draw_and_ride_a_match_of_cycles_to_its_end(
        api: Api, base_url: str) -> None:
    listed = {g["name"]: g for g in (await api.get("/api/game_types/")).json}
    assert listed["cycles"]["realtime"] and listed["cycles"]["max_players"] == 4
    host_user, host_token = await api.new_user()
    match = await create_match(api, host_token, game="cycles", target_score=2,
                               options={"size": 9})
    assert match["options"] == {"size": 9}
    host = await attach(base_url, match["id"], host_token)
    challenger_user, challenger_token = await api.new_user()
    challenger = await attach(base_url, match["id"], challenger_token)
    assert (await challenger.command("join", role="challenger"))["type"] == "ack"
    assert (await challenger.command("ready"))["type"] == "ack"
    assert (await host.command("start"))["type"] == "ack"

    # round 1: the challenger turns up into the wall (4 cells); the host rides
    # on along the row and would reach the challenger's trail a tick later
    assert (await challenger.command("move", move={"turn": "up"}))["type"] == "ack"
    crash = await host.next("event", "crashed", timeout=10)
    assert crash["seat"] == "challenger"
    first = await round_over(host)
    assert (first["winner"], first["score"]) == ("host", {"host": 1, "challenger": 0})

    # round 2: nobody turns: they meet in the middle, and nobody scores
    second = await round_over(host)
    assert (second["winner"], second["score"]) == (None, {"host": 1, "challenger": 0})
    state = await host.next("state")
    assert state["state"]["round"] == 3 and state["state"]["start_in"] > 0

    # round 3: the same as round 1, and the match is over
    assert (await challenger.command("move", move={"turn": "up"}))["type"] == "ack"
    ended = await challenger.next("event", "ended", timeout=10)
    result = ended["result"]
    assert (result["winner"], result["loser"], result["reason"]) == (
        host_user["username"], challenger_user["username"], "score")
    assert [s["seat"] for s in result["standings"]] == ["host", "challenger"]
    assert (result["winner_score"], result["loser_score"]) == (2, 0)


@pytest.mark.gen_test(timeout=60)
async def test_four_riders_one_goes_out_one_drops_and_the_round_waits(
        api: Api, base_url: str) -> None:
    match_id, seats = await seated(api, base_url, game="cycles", players=4, target_score=1,
                                   options={"size": 16})
    host, second, third, fourth = seats
    assert (await fourth.peer.command("resign"))["type"] == "ack"
    out = await host.peer.next("event", "out")
    assert (out["seat"], out["reason"]) == ("p4", "resign")
    assert out["state"]["cycles"]["p4"]["riding"] is False

    third.peer.close()  # a rider still in is away: the round waits for them
    away = await host.peer.next("event", "disconnected")
    assert away["seat"] == "p3"
    await asyncio.sleep(0.6)
    ticks = [f["tick"] for f in host.peer.received[host.peer.received.index(away):]
             if f["type"] == "state"]
    assert len(ticks) <= 1, ticks  # at most the tick already under way: 10 a second otherwise
    back = await attach(base_url, match_id, third.token)
    await host.peer.next("event", "reconnected")
    resumed = [(await host.peer.next("state"))["tick"] for _ in range(3)]
    assert resumed == sorted(resumed) and resumed[-1] > max(ticks, default=0)

    # the host turns up and the third left, into each other or a wall; the
    # second rides on, last
    assert (await host.peer.command("move", move={"turn": "up"}))["type"] == "ack"
    assert (await back.command("move", move={"turn": "left"}))["type"] == "ack"
    result = (await second.peer.next("event", "ended", timeout=10))["result"]
    assert [(s["place"], s["seat"]) for s in result["standings"]] == [
        (1, "challenger"), (2, "host"), (2, "p3"), (4, "p4")]
    assert (result["winner"], result["loser"]) == (
        second.user["username"], fourth.user["username"])
