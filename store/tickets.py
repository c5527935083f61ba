"""The ``matchmaking_tickets`` collection: players queueing for a ranked match.

One ticket per user, keyed by the user's id, so a second ``POST`` (a retry,
or two at once) finds the first ticket instead of making another: the insert
into ``_id`` is the check.  A ticket is ``waiting`` until the matchmaker
pairs it; pairing moves it to ``matched`` with the match's id, by a
conditional update that only one pairing can win (``reserve``), so a ticket
is paired at most once however many matchmakers run.  The ticket goes when
its match ends or is cancelled (``remove_for_match``, a step of the
exactly-once ending) or when its user leaves the queue.

Every ticket that becomes waiting (queued, or given back by a pairing that
fell through) is also *announced* in ``matchmaking_feed``: an entry keyed by
a sequence number, so a matchmaker keeps the queue in memory and reads only
what was announced since it last looked, a range of ``_id`` (cheap on MongoDB
and on the embedded FerretDB alike), instead of every waiting ticket each
round.  Tickets that leave the queue are not announced: a matchmaker finds
out when it tries to take one, and reads the whole queue again now and then.

The time a ticket was queued is kept (``queued_at``, seconds since the epoch,
and ``created`` for people): its waiting time, and so its elo window,
survives a restart.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.counters import CounterRepository
from store.indexes import Index
from store.locks import KeyedLocks
from store.pages import NUMBER_OFFSET, number
from store.timestamps import now
from store.updates import delete_if, set_if

Ticket = dict[str, Any]

WAITING = "waiting"
#: Taken by a pairing whose match is not stored yet: shown as waiting, never
#: paired again.  The match's id is set, so nobody is sent to it before it exists.
PAIRING = "pairing"
MATCHED = "matched"


#: Feed entries read at a time.
FEED_PAGE = 1000
#: The counter that numbers the feed's entries.
FEED = "matchmaking_feed"


class TicketRepository:
    def __init__(self, collection: AsyncCollection[Any], feed: AsyncCollection[Any],
                 counters: CounterRepository, locks: KeyedLocks) -> None:
        self.collection = collection
        self.feed = feed
        self.counters = counters
        self.locks = locks

    def indexes(self) -> list[Index]:
        return [Index(self.collection, "status")]

    def _lock(self, user_id: str) -> Any:
        return self.locks.hold(("tickets", user_id))

    async def open(self, user: dict[str, Any], game: str, target: int,
                   options: dict[str, Any] | None = None,
                   players: int = 2) -> tuple[Ticket, bool]:
        """The user's ticket, queued now for a match of ``players`` of
        ``game`` to ``target`` with the game's ``options`` unless they already
        hold one; and whether it is new.
        The user's elo is taken as it is now (it cannot change while they wait:
        only a match changes it)."""
        ticket: Ticket = {
            "_id": user["_id"], "id": str(uuid.uuid4()), "username": user["username"],
            "game": game, "target_score": target, "options": options or {}, "players": players,
            "elo": int(user["elo"]),
            "created": now(), "queued_at": time.time(), "status": WAITING, "match": None,
            "matched_at": None,
        }
        for _ in range(3):
            try:
                await self.collection.insert_one(ticket)
                await self.announce(user["_id"])
                return ticket, True
            except DuplicateKeyError:
                existing = await self.of(user["_id"])
                if existing is not None:
                    return existing, False
                # removed between the two: queue again
        raise RuntimeError("the ticket kept disappearing")  # pragma: no cover

    async def of(self, user_id: str) -> Ticket | None:
        return await self.collection.find_one({"_id": user_id})

    async def discard(self, user_id: str) -> bool:
        """Take the user out of the queue (a matched ticket's match goes on);
        whether there was a ticket."""
        async with self._lock(user_id):
            result = await self.collection.delete_one({"_id": user_id})
        return result.deleted_count == 1

    async def discard_waiting(self, user_id: str) -> None:
        """The user entered a match another way: a waiting ticket is never paired."""
        async with self._lock(user_id):
            await delete_if(self.collection, user_id, {"status": WAITING})

    async def waiting(self) -> list[Ticket]:
        """Every waiting ticket, oldest first (the order the matchmaker serves them in)."""
        tickets = await self.collection.find({"status": WAITING}).to_list()
        return sorted(tickets, key=lambda ticket: (ticket["queued_at"], ticket["_id"]))

    async def taken(self) -> list[Ticket]:
        """Tickets a pairing took (``pairing`` or ``matched``)."""
        return await self.collection.find({"status": {"$in": [PAIRING, MATCHED]}}).to_list()

    async def reserve(self, ticket: Ticket, match_id: int) -> bool:
        """Take the waiting ``ticket`` for ``match_id``; False if it is not
        waiting any more (paired elsewhere, cancelled, or queued again)."""
        async with self._lock(ticket["_id"]):
            return await set_if(self.collection, ticket["_id"],
                                {"id": ticket["id"], "status": WAITING},
                                {"status": PAIRING, "match": match_id, "matched_at": time.time()})

    async def confirm(self, user_id: str, match_id: int) -> None:
        """The match ``reserve`` took the ticket for is stored: ``matched``."""
        async with self._lock(user_id):
            await set_if(self.collection, user_id, {"status": PAIRING, "match": match_id},
                         {"status": MATCHED})

    async def unreserve(self, user_id: str, match_id: int) -> None:
        """Put a ticket taken for ``match_id`` back in the queue (its pairing
        fell through), keeping its waiting time."""
        async with self._lock(user_id):
            back = await set_if(self.collection, user_id, {"status": PAIRING, "match": match_id},
                                {"status": WAITING, "match": None, "matched_at": None})
        if back:
            await self.announce(user_id)

    async def remove_for_match(self, user_id: str, match_id: int) -> None:
        """Delete the user's ticket if it is the one taken for ``match_id``
        (idempotent: replayed by an interrupted ending)."""
        async with self._lock(user_id):
            await delete_if(self.collection, user_id, {"match": match_id})

    # -- the feed ---------------------------------------------------------------------

    async def announce(self, user_id: str) -> None:
        """Tell every matchmaker that the user's ticket is waiting."""
        seq = await self.counters.next(FEED)
        await self.feed.insert_one({"_id": number(seq), "user": user_id})

    async def feed_head(self) -> int:
        """The number of the last entry announced (or being announced)."""
        return await self.counters.value(FEED)

    async def feed_since(self, after: int) -> list[tuple[int, str]]:
        """Up to ``FEED_PAGE`` entries numbered above ``after``, in order:
        (number, user id)."""
        cursor = self.feed.find({"_id": {"$gt": number(after)}}).sort("_id", 1).limit(FEED_PAGE)
        return [(int(entry["_id"]) - NUMBER_OFFSET, entry["user"])
                async for entry in cursor]

    async def trim_feed(self, through: int) -> None:
        """Drop the entries numbered up to ``through`` (read by everyone by now)."""
        await self.feed.delete_many({"_id": {"$lte": number(through)}})
