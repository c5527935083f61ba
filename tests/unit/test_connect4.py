"""Connect four rules, pure: every direction of four, a full board, turns."""

from __future__ import annotations

import pytest

from actors.games import Setup
from actors.games.base import IllegalMove
from actors.games.connect4 import COLUMNS, ROWS, Connect4

C4 = Connect4()


def play(columns: list[int], target: int = 3) -> tuple[dict, list]:
    """Alternate moves from the host; the events of the last one."""
    state, events = C4.create(Setup.make(target)), []
    for column in columns:
        state, events = C4.apply(state, state["turn"], {"column": column})
    return state, events


@pytest.mark.parametrize(("moves", "name"), [
    ([0, 0, 1, 1, 2, 2, 3], "horizontal"),
    ([0, 1, 0, 1, 0, 1, 0], "vertical"),
    ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], "diagonal up"),
    ([3, 2, 2, 1, 1, 0, 1, 0, 0, 6, 0], "diagonal down"),
])
def test_four_in_a_row_wins_the_round_in_every_direction(moves: list[int], name: str) -> None:
    state, events = play(moves)
    kinds = [event.kind for event in events]
    assert kinds == ["moved", "round_over"], name
    assert events[1].fields["winner"] == "host" and state["score"]["host"] == 1, name
    assert state["board"] == [""] * COLUMNS and state["round"] == 2


def test_three_in_a_row_does_not_win() -> None:
    state, events = play([0, 0, 1, 1, 2])
    assert [event.kind for event in events] == ["moved"] and state["round"] == 1


def test_a_full_board_without_four_is_a_drawn_round() -> None:
    # columns filled in pairs so that no four line up: h c h c h c / c h c h c h ...
    order = [0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0,
             2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2,
             4, 5, 4, 5, 4, 5, 5, 4, 5, 4, 5, 4,
             6, 6, 6, 6, 6, 6]
    state, events = play(order)
    assert events[-1].kind == "round_over" and events[-1].fields["winner"] is None
    assert state["score"] == {"host": 0, "challenger": 0}
    assert len(events[-1].fields["board"][6]) == ROWS


def test_turns_alternate_and_the_first_mover_alternates_by_round() -> None:
    state = C4.create(Setup.make(3))
    assert state["turn"] == "host"
    with pytest.raises(IllegalMove) as refused:
        C4.apply(state, "challenger", {"column": 0})
    assert refused.value.code == "not_your_turn"
    state, _ = play([0, 1, 0, 1, 0, 1, 0])  # the host wins round 1
    assert state["first"] == "challenger" and state["turn"] == "challenger"


def test_bad_moves_are_refused() -> None:
    state = C4.create(Setup.make(3))
    for bad in ({"column": 7}, {"column": -1}, {"column": "0"}, {"column": True}, {}, "0"):
        with pytest.raises(IllegalMove):
            C4.apply(state, "host", bad)
    state, _ = play([0, 0, 0, 0, 0, 0])
    with pytest.raises(IllegalMove):
        C4.apply(state, state["turn"], {"column": 0})  # full column
