"""A game written and registered by the test itself, played over the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.games import (
    Event,
    Game,
    IllegalMove,
    Outcome,
    Player,
    Seat,
    Setup,
    State,
    register,
    unregister,
)
from tests.support.client import Api
from tests.support.play import attach, table


class Tally(Game):
    """Each player adds 1 to 3 to their own hidden tally; first to the target wins.

    Spectators are refused, and what a player added is shown to them alone.
    """

    name = "tally"
    default_target = 5
    max_target = 20
    turn_clock = False

    def create(self, setup: Setup) -> State:
        return {"target": setup.target, "score": {seat: 0 for seat in setup.seats}, "moves": 0}

    def admit(self, state: State, seat: Seat | None, player: Player) -> None:
        if seat is None:  # watching
            raise IllegalMove("forbidden", "Tally is played without an audience.")

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        amount = move.get("add") if isinstance(move, dict) else None
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 3:
            raise IllegalMove("illegal_move", 'A move is {"add": 1 | 2 | 3}.')
        score = {**state["score"], seat: state["score"][seat] + amount}
        return ({**state, "score": score, "moves": state["moves"] + 1},
                [Event("added", {"amount": amount, "total": score[seat]}, to=(seat,))])

    def view(self, state: State, viewer: Seat | None) -> State:
        return {"moves": state["moves"], "mine": state["score"][viewer] if viewer else None}


@pytest.fixture
def tally() -> Iterator[Tally]:
    game = register(Tally())
    yield game
    unregister(game.name)


@pytest.mark.gen_test(timeout=30)
async def test_a_game_registered_by_its_author_is_listed_and_played_to_the_end(
        api: Api, base_url: str, tally: Tally) -> None:
    listed = {g["name"]: g for g in (await api.get("/api/game_types/")).json}
    assert listed["tally"] == {"name": "tally", "realtime": False, "tick_rate": None,
                               "send_rate": None, "turn_clock": False,
                               "default_target_score": 5, "min_target_score": 1,
                               "max_target_score": 20, "min_players": 2, "max_players": 2,
                               "default_players": 2, "options": {}}
    too_far = await api.post("/api/ongoing_matches/", {"game": "tally", "target_score": 21},
                             token=(await api.new_user())[1])
    assert too_far.status == 400 and "target_score" in too_far.json

    match = await table(api, base_url, game="tally", target=4, spectator=False)
    _, token = await api.new_user()
    onlooker = await attach(base_url, match.match_id, token)
    refused = await onlooker.command("join", role="spectator")
    assert (refused["type"], refused["code"]) == ("error", "forbidden")

    host, challenger = match.host.peer, match.challenger.peer
    assert (await host.command("move", move={"add": 3}))["type"] == "ack"
    mine = await host.next("event", "added")
    theirs = await challenger.next("event", "added")
    seen = await onlooker.next("event", "added")
    assert (mine["amount"], mine["total"], mine["state"]) == (3, 3, {"moves": 1, "mine": 3})
    assert "amount" not in theirs and theirs["state"] == {"moves": 1, "mine": 0}
    assert "amount" not in seen and seen["seq"] == mine["seq"] == theirs["seq"]
    bad = await challenger.command("move", move={"add": 4})
    assert bad["code"] == "illegal_move"
    assert (await challenger.command("move", move={"add": 2}))["type"] == "ack"
    assert (await host.command("move", move={"add": 1}))["type"] == "ack"  # 4: the target

    ended = await onlooker.next("event", "ended")
    result = ended["result"]
    assert (result["game"], result["winner"], result["reason"]) == (
        "tally", match.host.user["username"], "score")
    assert (result["winner_score"], result["loser_score"]) == (4, 2)
    assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
    assert (await api.get(f"/api/completed_matches/{match.match_id}/")).json == result


@pytest.mark.gen_test(timeout=30)
async def test_an_unknown_game_is_refused_with_the_names_there_are(api: Api) -> None:
    _, token = await api.new_user()
    response = await api.post("/api/ongoing_matches/", {"game": "chess"}, token=token)
    assert response.status == 400
    assert "connect4" in response.json["game"][0] and "pong" in response.json["game"][0]
