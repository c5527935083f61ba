"""The ``tokens`` collection: one API token per user, stored as a SHA-256 digest.

A token is never stored in the clear.  The handler derives it from a server
secret, the user's id and the user's token generation, so asking again gives
the same token (even twenty times at once) until it is deleted, which bumps
the generation.  The document remembers the generation it was issued for; a
token whose generation is no longer the user's is dead even if a late write
put its document back.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.timestamps import now


class TokenRepository:
    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("digest", unique=True)

    async def issue(self, user_id: str, digest: str, generation: int) -> None:
        update = {
            "$set": {"digest": digest, "generation": generation},
            "$setOnInsert": {"created": now()},
        }
        for _ in range(3):
            try:
                await self.collection.update_one({"_id": user_id}, update, upsert=True)
                return
            except DuplicateKeyError:
                continue  # a concurrent upsert inserted first; now it is an update
        await self.collection.update_one({"_id": user_id}, update, upsert=True)

    async def by_digest(self, digest: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"digest": digest})

    async def revoke(self, user_id: str) -> None:
        await self.collection.delete_one({"_id": user_id})
