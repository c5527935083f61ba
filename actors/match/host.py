"""What a match actor needs of the node that runs it, and nothing more.

The actor is given a ``Host`` (the registry, on a running node; a fake one in
``tests/unit/test_match_actor.py``): the parts of the store it writes, the
settings it reads, the counters it bumps, a ticker for realtime games, and
whom to tell when it is over.  It never sees the registry itself, so the
actor can be read, and tested, on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from actors.metrics import Metrics
from actors.ticker import Tickable


class Journal(Protocol):
    async def append(self, match: Mapping[str, Any]) -> None:
        """Store the match's newest state (group-committed, write-ahead)."""


class Users(Protocol):
    async def by_id(self, user_id: str) -> dict[str, Any] | None: ...

    async def claim(self, user_id: str, match_id: int, role: str) -> bool:
        """Put the user in the match if they are in none (the one-match rule)."""

    async def release(self, user_id: str, match_id: int) -> None:
        """Take the user out of the match (nothing if they are not in it)."""

    async def finish_match(self, user_id: str, match_id: int, elo: int,
                           elo_before: int) -> None:
        """Release a player with their new rating, once."""


class Tickets(Protocol):
    async def discard_waiting(self, user_id: str) -> None: ...

    async def remove_for_match(self, user_id: str, match_id: int) -> None: ...


class Matches(Protocol):
    async def save(self, match: Mapping[str, Any]) -> bool:
        """Store the document if this node still holds the match."""

    async def store_completed(self, result: Mapping[str, Any]) -> None: ...

    async def remove(self, match_id: int) -> None: ...


class MatchStore(Protocol):
    @property
    def journal(self) -> Journal: ...
    @property
    def users(self) -> Users: ...
    @property
    def tickets(self) -> Tickets: ...
    @property
    def matches(self) -> Matches: ...


class Settings(Protocol):
    """The settings a match reads (``config.Config``)."""

    @property
    def grace_period(self) -> float: ...
    @property
    def turn_timeout(self) -> float: ...
    @property
    def idle_timeout(self) -> float: ...
    @property
    def elo_k(self) -> float: ...
    @property
    def tick_rate(self) -> int: ...


class TickSource(Protocol):
    def add(self, member: Tickable) -> None: ...
    def discard(self, member: Tickable) -> None: ...


class Host(Protocol):
    @property
    def store(self) -> MatchStore: ...
    @property
    def config(self) -> Settings: ...
    @property
    def metrics(self) -> Metrics: ...

    def ticker(self, rate: float) -> TickSource:
        """The one ticker for realtime matches at ``rate`` ticks a second."""

    def finished(self, match_id: int, actor: object) -> None:
        """The actor of ``match_id`` is over: the host forgets it (if it is
        still the one it holds)."""
