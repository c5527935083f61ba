"""The interface a game implements to be hosted by Arena.

A game is the rules of one kind of ranked match, written as pure,
synchronous functions of its state: no I/O, no asyncio, no clock of its own,
no randomness but the seed it is given.  The match's actor owns sockets,
seats, timers, persistence, the result and the ratings, and calls these
hooks one at a time, in the order things happen:

- ``create`` makes the state once, when the match is created (from a
  ``Setup``: the target, the seats, the options, a seed); ``started`` lets
  the game react to the host's start; ``restored`` adjusts the state after a
  server restart;
- ``admit`` accepts or refuses someone taking a seat or watching (seat
  ``None``); ``joined`` and ``left`` (before the start, or a spectator),
  ``dropped`` (a player's socket went away), ``returned`` (it came back) and
  ``out`` (a player of a match of three or more resigned, forfeited or ran
  out of time, and plays no more) let the game react;
- ``apply`` takes a player's input; ``tick`` advances a realtime game by one
  fixed step of ``dt`` seconds;
- ``view`` says what one viewer may see; ``standings`` says when the match is
  over and who placed where (ties allowed: a draw); ``score`` is what the
  REST views and results show.

Every hook that changes the state returns an ``Outcome``: the new state
(never the old one mutated) and the events it caused, which the actor
numbers, stores before it sends, and broadcasts.  State is plain data
(dicts, lists, strings, numbers) that round-trips through BSON.  A hook
refuses what it was asked with ``IllegalMove``; anything else it raises is a
bug, which the actor contains (``docs/writing-a-game.md``).

Settings are class attributes (``Game`` lists them with their defaults).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, NamedTuple

#: A seat: "host", "challenger", then "p3" … "p16".
Seat = str
#: The seats of a match of two.
SEATS: tuple[Seat, Seat] = ("host", "challenger")
State = dict[str, Any]
#: The most seats a match may have.
MAX_SEATS = 16


@functools.cache
def seat_names(count: int) -> tuple[Seat, ...]:
    """The seats of a match of ``count`` players, in order: ``host``,
    ``challenger``, then ``p3`` … ``p16`` (one tuple per count: every
    broadcast asks)."""
    return (*SEATS, *(f"p{n}" for n in range(3, count + 1)))[:count]


class Setup(NamedTuple):
    """What a match is created with."""

    target: int  # the match's target_score
    seats: tuple[Seat, ...]  # the match's seats in order; seats[0] == "host"
    options: dict[str, Any]  # validated, defaults filled in
    seed: int  # for any randomness the rules need

    @classmethod
    def make(cls, target: int, *, seed: int = 0, seats: tuple[Seat, ...] = ("host", "challenger"),
             options: dict[str, Any] | None = None) -> Setup:
        """A setup with defaults (for tests: two seats, no options, seed 0)."""
        return cls(target, seats, options or {}, seed)


class Player(NamedTuple):
    """Who is joining or leaving, as the game may know them."""

    username: str
    elo: int


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
    """A game, first to ``target`` (the match's ``target_score``) by default.

    Subclasses set ``name`` and implement ``create``, ``apply`` and ``view``
    at least; the other hooks default to "nothing happens".
    """

    name: ClassVar[str] = ""
    #: Seats a match may have (``players`` at creation), and the default.
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
    turn_clock: ClassVar[bool] = False
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
    #: Whether a realtime game pauses while a seated player is disconnected.
    pause_when_away: ClassVar[bool] = True

    # -- life -------------------------------------------------------------------------

    def create(self, setup: Setup) -> State:
        """A new match's state, once, when the match is created."""
        raise NotImplementedError

    def started(self, state: State) -> Outcome:
        """The host started the match (or the matchmaker's did by itself)."""
        return state, []

    def restored(self, state: State) -> State:
        """The state to go on from after a server restart (the stored one)."""
        return state

    # -- people -----------------------------------------------------------------------

    def admit(self, state: State, seat: Seat | None, player: Player) -> None:
        """Refuse ``player`` taking ``seat`` (``None``: watching) by raising
        ``IllegalMove``; the seat being free and the user being in no other
        match are the actor's to check."""

    def joined(self, state: State, seat: Seat | None, player: Player) -> Outcome:
        return state, []

    def left(self, state: State, seat: Seat | None, player: Player) -> Outcome:
        """``player`` left ``seat`` before the start (``None``: a spectator)."""
        return state, []

    def dropped(self, state: State, seat: Seat) -> Outcome:
        """A player's socket went away (the grace period runs)."""
        return state, []

    def returned(self, state: State, seat: Seat) -> Outcome:
        """A dropped player is back."""
        return state, []

    def out(self, state: State, seat: Seat, reason: str) -> Outcome:
        """In a match of three or more, ``seat`` went out (``reason``:
        ``"resign"`` or ``"forfeit"``): it plays no more (the actor refuses its
        moves) and the match goes on while two seats or more are still in.
        Never called in a match of two, which such a player loses at once."""
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

    def score(self, state: State) -> dict[Seat, int]:
        return dict(state["score"])

    def standings(self, state: State) -> list[list[Seat]] | None:
        """``None`` while the match goes on; once it is over by the rules, the
        seats in order of placing, best first, each inner list one place
        (several seats in one list tie: ``[[host, challenger]]`` is a draw).
        By default: once some seat's score has reached the target, the seats
        grouped by score, highest first."""
        score = self.score(state)
        if max(score.values()) < state["target"]:
            return None
        places: dict[int, list[Seat]] = {}
        for seat, points in score.items():
            places.setdefault(points, []).append(seat)
        return [places[points] for points in sorted(places, reverse=True)]

    # -- the turn clock (``turn_clock`` games) ------------------------------------------

    def owing(self, state: State) -> list[Seat]:
        """The seats that owe a move now: the turn clock runs against them
        (all of them owing when it runs out cancels the match)."""
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
                "tick_rate": self.rate(server_tick_rate), "send_rate": self.send_rate,
                "turn_clock": self.turn_clock, "default_target_score": self.default_target,
                "min_target_score": self.min_target, "max_target_score": self.max_target,
                "min_players": self.min_players, "max_players": self.max_players,
                "default_players": self.default_players or self.min_players,
                "options": self.options}
