"""Lists whose pages are found by ``_id``: entries whose ids sort as the list does.

A list that a page is read from (the leaderboard, a player's completed
matches, a user's library) keeps one *entry* per item in an entries
collection, ``{_id: "<list>:<sort key>", ...}``, where ``<list>`` names the
list and the sort key is written so that comparing the ids as strings (UTF-8
bytes, MongoDB's order) is comparing the items in the list's order: numbers
zero-padded to a fixed width, timestamps in their fixed-width ISO form,
fields joined by ``:`` (which no name, id or number contains).

A page is then a range of string ids, sorted by ``_id``, skipped and
limited: MongoDB answers it from the ``_id`` index, and so does the embedded
FerretDB (its build adds exactly that, ``store.embedded``), so a page costs
``offset + limit`` entries whatever the size of the collection.  A list's
length is a counter (``store.counters``), kept beside the entries, because
counting a range would cost the range.

Entries are written beside what they list (a user's just before the user,
so that a crash between the two leaves an entry a reader skips; a completed
match's and an elo move's just after) and every write is idempotent (an insert that
finds its entry is a no-op, a delete that finds none too), so a step replayed
after a crash converges; a reader skips an entry whose item is gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

#: Integers in keys: offset so negatives sort first, zero-padded to this width.
NUMBER_OFFSET = 10**12
NUMBER_WIDTH = 13
DUPLICATE_KEY = 11000


def number(value: int) -> str:
    """``value`` as a key part that sorts as the number does (|value| < 10^12)."""
    clamped = max(-NUMBER_OFFSET + 1, min(NUMBER_OFFSET - 1, int(value)))
    return f"{clamped + NUMBER_OFFSET:0{NUMBER_WIDTH}d}"


def key(*parts: Any) -> str:
    return ":".join(number(p) if isinstance(p, int) else str(p) for p in parts)


def bounds(list_name: str, low: str = "", high: str = "") -> dict[str, str]:
    """The ``_id`` range of a list's entries whose keys lie in ``[low, high]``
    (key parts after the list name; ``high`` takes in every key it starts,
    since ``;`` comes right after the ``:`` that separates parts)."""
    return {"$gte": f"{list_name}:{low}",
            "$lt": f"{list_name}:{high};" if high else f"{list_name};"}


class Entries:
    """One entries collection; ``list`` names are prefixes of the ids."""

    def __init__(self, collection: AsyncCollection[Any]) -> None:
        self.collection = collection

    async def add(self, entries: Iterable[dict[str, Any]]) -> set[str]:
        """Insert entries (each with its ``_id``); those already there stay.
        Returns the ids that were new."""
        batch = list(entries)
        if not batch:
            return set()
        try:
            await self.collection.insert_many(batch, ordered=False)
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            taken = {batch[e["index"]]["_id"] for e in errors}
            return {entry["_id"] for entry in batch} - taken
        return {entry["_id"] for entry in batch}

    async def remove(self, ids: Iterable[str]) -> None:
        for entry_id in ids:
            await self.collection.delete_one({"_id": entry_id})

    async def page(self, list_name: str, limit: int, offset: int, *,
                   descending: bool = False, low: str = "", high: str = "") -> list[dict[str, Any]]:
        """A page of list ``list_name``, optionally within ``[low, high]``
        (``bounds``)."""
        cursor = (self.collection.find({"_id": bounds(list_name, low, high)})
                  .sort("_id", DESCENDING if descending else ASCENDING)
                  .skip(offset).limit(limit))
        return await cursor.to_list()

    @staticmethod
    async def resolve(collection: AsyncCollection[Any], ids: list[str]) -> list[dict[str, Any]]:
        """The documents of ``collection`` with these ids, in this order (one
        query; those gone are left out)."""
        if not ids:
            return []
        found = {doc["_id"]: doc async for doc in collection.find({"_id": {"$in": ids}})}
        return [found[i] for i in ids if i in found]

    async def count(self, list_name: str, *, low: str = "", high: str = "") -> int:
        """The entries of a list within bounds: costs the entries counted."""
        return await self.collection.count_documents({"_id": bounds(list_name, low, high)})
