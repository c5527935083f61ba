"""The match journal: the write-ahead log of live matches, with group commit.

Every state an actor is about to show is first appended here as a whole
document.  Appends from all matches are gathered and written together: one
``insert_many`` per batch, and the next batch forms while one is in flight,
so under load many states cost one round trip.  An append resolves only when
its batch is stored, so "stored before sent" holds for every event.

Why inserts and not an update of the match document: on FerretDB 1.24 (the
embedded database) every update or delete walks its whole collection, while
an insert does not; on MongoDB an insert is the cheapest write too.

The journal is cut into segments (one collection each).  A checkpoint
``rotate``s to a new segment, appends every live match's current state to it,
and then drops the older segments whole (dropping a collection is cheap
everywhere; deleting or updating documents is not on FerretDB).  So the
newest segments always hold the latest state of every live match.  At
start-up a match's state is the one with the highest ``seq`` among its match
document (written at creation and when it ends) and the remaining segments.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

log = logging.getLogger("arena.store.journal")

PREFIX = "match_journal_"


class Journal:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self.segment = 0
        self.queue: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self.wakeup = asyncio.Event()
        self.writer: asyncio.Task[None] | None = None
        self.in_flight: asyncio.Future[None] | None = None

    async def segments(self) -> list[int]:
        names = await self.db.list_collection_names()
        return sorted(int(name[len(PREFIX):]) for name in names
                      if name.startswith(PREFIX) and name[len(PREFIX):].isdigit())

    async def open(self) -> None:
        existing = await self.segments()
        self.segment = (existing[-1] + 1) if existing else 1

    def start(self) -> None:
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write_batches())

    async def append(self, match: dict[str, Any], *, checkpoint: bool = False) -> None:
        """Store ``match`` (a whole match document); returns once it is durable.

        A checkpoint re-appends a state the journal may already hold (in an
        older segment, or in this one): its key is marked so it never collides.
        """
        self.start()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = f"{match['id']}:{match['seq']:012d}" + (":c" if checkpoint else "")
        self.queue.append(({"_id": key, "m": match["id"], "seq": match["seq"], "doc": match},
                           future))
        self.wakeup.set()
        await future

    async def _write_batches(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            batch, self.queue = self.queue, []
            if not batch:
                continue
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.in_flight = done
            try:
                await self.db[PREFIX + str(self.segment)].insert_many(
                    [record for record, _ in batch], ordered=False)
            except Exception as exc:  # every append in the batch fails with it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
            finally:
                done.set_result(None)
                self.in_flight = None

    async def rotate(self) -> int:
        """Send new appends to a fresh segment; return the last full one."""
        previous = self.segment
        self.segment += 1
        if self.in_flight is not None:  # a batch may still be writing to ``previous``
            await self.in_flight
        return previous

    async def drop_through(self, segment: int) -> None:
        for number in await self.segments():
            if number <= segment:
                await self.db.drop_collection(PREFIX + str(number))

    async def latest(self) -> dict[int, dict[str, Any]]:
        """The newest journaled state of every match, by match id."""
        newest: dict[int, dict[str, Any]] = {}
        for number in await self.segments():
            async for record in self.db[PREFIX + str(number)].find({}):
                known = newest.get(record["m"])
                if known is None or record["seq"] > known["seq"]:
                    newest[record["m"]] = record["doc"]
        return newest

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            await asyncio.gather(self.writer, return_exceptions=True)
            self.writer = None
