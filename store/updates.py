"""Conditional writes on one document found by ``_id``.

"Change this document if its fields still hold these values" is one update
with the values in the filter: atomic on MongoDB, and on the embedded
FerretDB, whose build applies each update and delete whole before the next
(``store.embedded``), so it holds between processes sharing the database.
That build also finds the document through the ``_id`` index when the filter
names an ``_id`` beside other conditions, so the write costs one document,
not the collection.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection


async def set_if(collection: AsyncCollection[Any], key: Any, expected: dict[str, Any],
                 changes: dict[str, Any]) -> bool:
    """``$set`` ``changes`` on the document ``_id: key`` if its fields equal
    ``expected``; whether it did."""
    result = await collection.update_one({"_id": key, **expected}, {"$set": changes})
    return result.matched_count == 1


async def delete_if(collection: AsyncCollection[Any], key: Any, expected: dict[str, Any]) -> bool:
    """Delete the document ``_id: key`` if its fields equal ``expected``; whether it did."""
    result = await collection.delete_one({"_id": key, **expected})
    return result.deleted_count == 1
