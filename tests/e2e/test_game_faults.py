"""A game whose code fails: never a stuck user.

A test game raises in the hook the test names.  Where a client's frame
called it, that frame is refused with ``internal_error`` and the match goes
on; where nobody can be told (a tick, the ending's score, a player dropping
or coming back), the match is cancelled with ``reason: "game_error"``,
everyone is released and nobody is rated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.games import (
    Event,
    Game,
    IllegalMove,
    Outcome,
    Seat,
    Setup,
    State,
)
from tests.support.client import Api
from tests.support.games import registered
from tests.support.play import Table, table
from tests.support.ws import Peer


class Faulty(Game):
    """Steps to the target, turn-based or ticked; raises in ``failing``."""

    name = "faulty"
    default_target = 2
    turn_clock = False
    failing: str | None = None

    def fail(self, hook: str) -> None:
        if self.failing == hook:
            raise RuntimeError(f"a bug in {hook}")

    def create(self, setup: Setup) -> State:
        self.fail("create")
        return {"target": setup.target, "score": {"host": 0, "challenger": 0}, "tick": 0}

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        if move != {"step": 1}:
            raise IllegalMove("illegal_move", 'A move is {"step": 1}.')
        self.fail("apply")
        score = {**state["score"], seat: state["score"][seat] + 1}
        return {**state, "score": score}, [Event("stepped", {"seat": seat})]

    def tick(self, state: State, dt: float) -> Outcome:
        self.fail("tick")
        return {**state, "tick": state["tick"] + 1}, []

    def dropped(self, state: State, seat: Seat) -> Outcome:
        self.fail("dropped")
        return state, []

    def returned(self, state: State, seat: Seat) -> Outcome:
        self.fail("returned")
        return state, []

    def score(self, state: State) -> dict[str, int]:
        if max(state["score"].values()) >= state["target"]:
            self.fail("score")  # only while ending: the REST view still shows the score
        return dict(state["score"])

    def view(self, state: State, viewer: Seat | None) -> State:
        return state


class TickedFaulty(Faulty):
    name = "faulty-ticked"
    realtime = True
    tick_rate = 20


@pytest.fixture
def faulty() -> Iterator[Faulty]:
    yield from registered(Faulty())


@pytest.fixture
def ticked() -> Iterator[TickedFaulty]:
    yield from registered(TickedFaulty())


async def released(api: Api, match: Table) -> None:
    """Nobody is left in the match, and no result was stored."""
    for seat in (match.host, match.challenger, match.spectator):
        if seat is not None:
            user = (await api.get(f"/api/users/{seat.user['username']}/")).json
            assert user["ongoing_match"] is None, user
            assert user["elo"] == 1000
    assert (await api.get(f"/api/completed_matches/{match.match_id}/")).status == 404
    assert (await api.get(f"/api/ongoing_matches/{match.match_id}/")).status == 404


async def cancelled_by_the_game(match: Table) -> None:
    for seat in (match.host, match.challenger, match.spectator):
        if seat is not None:
            event = await seat.peer.next("event", "cancelled")
            assert event["reason"] == "game_error"


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_score_at_the_end_cancels_instead_of_locking_in(
        api: Api, base_url: str, faulty: Faulty) -> None:
    match = await table(api, base_url, game="faulty", target=2)
    faulty.failing = "score"
    assert (await match.host.peer.command("move", move={"step": 1}))["type"] == "ack"
    await match.host.peer.command("move", move={"step": 1})  # the winning move
    await cancelled_by_the_game(match)
    await released(api, match)


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_move_is_refused_and_the_match_goes_on(
        api: Api, base_url: str, faulty: Faulty) -> None:
    match = await table(api, base_url, game="faulty", target=2)
    faulty.failing = "apply"
    refused = await match.host.peer.command("move", move={"step": 1})
    assert (refused["type"], refused["code"]) == ("error", "internal_error")
    faulty.failing = None
    assert (await match.host.peer.command("move", move={"step": 1}))["type"] == "ack"
    assert (await api.get(f"/api/ongoing_matches/{match.match_id}/")).json["score"] == {
        "host": 1, "challenger": 0}


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_tick_cancels_the_match(api: Api, base_url: str,
                                                ticked: TickedFaulty) -> None:
    match = await table(api, base_url, game="faulty-ticked", target=2)
    await match.host.peer.next("state")  # it ticks
    ticked.failing = "tick"
    await cancelled_by_the_game(match)
    await released(api, match)


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("hook", ["dropped", "returned"])
async def test_a_failing_drop_or_return_cancels_the_match(
        api: Api, base_url: str, faulty: Faulty, hook: str) -> None:
    match = await table(api, base_url, game="faulty", target=2)
    faulty.failing = hook
    match.challenger.peer.close()
    if hook == "returned":
        await match.host.peer.next("event", "disconnected")
        match.challenger.peer = await Peer.connect(base_url, match.match_id,
                                                   match.challenger.token)
    for seat in (match.host, match.spectator):
        assert seat is not None
        event = await seat.peer.next("event", "cancelled")
        assert event["reason"] == "game_error"
    await released(api, match)



@pytest.mark.gen_test(timeout=30)
async def test_a_failing_create_is_a_400_and_stores_nothing(
        api: Api, base_url: str, faulty: Faulty) -> None:
    user, token = await api.new_user()
    faulty.failing = "create"
    response = await api.post("/api/ongoing_matches/", {"game": "faulty"}, token=token)
    assert response.status == 400
    assert response.json == {"game": ["The game could not set up this match."]}
    assert (await api.get(f"/api/users/{user['username']}/")).json["ongoing_match"] is None
    faulty.failing = None
    assert (await api.post("/api/ongoing_matches/", {"game": "faulty"}, token=token)).status == 201
