"""Rock-paper-scissors rules, pure: rounds, hidden throws, scoring, the end."""

from __future__ import annotations

import pytest

from actors.games import Setup
from actors.games.base import Event, IllegalMove
from actors.games.rps import RockPaperScissors

RPS = RockPaperScissors()


def throw(state: dict, seat: str, what: str) -> tuple[dict, list]:
    return RPS.apply(state, seat, {"throw": what})


@pytest.mark.parametrize(("host", "challenger", "winner"), [
    ("rock", "scissors", "host"), ("scissors", "paper", "host"), ("paper", "rock", "host"),
    ("scissors", "rock", "challenger"), ("paper", "scissors", "challenger"),
    ("rock", "paper", "challenger"), ("rock", "rock", None), ("paper", "paper", None),
])
def test_a_round_is_won_by_what_beats_what(host: str, challenger: str,
                                           winner: str | None) -> None:
    state = RPS.create(Setup.make(5))
    state, events = throw(state, "host", host)
    assert events == [Event("moved", {"seat": "host"})]
    state, events = throw(state, "challenger", challenger)
    [(kind, fields, _)] = events
    assert kind == "round_over" and fields["winner"] == winner
    assert fields["throws"] == {"host": host, "challenger": challenger}
    assert state["round"] == 2 and state["throws"] == {"host": None, "challenger": None}
    expected = {"host": 0, "challenger": 0}
    if winner:
        expected[winner] = 1
    assert state["score"] == expected == fields["score"]


def test_the_first_throw_is_hidden_from_everyone_but_the_thrower() -> None:
    state, _ = throw(RPS.create(Setup.make(5)), "host", "rock")
    assert RPS.view(state, "host")["your_throw"] == "rock"
    for viewer in ("challenger", None):
        view = RPS.view(state, viewer)
        assert view["your_throw"] is None and "rock" not in str(view)
        assert view["thrown"] == {"host": True, "challenger": False}


def test_a_second_throw_in_one_round_and_a_bad_throw_are_refused() -> None:
    state, _ = throw(RPS.create(Setup.make(5)), "host", "rock")
    with pytest.raises(IllegalMove):
        throw(state, "host", "paper")
    for bad in ({"throw": "lizard"}, {"throw": None}, "rock", None, {"column": 1}):
        with pytest.raises(IllegalMove):
            RPS.apply(state, "challenger", bad)


def test_the_first_to_the_target_wins_and_apply_never_mutates() -> None:
    state = RPS.create(Setup.make(3))
    for _ in range(3):
        before = {**state, "throws": dict(state["throws"])}
        state, _ = throw(state, "host", "paper")
        state, _ = throw(state, "challenger", "rock")
        assert before["score"] != state["score"]
    assert RPS.standings(state) == [["host"], ["challenger"]]
    assert RPS.score(state) == {"host": 3, "challenger": 0}


def test_who_owes_a_throw() -> None:
    state = RPS.create(Setup.make(5))
    assert RPS.owing(state) == ["host", "challenger"]
    state, _ = throw(state, "challenger", "rock")
    assert RPS.owing(state) == ["host"]
    assert RPS.turn_number(state) == 1
