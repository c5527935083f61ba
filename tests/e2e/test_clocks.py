"""Disconnects, the grace period, the turn clock and the idle host, on short clocks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config import Config
from tests.support.client import Api
from tests.support.play import attach, create_match, table, throw

GRACE, TURN, IDLE = 0.6, 1.0, 0.8


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path, bcrypt_rounds=4, grace_period=GRACE, turn_timeout=TURN,
                  idle_timeout=IDLE)


@pytest.mark.gen_test(timeout=30)
async def test_a_player_back_within_the_grace_period_continues(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    await throw(game.host, "rock")
    game.challenger.peer.close()
    disconnected = await game.host.peer.next("event", "disconnected")
    assert disconnected["role"] == "challenger"
    back = await attach(base_url, game.match_id, game.challenger.token)
    reconnected = await game.host.peer.next("event", "reconnected")
    snapshot = back.received[0]
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == reconnected["seq"]
    assert snapshot["you"] == "challenger"
    assert snapshot["state"]["thrown"] == {"host": True, "challenger": False}
    reply = await back.command("move", move={"throw": "paper"})
    assert reply["type"] == "ack"
    over = await game.host.peer.next("event", "round_over")
    assert over["winner"] == "challenger"


@pytest.mark.gen_test(timeout=30)
async def test_a_player_away_past_the_grace_period_forfeits(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    game.host.peer.close()
    ended = await game.challenger.peer.next("event", "ended", timeout=GRACE + 5)
    assert ended["result"]["reason"] == "forfeit"
    assert ended["result"]["winner"] == game.challenger.user["username"]
    assert (await api.get(f"/api/completed_matches/{game.match_id}/")).json == ended["result"]
    host = (await api.get(f"/api/users/{game.host.user['username']}/")).json
    assert host["ongoing_match"] is None and host["elo"] == 950


@pytest.mark.gen_test(timeout=30)
async def test_a_challenger_away_before_the_start_loses_the_slot(
    api: Api, base_url: str
) -> None:
    game = await table(api, base_url, spectator=False, start=False)
    game.challenger.peer.close()
    await game.host.peer.next("event", "disconnected")
    left = await game.host.peer.next("event", "left", timeout=GRACE + 5)
    assert left["role"] == "challenger"
    detail = (await api.get(f"/api/ongoing_matches/{game.match_id}/")).json
    assert detail["challenger"] is None and detail["is_challenger_ready"] is False
    user = (await api.get(f"/api/users/{game.challenger.user['username']}/")).json
    assert user["ongoing_match"] is None


@pytest.mark.gen_test(timeout=30)
async def test_a_spectator_who_drops_leaves_at_once(api: Api, base_url: str) -> None:
    game = await table(api, base_url)
    assert game.spectator is not None
    game.spectator.peer.close()
    left = await game.host.peer.next("event", "left")
    assert left["role"] == "spectator"
    # no grace period for spectators: no "disconnected" came first
    kinds = [f["kind"] for f in game.host.peer.events()]
    assert kinds[-2:] != ["disconnected", "left"] and "disconnected" not in kinds
    user = (await api.get(f"/api/users/{game.spectator.user['username']}/")).json
    assert user["ongoing_match"] is None


@pytest.mark.gen_test(timeout=30)
async def test_the_turn_clock_forfeits_the_player_who_owes_a_throw(
    api: Api, base_url: str
) -> None:
    game = await table(api, base_url, spectator=False)
    await throw(game.host, "rock")
    ended = await game.host.peer.next("event", "ended", timeout=TURN + 5)
    assert ended["result"]["reason"] == "forfeit"
    assert ended["result"]["winner"] == game.host.user["username"]


@pytest.mark.gen_test(timeout=30)
async def test_the_turn_clock_restarts_each_round(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    for _ in range(3):  # three quick rounds, each well within the clock
        await asyncio.sleep(TURN * 0.5)
        await throw(game.host, "rock")
        await throw(game.challenger, "rock")
    detail = (await api.get(f"/api/ongoing_matches/{game.match_id}/")).json
    assert detail["is_started"] is True


@pytest.mark.gen_test(timeout=30)
async def test_the_turn_clock_cancels_when_neither_has_thrown(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    cancelled = await game.host.peer.next("event", "cancelled", timeout=TURN + 5)
    assert cancelled["kind"] == "cancelled"
    assert await game.host.peer.closed() == 4410
    assert (await api.get(f"/api/completed_matches/{game.match_id}/")).status == 404
    for seat in (game.host, game.challenger):
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert (user["ongoing_match"], user["elo"]) == (None, 1000)


@pytest.mark.gen_test(timeout=30)
async def test_connect4_turn_clock(api: Api, base_url: str) -> None:
    game = await table(api, base_url, game="connect4", target=3, spectator=False)
    assert (await game.host.peer.command("move", move={"column": 0}))["type"] == "ack"
    ended = await game.host.peer.next("event", "ended", timeout=TURN + 5)
    assert ended["result"]["winner"] == game.host.user["username"]
    assert ended["result"]["reason"] == "forfeit"


@pytest.mark.gen_test(timeout=30)
async def test_the_clock_goes_out_with_the_start_each_turn_and_every_snapshot(
        api: Api, base_url: str) -> None:
    game = await table(api, base_url, game="connect4", target=3, spectator=False)
    started = await game.challenger.peer.next("event", "started")
    assert started["clock"]["seconds"] == TURN
    assert TURN - 0.5 < started["clock"]["left"] <= TURN
    await asyncio.sleep(TURN * 0.5)
    late = await attach(base_url, game.match_id, game.challenger.token)  # a second tab
    snapshot = late.received[0]
    assert snapshot["type"] == "snapshot" and snapshot["clock"]["left"] < TURN * 0.6
    assert (await game.host.peer.command("move", move={"column": 0}))["type"] == "ack"
    moved = await late.next("event", "moved")
    assert moved["clock"]["left"] > TURN * 0.8  # the challenger's turn, a whole clock
    assert moved["clock"]["deadline"] > snapshot["clock"]["deadline"]


@pytest.mark.gen_test(timeout=30)
async def test_no_clock_before_the_start_nor_in_realtime_games(
        api: Api, base_url: str) -> None:
    _, token = await api.new_user()
    match = await create_match(api, token)
    peer = await attach(base_url, match["id"], token)
    assert peer.received[0]["clock"] is None
    game = await table(api, base_url, game="pong", spectator=False)
    started = await game.host.peer.next("event", "started")
    assert "clock" not in started
    late = await attach(base_url, game.match_id, game.host.token)
    assert late.received[0]["clock"] is None


@pytest.mark.gen_test(timeout=30)
async def test_an_idle_host_cancels_the_match(api: Api, base_url: str) -> None:
    host, token = await api.new_user()
    match = await create_match(api, token)
    _, watcher_token = await api.new_user()
    watcher = await attach(base_url, match["id"], watcher_token)
    assert (await watcher.command("join", role="spectator"))["type"] == "ack"
    assert (await watcher.next("event", "cancelled", timeout=IDLE + 5))["kind"] == "cancelled"
    assert (await api.get(f"/api/ongoing_matches/{match['id']}/")).status == 404
    assert (await api.get(f"/api/users/{host['username']}/")).json["ongoing_match"] is None


@pytest.mark.gen_test(timeout=30)
async def test_an_attached_host_is_not_idle(api: Api, base_url: str) -> None:
    _, token = await api.new_user()
    match = await create_match(api, token)
    await attach(base_url, match["id"], token)
    await asyncio.sleep(IDLE * 2)
    assert (await api.get(f"/api/ongoing_matches/{match['id']}/")).status == 200
