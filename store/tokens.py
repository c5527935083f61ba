"""The ``tokens`` collection: API tokens, stored only as SHA-256 digests.

A token is never stored in the clear.  The handler derives it from a server
secret, the user's id and the user's token generation, so asking again gives
the same token (even twenty times at once) until it is deleted, which bumps
the generation.  The document, keyed by the digest so a check is one lookup by
``_id``, remembers the generation it was issued for; a token whose generation
is no longer the user's is dead even if a late write put its document back.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.indexes import Index
from store.timestamps import now


class TokenRepository:
    def __init__(self, collection: AsyncCollection[Any]) -> None:
        self.collection = collection

    def indexes(self) -> list[Index]:
        return [Index(self.collection, "user_id")]

    async def issue(self, user_id: str, digest: str, generation: int) -> None:
        """Store the token; asking again for the same one changes nothing.

        An insert, not an upsert: the digest already says which user and
        generation it is for, so a duplicate key means the same token is
        stored (asked for before, or concurrently).
        """
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one({"_id": digest, "user_id": user_id,
                                              "generation": generation, "created": now()})

    async def by_digest(self, digest: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": digest})

    async def revoke(self, digest: str) -> None:
        await self.collection.delete_one({"_id": digest})
