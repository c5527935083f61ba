"""Conditional writes on one document found by ``_id``.

Against MongoDB, "change this document if its fields still hold these
values" is one update with the values in the filter, atomic on the server.
The embedded FerretDB finds a document through an index only for a filter
that is exactly ``{_id: ...}`` and scans the collection for any other
(``store.indexes``), so there, where this process is the only writer and the
caller holds the key's lock (``store.locks``), the same write is a read by
``_id`` and a write by ``_id``.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection


def _holds(doc: dict[str, Any] | None, expected: dict[str, Any]) -> bool:
    return doc is not None and all(doc.get(name) == value for name, value in expected.items())


async def set_if(collection: AsyncCollection, key: Any, expected: dict[str, Any],
                 changes: dict[str, Any], *, exclusive: bool) -> bool:
    """``$set`` ``changes`` on the document ``_id: key`` if its fields equal
    ``expected``; whether it did.  The caller holds the key's lock."""
    if not exclusive:
        result = await collection.update_one({"_id": key, **expected}, {"$set": changes})
        return result.matched_count == 1
    if not _holds(await collection.find_one({"_id": key}, list(expected) or None), expected):
        return False
    await collection.update_one({"_id": key}, {"$set": changes})
    return True


async def delete_if(collection: AsyncCollection, key: Any, expected: dict[str, Any], *,
                    exclusive: bool) -> bool:
    """Delete the document ``_id: key`` if its fields equal ``expected``;
    whether it did.  The caller holds the key's lock."""
    if not exclusive:
        result = await collection.delete_one({"_id": key, **expected})
        return result.deleted_count == 1
    if not _holds(await collection.find_one({"_id": key}, list(expected) or None), expected):
        return False
    result = await collection.delete_one({"_id": key})
    return result.deleted_count == 1
