"""Per-key locks that make a conditional update atomic within this process.

MongoDB applies a single-document update atomically: ``{_id, flag: absent}``
→ ``$addToSet`` can succeed for only one of two racing requests.  FerretDB
1.24's SQLite backend does not: it reads the matching documents, computes the
update in Go and writes the result back, with nothing in between to stop a
second request doing the same, so concurrent ``$inc`` on one document lose
increments.  Inserts into a unique index stay atomic there.

The embedded database belongs to exactly one server process (the data
directory is locked), so serializing the writes that contend for one document
inside that process restores the guarantee.  Against MongoDB, where several
processes may share the data, the conditional updates stay the guarantee and
these locks only save a few wasted retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLocks:
    """One ``asyncio.Lock`` per key, created on demand and dropped when idle."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
