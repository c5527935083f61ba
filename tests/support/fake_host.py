"""A match actor's host in memory: a journal, users and matches in dicts.

For the actor's unit tests (``tests/unit/test_match_actor.py``): it keeps
what the real store keeps, as far as the actor can tell (the one-match rule
on users included), and lets a test hold a claim, a release or an append
at a gate, or make the journal fail, to build a race on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from actors.games import GAMES, Setup, seat_names
from actors.match.actor import MatchActor
from actors.match.document import new_match
from actors.metrics import Metrics
from actors.ticker import Ticker


class Gate:
    """Calls wait here while it is shut (it is open by default)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.event.set()
        self.waiting = 0

    def shut(self) -> None:
        self.event.clear()

    def open(self) -> None:
        self.event.set()

    async def passage(self) -> None:
        self.waiting += 1
        await self.event.wait()
        self.waiting -= 1


class MemoryJournal:
    def __init__(self) -> None:
        self.appended: list[dict[str, Any]] = []
        self.failing = False

    async def append(self, match: Mapping[str, Any]) -> None:
        await asyncio.sleep(0)  # a round trip: other work runs meanwhile
        if self.failing:
            raise ConnectionError("the journal is down")
        self.appended.append(orjson.loads(orjson.dumps(match)))


class MemoryUsers:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.claims = Gate()
        self.releases = Gate()

    def add(self, name: str, elo: int = 1000) -> dict[str, Any]:
        user = {"_id": f"id-{name}", "username": name, "elo": elo, "date_joined": "2026-12-07",
                "ongoing_match": None, "role": None}
        self.docs[user["_id"]] = user
        return user

    async def by_id(self, user_id: str) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        user = self.docs.get(user_id)
        return dict(user) if user is not None else None

    async def claim(self, user_id: str, match_id: int, role: str) -> bool:
        await self.claims.passage()
        user = self.docs[user_id]
        if user["ongoing_match"] is not None:
            return False
        user.update(ongoing_match=match_id, role=role)
        return True

    async def release(self, user_id: str, match_id: int) -> None:
        await self.releases.passage()
        user = self.docs[user_id]
        if user["ongoing_match"] == match_id:
            user.update(ongoing_match=None, role=None)

    async def finish_match(self, user_id: str, match_id: int, elo: int,
                           elo_before: int) -> None:
        user = self.docs[user_id]
        if user["ongoing_match"] == match_id:
            user.update(ongoing_match=None, role=None, elo=elo)


class MemoryTickets:
    async def discard_waiting(self, user_id: str) -> None:
        pass

    async def remove_for_match(self, user_id: str, match_id: int) -> None:
        pass


class MemoryMatches:
    def __init__(self) -> None:
        self.ongoing: dict[int, dict[str, Any]] = {}
        self.completed: dict[int, dict[str, Any]] = {}

    async def save(self, match: Mapping[str, Any]) -> bool:
        self.ongoing[int(match["id"])] = dict(match)
        return True

    async def store_completed(self, result: Mapping[str, Any]) -> None:
        self.completed.setdefault(int(result["id"]), dict(result))

    async def remove(self, match_id: int) -> None:
        self.ongoing.pop(match_id, None)


@dataclass
class MemoryStore:
    journal: MemoryJournal = field(default_factory=MemoryJournal)
    users: MemoryUsers = field(default_factory=MemoryUsers)
    tickets: MemoryTickets = field(default_factory=MemoryTickets)
    matches: MemoryMatches = field(default_factory=MemoryMatches)


@dataclass
class Settings:
    grace_period: float = 30.0
    turn_timeout: float = 60.0
    idle_timeout: float = 600.0
    elo_k: float = 100.0
    tick_rate: int = 30


class FakeHost:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.config = Settings()
        self.metrics = Metrics()
        self.tickers: dict[float, Ticker] = {}
        self.over: list[int] = []

    def ticker(self, rate: float) -> Ticker:
        return self.tickers.setdefault(rate, Ticker(rate))

    def finished(self, match_id: int, actor: object) -> None:
        self.over.append(match_id)

    def match(self, host: dict[str, Any], game: str = "rps", target: int = 3,
              match_id: int = 1, players: int = 2) -> MatchActor:
        """A new match of ``players`` seats hosted by ``host`` (claimed for
        it), its actor started."""
        self.store.users.docs[host["_id"]].update(ongoing_match=match_id, role="H")
        seats = seat_names(players)
        doc = new_match(match_id, game, target, [host["_id"], *[None] * (players - 1)],
                        GAMES[game].create(Setup.make(target, seats=seats)), "node")
        actor = MatchActor(doc, {host["_id"]: dict(host)}, self)
        actor.start()
        return actor


class FakeSocket:
    """A client's socket as the actor sees it; what it was sent, decoded."""

    def __init__(self, user_id: str) -> None:
        self.user_id: str | None = user_id
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def send(self, text: bytes | str) -> None:
        self.frames.append(orjson.loads(text))

    def send_state(self, text: bytes | str) -> None:
        self.send(text)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def replies(self) -> list[tuple[str, Any]]:
        """(type, id) of every answer to a frame (acks, errors, pongs)."""
        return [(f["type"], f.get("id")) for f in self.frames
                if f["type"] in ("ack", "error", "pong")]

    def events(self) -> list[tuple[int, str]]:
        return [(f["seq"], f["kind"]) for f in self.frames if f["type"] == "event"]
