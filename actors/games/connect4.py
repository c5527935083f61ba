"""Connect four: 7 columns by 6 rows; the first mover alternates each round.

The board is seven strings, one per column from the bottom up, ``"h"`` for a
host disc and ``"c"`` for a challenger disc (``["hc", "", ...]``): plain data
that BSON stores everywhere (FerretDB refuses nested arrays).
"""

from __future__ import annotations

from typing import Any

from actors.games.base import Event, Game, IllegalMove, Outcome, Seat, Setup, State, other

COLUMNS, ROWS = 7, 6
_DIRECTIONS = ((1, 0), (0, 1), (1, 1), (1, -1))


DISC = {"host": "h", "challenger": "c"}


def _empty_board() -> list[str]:
    return [""] * COLUMNS


def _four_from(board: list[str], column: int, row: int) -> bool:
    seat = board[column][row]

    def at(c: int, r: int) -> str | None:
        return board[c][r] if 0 <= c < COLUMNS and 0 <= r < len(board[c]) else None

    for dc, dr in _DIRECTIONS:
        run = 1
        for sign in (1, -1):
            c, r = column + sign * dc, row + sign * dr
            while at(c, r) == seat:
                run += 1
                c, r = c + sign * dc, r + sign * dr
        if run >= 4:
            return True
    return False


class Connect4(Game):
    name = "connect4"
    default_target = 3
    turn_clock = True

    def create(self, setup: Setup) -> State:
        return {"target": setup.target, "round": 1, "score": {"host": 0, "challenger": 0},
                "board": _empty_board(), "turn": "host", "first": "host", "moves": 0,
                "last_round": None}

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        column = move.get("column") if isinstance(move, dict) else None
        if isinstance(column, bool) or not isinstance(column, int):
            raise IllegalMove("illegal_move", 'A move is {"column": 0..6}.')
        if state["turn"] != seat:
            raise IllegalMove("not_your_turn", "It is not your turn.")
        if not 0 <= column < COLUMNS:
            raise IllegalMove("illegal_move", "No such column.")
        if len(state["board"][column]) >= ROWS:
            raise IllegalMove("illegal_move", "That column is full.")
        board = list(state["board"])
        board[column] += DISC[seat]
        row = len(board[column]) - 1
        moved = Event("moved", {"seat": seat, "column": column, "row": row})
        won = _four_from(board, column, row)
        if not won and any(len(col) < ROWS for col in board):
            return {**state, "board": board, "turn": other(seat),
                    "moves": state["moves"] + 1}, [moved]
        winner: Seat | None = seat if won else None
        score = dict(state["score"])
        if winner is not None:
            score[winner] += 1
        first = other(state["first"])
        finished = {"round": state["round"], "winner": winner, "board": board}
        next_state = {**state, "round": state["round"] + 1, "score": score,
                      "board": _empty_board(), "first": first, "turn": first,
                      "moves": state["moves"] + 1, "last_round": finished}
        return next_state, [moved, Event("round_over", {**finished, "score": score})]

    def view(self, state: State, viewer: Seat | None) -> State:
        return {"round": state["round"], "target_score": state["target"],
                "score": dict(state["score"]), "board": state["board"], "turn": state["turn"],
                "last_round": state["last_round"]}

    def owing(self, state: State) -> list[Seat]:
        return [state["turn"]]

    def turn_number(self, state: State) -> int:
        return int(state["moves"])
