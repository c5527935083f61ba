"""Per-key locks: writes to one document from one process, one at a time.

They keep no invariant: every write whose correctness matters is a single
atomic one (an insert into a unique index, a conditional update, an ``$inc``),
settled by the database for every process that shares it, MongoDB and the
embedded FerretDB alike (its build applies each update, findAndModify and
delete whole: ``store.embedded``; ``tests/e2e/test_database_races.py`` races
processes on it).  What they still do is queue this process's writes to one
hot document (a counter, a popular lobby) here, instead of sending them all
to wait for each other in the database.
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
