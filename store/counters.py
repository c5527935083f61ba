"""The ``counters`` collection: integer id sequences (games, matches) and list lengths."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from store.indexes import Index
from store.locks import KeyedLocks


class CounterRepository:
    def __init__(self, collection: AsyncCollection[Any], locks: KeyedLocks) -> None:
        self.collection = collection
        self.locks = locks

    def indexes(self) -> list[Index]:
        return []  # keyed by _id

    async def next(self, name: str) -> int:
        """The next integer of sequence ``name`` (1, 2, 3…); atomic, never reused."""
        async with self.locks.hold(("counters", name)):
            counter = await self.collection.find_one_and_update(
                {"_id": name}, {"$inc": {"value": 1}}, upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        assert counter is not None  # upserted
        return int(counter["value"])

    async def add(self, name: str, delta: int) -> None:
        """Move counter ``name`` by ``delta`` (a list's length, ``store.pages``)."""
        if delta:
            async with self.locks.hold(("counters", name)):
                await self.collection.update_one({"_id": name}, {"$inc": {"value": delta}},
                                                 upsert=True)

    async def value(self, name: str) -> int:
        counter = await self.collection.find_one({"_id": name})
        return int(counter["value"]) if counter else 0
