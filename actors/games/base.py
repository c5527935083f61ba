"""The interface every game implements."""

from __future__ import annotations

from typing import Any, Literal

Seat = Literal["host", "challenger"]
SEATS: tuple[Seat, Seat] = ("host", "challenger")
State = dict[str, Any]
#: ``(kind, fields)``: what happened, for the actor to number and broadcast.
Event = tuple[str, dict[str, Any]]


def other(seat: Seat) -> Seat:
    return "challenger" if seat == "host" else "host"


class IllegalMove(Exception):
    """A move the rules refuse; ``code`` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Rules:
    """A two-seat game played in rounds, first to ``target`` round wins."""

    name: str = ""
    default_target: int = 1
    max_target: int = 99

    def new_state(self, target: int) -> State:
        raise NotImplementedError

    def apply(self, state: State, seat: Seat, move: Any) -> tuple[State, list[Event]]:
        """The state after ``seat`` plays ``move``, and the events it caused.

        Never mutates ``state``.  Raises ``IllegalMove`` for a refused move.
        """
        raise NotImplementedError

    def view(self, state: State, viewer: Seat | None) -> State:
        """What ``viewer`` (a seat, or ``None`` for anyone else) may see."""
        raise NotImplementedError

    def owing(self, state: State) -> list[Seat]:
        """The seats that owe a move now (the turn clock runs against them)."""
        raise NotImplementedError

    def turn_number(self, state: State) -> int:
        """Grows whenever a new turn (or round) starts: the turn clock restarts then."""
        raise NotImplementedError

    @staticmethod
    def score(state: State) -> dict[str, int]:
        return dict(state["score"])

    @staticmethod
    def winner(state: State) -> Seat | None:
        """The seat that reached the target, once one has."""
        for seat in SEATS:
            if state["score"][seat] >= state["target"]:
                return seat
        return None
