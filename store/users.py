"""The ``users`` collection: accounts, elo and the match a user is in."""

from __future__ import annotations

import uuid
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.timestamps import now

User = dict[str, Any]

DEFAULT_ELO = 1000

# Sort keys for the orderings the API offers; ties fall back to sign-up order.
USER_ORDERINGS: dict[str, list[tuple[str, int]]] = {
    "elo": [("elo", ASCENDING), ("date_joined", ASCENDING)],
    "-elo": [("elo", DESCENDING), ("date_joined", ASCENDING)],
    "username": [("username", ASCENDING)],
    "-username": [("username", DESCENDING)],
    "": [("date_joined", ASCENDING), ("_id", ASCENDING)],
}


class UsernameTaken(Exception):
    """Another user already has this username, in any letter case."""


class UserRepository:
    def __init__(self, collection: AsyncCollection) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        # Case-insensitive uniqueness: a unique index on a lower-cased copy.
        await self.collection.create_index("username_lower", unique=True)
        await self.collection.create_index("username")
        await self.collection.create_index([("elo", ASCENDING), ("date_joined", ASCENDING)])
        await self.collection.create_index("date_joined")

    async def create(
        self, *, username: str, password_hash: bytes, email: str, first_name: str, last_name: str
    ) -> User:
        user: User = {
            "_id": str(uuid.uuid4()),
            "username": username,
            "username_lower": username.lower(),
            "password_hash": password_hash,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "date_joined": now(),
            "elo": DEFAULT_ELO,
            "ongoing_match": None,
            "role": None,
            "is_admin": False,
            "token_generation": 0,
        }
        try:
            await self.collection.insert_one(user)
        except DuplicateKeyError as exc:
            raise UsernameTaken(username) from exc
        return user

    async def by_id(self, user_id: str) -> User | None:
        return await self.collection.find_one({"_id": user_id})

    async def by_username(self, username: str) -> User | None:
        return await self.collection.find_one({"username": username})

    async def username_exists(self, username: str) -> bool:
        found = await self.collection.find_one({"username_lower": username.lower()}, {"_id": 1})
        return found is not None

    async def page(self, ordering: str, limit: int, offset: int) -> tuple[list[User], int]:
        total = await self.collection.count_documents({})
        cursor = self.collection.find({}).sort(USER_ORDERINGS[ordering]).skip(offset).limit(limit)
        return await cursor.to_list(), total

    async def set_admin(self, username: str, is_admin: bool) -> User | None:
        return await self.collection.find_one_and_update(
            {"username": username},
            {"$set": {"is_admin": is_admin}},
            return_document=ReturnDocument.AFTER,
        )

    async def next_token_generation(self, user_id: str) -> None:
        """Invalidate every token derived from the user's current generation."""
        await self.collection.update_one({"_id": user_id}, {"$inc": {"token_generation": 1}})
