"""The interface a game implements to be hosted by Arena.

A game is the rules of one kind of ranked 1v1 match, written as pure,
synchronous functions of its state: no I/O, no asyncio, no clock of its own.
The match's actor owns sockets, timers, persistence and the clocks, and calls
these hooks one at a time, in the order things happen:

- ``create`` makes the state when the match is created and again when it
  starts; ``restored`` adjusts it after a server restart;
- ``admit`` accepts or refuses someone taking a seat or watching;
  ``joined``, ``left``, ``dropped`` (a player's socket went away) and
  ``returned`` (it came back) let the game react;
- ``apply`` takes a player's input; ``tick`` advances a realtime game by one
  fixed step of ``dt`` seconds;
- ``view`` says what one viewer may see; ``winner`` says when the match is
  over and who won; ``score`` is what the REST views and results show.

Every hook that changes the state returns an ``Outcome``: the new state
(never the old one mutated) and the events it caused, which the actor
numbers, stores before it sends, and broadcasts.  State is plain data
(dicts, lists, strings, numbers) that round-trips through BSON.

Settings are class attributes: ``realtime`` games are ticked (at
``tick_rate`` per second, or the server's ``--tick-rate`` when it is
``None``) and get a state frame after every tick; ``turn_clock`` games have
the turn timeout run against the seats that ``owing`` names, restarted
whenever ``turn_number`` changes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

Seat = Literal["host", "challenger"]
SEATS: tuple[Seat, Seat] = ("host", "challenger")
#: Who wants in: a seat, or to watch.
Role = Literal["challenger", "spectator"]
State = dict[str, Any]


class Event(NamedTuple):
    """Something that happened, for the actor to number, store and broadcast.

    ``to``: the seats that see its fields; everyone else receives the event
    with its ``kind`` and their own view of the state only (so nobody's
    ``seq`` has a gap).  ``None``: everyone sees everything.
    """

    kind: str
    fields: dict[str, Any]
    to: tuple[Seat, ...] | None = None


#: A hook's answer: the next state and the events that led to it.
Outcome = tuple[State, list[Event]]


def other(seat: Seat) -> Seat:
    return "challenger" if seat == "host" else "host"


class IllegalMove(Exception):
    """An input or a join the rules refuse; ``code`` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Game:
    """A two-seat game, first to ``target`` (the match's ``target_score``).

    Subclasses set ``name`` and implement ``create``, ``apply`` and ``view``
    at least; the other hooks default to "nothing happens".
    """

    name: ClassVar[str] = ""
    #: Seats a match may have (only two are played as yet).
    min_players: ClassVar[int] = 2
    max_players: ClassVar[int] = 2
    default_players: ClassVar[int | None] = None
    #: Per-match settings: ``{name: {"type": ..., "default": ...}}``.
    options: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Target scores a match may ask for, and the one it gets by default.
    default_target: ClassVar[int] = 1
    min_target: ClassVar[int] = 1
    max_target: ClassVar[int] = 99
    #: Whether the turn timeout applies (``owing``, ``turn_number``).
    turn_clock: ClassVar[bool] = True
    #: Whether the actor ticks the game (``tick``) and sends state frames.
    realtime: ClassVar[bool] = False
    #: Ticks per second of a realtime game; ``None``: the server's ``--tick-rate``.
    tick_rate: ClassVar[int | None] = None
    #: State frames per second (``None``: one per tick), client inputs per
    #: second and burst (``None``: the server's), the turn timeout (``None``:
    #: the server's).  Checked by ``register``.
    send_rate: ClassVar[int | None] = None
    input_rate: ClassVar[float | None] = None
    input_burst: ClassVar[int | None] = None
    turn_timeout: ClassVar[float | None] = None
    #: Whether ``view`` is the same for every viewer (then it is made and
    #: encoded once per state, not once per kind of viewer).
    public_view: ClassVar[bool] = False

    # -- life -------------------------------------------------------------------------

    def create(self, target: int, seed: int = 0) -> State:
        """A new match's state (``seed``: for any randomness the rules need)."""
        raise NotImplementedError

    def restored(self, state: State) -> State:
        """The state to go on from after a server restart (the stored one)."""
        return state

    # -- people -----------------------------------------------------------------------

    def admit(self, state: State, role: Role) -> None:
        """Refuse a join by raising ``IllegalMove``; the seat itself being free
        and the user being in no other match are the actor's to check."""

    def joined(self, state: State, role: Role) -> Outcome:
        return state, []

    def left(self, state: State, role: Role) -> Outcome:
        return state, []

    def dropped(self, state: State, seat: Seat) -> Outcome:
        """A player's socket went away (the grace period runs)."""
        return state, []

    def returned(self, state: State, seat: Seat) -> Outcome:
        """A dropped player is back."""
        return state, []

    # -- play -------------------------------------------------------------------------

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        """The state after ``seat`` plays ``move``; ``IllegalMove`` to refuse it."""
        raise NotImplementedError

    def tick(self, state: State, dt: float) -> Outcome:
        """A realtime game one fixed step of ``dt`` seconds later."""
        return state, []

    def ticks(self, state: State) -> int:
        """How many ticks the state has run (a state frame's ``tick``)."""
        return int(state.get("tick", 0))

    # -- what is shown --------------------------------------------------------------------

    def view(self, state: State, viewer: Seat | None) -> State:
        """What ``viewer`` (a seat, or ``None`` for anyone else) may see."""
        raise NotImplementedError

    def score(self, state: State) -> dict[str, int]:
        return dict(state["score"])

    def winner(self, state: State) -> Seat | None:
        """The seat that won by the rules, once one has (the match then ends
        with ``reason: "score"``)."""
        for seat in SEATS:
            if state["score"][seat] >= state["target"]:
                return seat
        return None

    # -- the turn clock (``turn_clock`` games) ------------------------------------------

    def owing(self, state: State) -> list[Seat]:
        """The seats that owe a move now: the turn clock runs against them
        (both owing when it runs out cancels the match)."""
        return []

    def turn_number(self, state: State) -> int:
        """Grows whenever a new turn (or round) starts: the turn clock restarts then."""
        return 0

    # -- for the ticker and GET /api/game_types/ ---------------------------------------------

    def rate(self, server_tick_rate: int) -> int | None:
        """Ticks per second a match of this game runs at (``None``: turn-based)."""
        return (self.tick_rate or server_tick_rate) if self.realtime else None

    def describe(self, server_tick_rate: int) -> dict[str, Any]:
        return {"name": self.name, "realtime": self.realtime,
                "tick_rate": self.rate(server_tick_rate),
                "turn_clock": self.turn_clock, "default_target_score": self.default_target,
                "min_target_score": self.min_target, "max_target_score": self.max_target}
