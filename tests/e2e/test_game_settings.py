"""A game's own settings, over the wire: options, draws, its turn timeout,
its state-frame rate, its players' input rate, and pausing while away."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from actors.games import Event, Game, Outcome, Seat, Setup, State
from tests.support.client import Api
from tests.support.games import registered
from tests.support.play import table


class Truce(Game):
    """Each player moves once; then it is a draw, unless someone said "win"."""

    name = "truce"
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "size": {"type": "integer", "default": 7, "minimum": 4, "maximum": 12},
        "wrap": {"type": "boolean", "default": False},
    }

    def create(self, setup: Setup) -> State:
        return {"target": setup.target, "score": {seat: 0 for seat in setup.seats},
                "moved": [], "size": setup.options["size"]}

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        return {**state, "moved": [*state["moved"], seat]}, [Event("moved", {"seat": seat})]

    def standings(self, state: State) -> list[list[Seat]] | None:
        return [["host", "challenger"]] if len(state["moved"]) == 2 else None

    def view(self, state: State, viewer: Seat | None) -> State:
        return state


class Clocked(Truce):
    name = "clocked"
    turn_clock = True
    turn_timeout = 0.5

    def owing(self, state: State) -> list[Seat]:
        return [] if "host" in state["moved"] else ["host"]

    def turn_number(self, state: State) -> int:
        return len(state["moved"])


class Drift(Game):
    """Realtime: counts ticks, and takes any input (acked, no event)."""

    name = "drift"
    realtime = True
    tick_rate = 20
    send_rate = 5
    input_rate = 50
    input_burst = 60
    pause_when_away = False
    public_view = True

    def create(self, setup: Setup) -> State:
        return {"target": setup.target, "score": {seat: 0 for seat in setup.seats}, "tick": 0}

    def tick(self, state: State, dt: float) -> Outcome:
        return {**state, "tick": state["tick"] + 1}, []

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        return state, []

    def view(self, state: State, viewer: Seat | None) -> State:
        return {"tick": state["tick"]}


@pytest.fixture
def games() -> Iterator[Game]:
    yield from registered(Truce(), Clocked(), Drift())


@pytest.mark.gen_test(timeout=30)
async def test_options_are_checked_completed_stored_and_given_to_the_game(
        api: Api, games: Game) -> None:
    _, token = await api.new_user()
    for options, field in (({"size": 3}, "options.size"), ({"colour": "red"}, "options.colour"),
                           ({"wrap": 1}, "options.wrap"), ("big", "options")):
        refused = await api.post("/api/ongoing_matches/", {"game": "truce", "options": options},
                                 token=token)
        assert refused.status == 400 and field in refused.json, (options, refused.json)
    created = await api.post("/api/ongoing_matches/", {"game": "truce", "options": {"size": 9}},
                             token=token)
    assert created.status == 201
    assert created.json["options"] == {"size": 9, "wrap": False}
    listed = {g["name"]: g for g in (await api.get("/api/game_types/")).json}
    assert listed["truce"]["options"]["size"]["maximum"] == 12


@pytest.mark.gen_test(timeout=30)
async def test_a_drawn_match_of_two_is_a_result_rated_as_a_draw(
        api: Api, base_url: str, games: Game) -> None:
    match = await table(api, base_url, game="truce")
    host, challenger = match.host, match.challenger
    assert (await host.peer.command("move", move={}))["type"] == "ack"
    await challenger.peer.command("move", move={})
    result = (await host.peer.next("event", "ended"))["result"]
    assert (result["winner"], result["loser"], result["reason"]) == (None, None, "score")
    assert result["winner_elo_after_match"] is None and result["loser_score"] is None
    assert [(s["place"], s["seat"], s["username"], s["elo_before_match"], s["elo_after_match"])
            for s in result["standings"]] == [
        (1, "host", host.user["username"], 1000, 1000),
        (1, "challenger", challenger.user["username"], 1000, 1000)]
    assert (await api.get(f"/api/completed_matches/{match.match_id}/")).json == result
    for seat in (host, challenger):
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert (user["ongoing_match"], user["elo"]) == (None, 1000)
        found = (await api.get(f"/api/completed_matches/?user={seat.user['username']}")).json
        assert [m["id"] for m in found] == [match.match_id]
        assert (await api.get(
            f"/api/completed_matches/?winner={seat.user['username']}")).json == []


@pytest.mark.gen_test(timeout=30)
async def test_a_games_own_turn_timeout_runs_its_clock(api: Api, base_url: str,
                                                       games: Game) -> None:
    match = await table(api, base_url, game="clocked", spectator=False)
    started = await match.challenger.peer.next("event", "started")
    assert started["clock"]["seconds"] == 0.5  # the game's, not --turn-timeout's 60
    ended = await match.challenger.peer.next("event", "ended", timeout=5)
    assert (ended["result"]["winner"], ended["result"]["reason"]) == (
        match.challenger.user["username"], "forfeit")


@pytest.mark.gen_test(timeout=30)
async def test_a_realtime_games_rates_and_play_while_away(api: Api, base_url: str,
                                                          games: Game) -> None:
    match = await table(api, base_url, game="drift")
    host, watcher = match.host.peer, match.spectator
    assert watcher is not None
    first = await host.next("state")
    frames = [first]
    for _ in range(4):
        frames.append(await host.next("state"))
    gaps = {b["tick"] - a["tick"] for a, b in itertools.pairwise(frames)}
    assert gaps == {4}, frames  # 20 ticks a second, 5 state frames a second

    for n in range(55):  # within the players' burst of 60, over the server's 40
        host.send({"type": "move", "id": 1000 + n, "move": {}})
    replies = await answers(host, range(1000, 1055))
    assert {reply["type"] for reply in replies} == {"ack"}
    for n in range(55):  # a spectator keeps the server's limits
        watcher.peer.send({"type": "ping", "id": 2000 + n})
    replies = await answers(watcher.peer, range(2000, 2055))
    assert {reply.get("code") for reply in replies} == {None, "rate_limited"}

    match.challenger.peer.close()  # away: this game plays on
    await host.next("event", "disconnected")
    before = (await host.next("state"))["tick"]
    after = (await host.next("state"))["tick"]
    assert after > before


async def answers(peer: Any, ids: range) -> list[dict[str, Any]]:
    """The replies to the frames ``ids`` (acks, pongs, errors), read as they come."""
    found: dict[int, dict[str, Any]] = {}
    while len(found) < len(ids):
        frame = await peer.read()
        assert frame is not None
        if frame.get("id") in ids and frame["type"] in ("ack", "pong", "error"):
            found[frame["id"]] = frame
    return [found[n] for n in ids]
