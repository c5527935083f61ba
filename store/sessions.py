"""The ``sessions`` collection: cookie logins, keyed by the SHA-256 of the cookie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from store.indexes import Index
from store.timestamps import format_timestamp


class SessionRepository:
    def __init__(self, collection: AsyncCollection[Any]) -> None:
        self.collection = collection

    def indexes(self) -> list[Index]:
        return [Index(self.collection, "user_id"), Index(self.collection, "expires")]

    async def create(self, digest: str, user_id: str, csrf: str, lifetime: timedelta) -> None:
        expires = format_timestamp(datetime.now(UTC) + lifetime)
        await self.collection.insert_one(
            {"_id": digest, "user_id": user_id, "csrf": csrf, "expires": expires}
        )

    async def live(self, digest: str) -> dict[str, Any] | None:
        """The session with this digest, unless it has expired."""
        return await self.collection.find_one(
            {"_id": digest, "expires": {"$gt": format_timestamp(datetime.now(UTC))}}
        )

    async def revoke(self, digest: str) -> None:
        await self.collection.delete_one({"_id": digest})
