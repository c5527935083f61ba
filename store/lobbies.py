"""The ``lobbies`` collection: private lobbies of a host and up to four invitees.

``{_id: uuid, name, created, host_id, host_slot, active, users: [host, ...]}``.

The limits hold under concurrency without transactions:

- One active lobby per host: ``host_slot`` carries a unique index.  An active
  lobby's slot is its host's id; deleting the lobby moves the slot to
  ``closed:<lobby id>``, freeing the host.  Of two racing creates only one
  insert gets the slot.
- At most five players: an invite is one conditional update, "push the user
  where the lobby is active, has no sixth place taken (``users.4`` absent) and
  does not hold the user yet", so racing invites cannot overfill it and an
  invite racing a delete cannot land in an inactive lobby.

The embedded FerretDB applies such an update atomically too (its build:
``store.embedded``), so this holds between processes sharing the database.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.indexes import Index
from store.locks import KeyedLocks
from store.timestamps import now

MAX_PLAYERS = 5
Lobby = dict[str, Any]


class AlreadyHosting(Exception):
    """The host already has an active lobby."""


class LobbyRepository:
    def __init__(self, collection: AsyncCollection[Any], locks: KeyedLocks) -> None:
        self.collection = collection
        self.locks = locks

    def indexes(self) -> list[Index]:
        return [Index(self.collection, "host_slot", unique=True),
                Index(self.collection, "users"), Index(self.collection, "active")]

    async def create(self, lobby_id: str, name: str, host_id: str, invitees: list[str]) -> Lobby:
        lobby: Lobby = {"_id": lobby_id, "name": name, "created": now(), "host_id": host_id,
                        "host_slot": host_id, "active": True, "users": [host_id, *invitees]}
        try:
            await self.collection.insert_one(lobby)
        except DuplicateKeyError as exc:
            raise AlreadyHosting(host_id) from exc
        return lobby

    async def active(self, lobby_id: str) -> Lobby | None:
        lobby = await self.collection.find_one({"_id": lobby_id})
        return lobby if lobby is not None and lobby["active"] else None

    async def list_active(self, member: str | None = None) -> list[Lobby]:
        query: dict[str, Any] = {"active": True}
        if member is not None:
            query["users"] = member
        return await self.collection.find(query).sort("created", 1).to_list()

    async def close(self, lobby_id: str) -> Lobby | None:
        """Deactivate an active lobby; ``None`` if it was not active."""
        async with self.locks.hold(("lobbies", lobby_id)):
            return await self.collection.find_one_and_update(
                {"_id": lobby_id, "active": True},
                {"$set": {"active": False, "host_slot": f"closed:{lobby_id}"}},
                return_document=ReturnDocument.AFTER,
            )

    async def add_user(self, lobby_id: str, user_id: str) -> Lobby | None:
        """Add a player if the lobby is active, not full and without them; else ``None``."""
        async with self.locks.hold(("lobbies", lobby_id)):
            return await self.collection.find_one_and_update(
                {"_id": lobby_id, "active": True, f"users.{MAX_PLAYERS - 1}": {"$exists": False},
                 "users": {"$ne": user_id}},
                {"$push": {"users": user_id}},
                return_document=ReturnDocument.AFTER,
            )

    async def remove_user(self, lobby_id: str, user_id: str) -> Lobby | None:
        """Remove an invitee from an active lobby that holds them; else ``None``."""
        async with self.locks.hold(("lobbies", lobby_id)):
            return await self.collection.find_one_and_update(
                {"_id": lobby_id, "active": True, "users": user_id,
                 "host_id": {"$ne": user_id}},
                {"$pull": {"users": user_id}},
                return_document=ReturnDocument.AFTER,
            )
