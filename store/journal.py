"""The match journal: the write-ahead log of live matches, with group commit.

Every state an actor is about to show is first appended here as a whole
match document.  Appends from all matches are gathered and written together,
and the next batch forms while one is in flight, so under load many states
cost one round trip.  An append resolves only when its batch is stored, so
"stored before sent" holds for every event.

A batch is *one* document: ``{_id: ObjectId, z}``, where ``z`` is the
batch's records (``{m: match id, seq, doc: match document}``) encoded as
BSON, one after another, and compressed with zlib (level 1).  A log is read
back whole and only at start-up, so nothing is lost by the database not
seeing inside it, and a database pays per document it takes apart and per
byte it stores: one opaque, compressed document per batch is the cheapest
write there is (``docs/benchmarks.md`` has the figures).  Journals written
before compression hold ``records``, uncompressed; they are still read.

Writes are spaced: the next batch starts no sooner than ``interval`` after
the previous one started, because each write has a fixed cost whatever it
carries, and unspaced group commit writes as often as the round trip
allows.  An append to an idle journal is written at once; under load an
append may wait up to ``interval`` for its batch.

Why inserts and not an update of the match document per event: one insert
carries a whole batch of matches, and an insert is the cheapest write on
MongoDB and on FerretDB alike.

The journal is cut into segments (one collection each).  A checkpoint
``rotate``s to a new segment, appends every live match's current state to it,
and then drops the older segments whole (dropping a collection is cheaper
than deleting its documents one by one).  So the newest segments always hold
the latest state of every live match.  At start-up a match's state is the
one with the highest ``seq`` among its match document (written at creation
and when it ends) and the remaining segments.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Mapping
from typing import Any

import bson
from pymongo.asynchronous.database import AsyncDatabase

log = logging.getLogger("arena.store.journal")

PREFIX = "match_journal_"
#: A batch's records stay well under MongoDB's 16 MiB document limit.
BATCH_BYTES = 8 << 20
#: The least time between the starts of two writes (the module docstring says why).
INTERVAL = 0.005


# -- the record codec: pure, so it is tested without a database -----------------


def encode_record(match: Mapping[str, Any]) -> bytes:
    """One journal record: the match's id, its ``seq`` and the whole document."""
    return bson.encode({"m": match["id"], "seq": match["seq"], "doc": match})


def pack(records: list[bytes]) -> dict[str, Any]:
    """A batch of records as the document one write stores (zlib level 1)."""
    return {"z": bson.Binary(zlib.compress(b"".join(records), 1))}


def unpack(batch: dict[str, Any], options: Any = bson.DEFAULT_CODEC_OPTIONS) -> list[Any]:
    """The records of a stored batch (also batches from before compression,
    which held them raw in ``records``)."""
    raw = zlib.decompress(batch["z"]) if "z" in batch else batch["records"]
    return bson.decode_all(raw, options)


def fold(newest: dict[int, dict[str, Any]], records: list[Any]) -> None:
    """Keep in ``newest`` each match's newest state: the highest ``seq``, and
    between equal ones the later record (see ``Journal.latest``)."""
    for record in records:
        known = newest.get(record["m"])
        if known is None or record["seq"] >= known["seq"]:
            newest[record["m"]] = record["doc"]


def prefix_of(owner: str) -> str:
    """The segments' name prefix of the journal ``owner`` writes (``""``: the
    one journal of an Arena from before nodes)."""
    return f"{PREFIX}{owner}_" if owner else PREFIX


class Journal:
    """The journal this node writes; ``owner`` (the node's id, set by ``open``)
    is in its segments' names, so the nodes sharing a database never write to,
    rotate or drop each other's."""

    def __init__(self, db: AsyncDatabase[Any], *, interval: float = INTERVAL) -> None:
        self.db = db
        self.interval = interval
        self.owner = ""
        self.prefix = PREFIX
        self.segment = 0
        self.queue: list[tuple[bytes, asyncio.Future[None]]] = []
        self.wakeup = asyncio.Event()
        self.writer: asyncio.Task[None] | None = None
        self.in_flight: asyncio.Future[None] | None = None

    async def segments(self, owner: str | None = None) -> list[int]:
        """The numbers of the segments of ``owner``'s journal (this one's by default)."""
        prefix = self.prefix if owner is None else prefix_of(owner)
        names = await self.db.list_collection_names()
        return sorted(int(name[len(prefix):]) for name in names
                      if name.startswith(prefix) and name[len(prefix):].isdigit())

    async def open(self, owner: str = "") -> None:
        """Write as ``owner`` from now on, after its segments so far."""
        self.owner, self.prefix = owner, prefix_of(owner)
        existing = await self.segments()
        self.segment = (existing[-1] + 1) if existing else 1

    def start(self) -> None:
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._write_batches())

    async def append(self, match: Mapping[str, Any]) -> None:
        """Store ``match`` (a whole match document); returns once it is durable.

        The record is encoded now, so later changes to ``match`` cannot leak
        into what is stored.  A checkpoint re-appends a state the journal may
        already hold; finding the same state twice at start-up is harmless.
        """
        self.start()
        assert self.writer is not None
        # the writer's loop is the running one: no ``get_running_loop`` (a
        # ``getpid`` system call on Python 3.11) on every append
        future: asyncio.Future[None] = self.writer.get_loop().create_future()
        self.queue.append((encode_record(match), future))
        self.wakeup.set()
        await future

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            batch = self._take_batch()
            if not batch:
                continue
            if self.queue:
                self.wakeup.set()  # the rest goes in the next batch
            started = loop.time()
            done: asyncio.Future[None] = loop.create_future()
            self.in_flight = done
            try:
                await self.db[self.prefix + str(self.segment)].insert_one(
                    pack([record for record, _ in batch]))
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
            pause = started + self.interval - loop.time()
            if pause > 0:  # what is appended meanwhile goes in the next batch
                await asyncio.sleep(pause)

    def _take_batch(self) -> list[tuple[bytes, asyncio.Future[None]]]:
        size = count = 0
        for record, _ in self.queue:
            if count and size + len(record) > BATCH_BYTES:
                break
            size += len(record)
            count += 1
        batch, self.queue = self.queue[:count], self.queue[count:]
        return batch

    async def rotate(self) -> int:
        """Send new appends to a fresh segment; return the last full one."""
        previous = self.segment
        self.segment += 1
        if self.in_flight is not None:  # a batch may still be writing to ``previous``
            await self.in_flight
        return previous

    async def drop_through(self, segment: int) -> None:
        """Drop this journal's segments up to ``segment``."""
        for number in await self.segments():
            if number <= segment:
                await self.db.drop_collection(self.prefix + str(number))

    async def drop(self, owner: str) -> None:
        """Drop the whole journal of ``owner``, a node that is gone."""
        for number in await self.segments(owner):
            await self.db.drop_collection(prefix_of(owner) + str(number))

    async def latest(self, owner: str | None = None) -> dict[int, dict[str, Any]]:
        """The newest state of every match in ``owner``'s journal (this one's
        by default), by match id.

        The highest ``seq`` wins; between equal ones, the later record.  Equal
        ``seq``s differ when an append failed but was stored all the same (a
        lost reply): the actor kept its previous state, and its next command
        was stored under the same ``seq``; that one is what clients saw.  So
        segments are read in order, and a segment's batches by ``_id`` (the
        ObjectIds one process made for them, in the order it made them).
        """
        prefix = self.prefix if owner is None else prefix_of(owner)
        newest: dict[int, dict[str, Any]] = {}
        for number in await self.segments(owner):
            async for batch in self.db[prefix + str(number)].find({}).sort("_id", 1):
                fold(newest, unpack(batch, self.db.codec_options))
        return newest

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            await asyncio.gather(self.writer, return_exceptions=True)
            self.writer = None
