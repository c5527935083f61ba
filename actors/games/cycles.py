"""Light cycles for 2 to 4 players, realtime.

Each tick every cycle still riding moves one cell on a square grid in its
direction; ``{"turn": "up" | "down" | "left" | "right"}`` sets the direction
for its next step (turning back onto itself is ignored).  A cycle that would
reach a wall, any trail (every cell a cycle has been on, its own included)
or the cell another cycle reaches in the same tick crashes and is out of the
round.  The last one riding scores the round; a round whose last cycles
crash together scores nobody.  First to ``target_score`` rounds wins.

The grid is a string of ``size * size`` cells (``.`` empty, else the index
of the seat whose trail it is), so a state frame is small and the state
round-trips through BSON.  Each round starts after ``START_DELAY`` seconds.
"""

from __future__ import annotations

from typing import Any, ClassVar

from actors.games.base import Event, Game, IllegalMove, Outcome, Seat, Setup, State

DIRECTIONS = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}
EMPTY = "."
#: Seconds between a round's set-up and the cycles moving.
START_DELAY = 1.0


def starts(size: int, count: int) -> list[tuple[int, int, str]]:
    """Where each seat starts and which way it faces: left, right, top, bottom."""
    middle, edge = size // 2, max(1, size // 8)
    spots = [(edge, middle, "right"), (size - 1 - edge, middle, "left"),
             (middle, edge, "down"), (middle, size - 1 - edge, "up")]
    return spots[:count]


def cell(size: int, x: int, y: int) -> int:
    return y * size + x


class Cycles(Game):
    name = "cycles"
    min_players = 2
    max_players = 4
    default_target = 3
    max_target = 20
    realtime = True
    tick_rate = 10
    public_view = True
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "size": {"type": "integer", "default": 24, "minimum": 8, "maximum": 64,
                 "description": "cells on each side of the grid"},
    }

    def create(self, setup: Setup) -> State:
        state = {"target": setup.target, "size": setup.options.get("size", 24),
                 "seats": list(setup.seats), "score": {seat: 0 for seat in setup.seats},
                 "round": 0, "tick": 0, "last_round": None}
        return self.new_round(state)

    def new_round(self, state: State) -> State:
        size, seats, out = state["size"], state["seats"], state.get("out", [])
        grid = [EMPTY] * (size * size)
        cycles = {}
        for index, (seat, (x, y, facing)) in enumerate(zip(seats, starts(size, len(seats)),
                                                           strict=False)):
            riding = seat not in out
            if riding:
                grid[cell(size, x, y)] = str(index)
            cycles[seat] = {"x": x, "y": y, "dir": facing, "next": facing, "riding": riding}
        return {**state, "round": state["round"] + 1, "grid": "".join(grid), "cycles": cycles,
                "start_in": round(START_DELAY * (self.tick_rate or 10))}

    def restored(self, state: State) -> State:
        """After a restart the round in play waits out a fresh start delay."""
        return {**state, "start_in": round(START_DELAY * (self.tick_rate or 10))}

    def out(self, state: State, seat: Seat, reason: str) -> Outcome:
        """A rider who went out stops where they are and rides no more rounds;
        the next tick ends the round if one rider is left."""
        cycle = state["cycles"][seat]
        return {**state, "out": [*state.get("out", []), seat],
                "cycles": {**state["cycles"], seat: {**cycle, "riding": False}}}, []

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        turn = move.get("turn") if isinstance(move, dict) else None
        if turn not in DIRECTIONS:
            raise IllegalMove("illegal_move",
                              'A move is {"turn": "up" | "down" | "left" | "right"}.')
        cycle = state["cycles"].get(seat)
        if cycle is None or not cycle["riding"] or turn == OPPOSITE[cycle["dir"]]:
            return state, []  # out of the round, or back onto itself: ignored
        return {**state, "cycles": {**state["cycles"], seat: {**cycle, "next": turn}}}, []

    def tick(self, state: State, dt: float) -> Outcome:
        state = {**state, "tick": state["tick"] + 1}
        if state["start_in"] > 0:
            return {**state, "start_in": state["start_in"] - 1}, []
        size, seats = state["size"], state["seats"]
        grid = list(state["grid"])
        cycles = dict(state["cycles"])
        aims: dict[Seat, tuple[int, int]] = {}
        for seat in seats:
            cycle = cycles[seat]
            if cycle["riding"]:
                dx, dy = DIRECTIONS[cycle["next"]]
                aims[seat] = (cycle["x"] + dx, cycle["y"] + dy)
        crashed = []
        for seat, (x, y) in aims.items():
            outside = not (0 <= x < size and 0 <= y < size)
            shared = sum(1 for other in aims.values() if other == (x, y)) > 1
            if outside or shared or grid[cell(size, x, y)] != EMPTY:
                crashed.append(seat)
        for seat, (x, y) in aims.items():
            cycle = cycles[seat]
            if seat in crashed:
                cycles[seat] = {**cycle, "riding": False}
            else:
                grid[cell(size, x, y)] = str(seats.index(seat))
                cycles[seat] = {**cycle, "x": x, "y": y, "dir": cycle["next"]}
        state = {**state, "grid": "".join(grid), "cycles": cycles}
        events = [Event("crashed", {"seat": seat}) for seat in crashed]
        riding = [seat for seat in seats if cycles[seat]["riding"]]
        if len(riding) <= 1:
            winner = riding[0] if riding else None
            score = dict(state["score"])
            if winner is not None:
                score[winner] += 1
            finished = {"round": state["round"], "winner": winner}
            events.append(Event("round_over", {**finished, "score": score}))
            state = {**state, "score": score, "last_round": finished}
            if max(score.values()) < state["target"]:
                state = self.new_round(state)
        return state, events

    def view(self, state: State, viewer: Seat | None) -> State:
        return {key: state[key] for key in ("size", "round", "score", "grid", "cycles",
                                            "start_in", "tick", "target", "last_round")}
