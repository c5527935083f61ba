"""The ``users`` collection: accounts, elo and the match a user is in."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.counters import CounterRepository
from store.indexes import Index
from store.locks import KeyedLocks
from store.pages import Entries, key
from store.timestamps import format_timestamp, now
from store.updates import delete_if, set_if

User = dict[str, Any]

DEFAULT_ELO = 1000
#: Longer than any sign-up takes from claiming its name to storing its user
#: (the password hash in between); a claim that old without a user is a crash's.
CLAIM_TIMEOUT = timedelta(minutes=10)

# The orderings the API offers: the entries list each is read from, and in
# which direction.  Ties fall back to sign-up order.
USER_ORDERINGS: dict[str, tuple[str, bool]] = {
    "elo": ("elo", False),  # elo, then date joined
    "-elo": ("elo_desc", False),  # elo descending, then date joined
    "username": ("name", False),
    "-username": ("name", True),
    "": ("joined", False),  # date joined, then id
}
TOTAL = "users"  # the counter of all users


def user_entries(user: User) -> list[dict[str, Any]]:
    """The user's entry in each ordered list (``store.pages``)."""
    user_id, joined = user["_id"], user["date_joined"]
    return [{"_id": key(*parts), "user_id": user_id} for parts in (
        ("elo", int(user["elo"]), joined, user_id),
        ("elo_desc", -int(user["elo"]), joined, user_id),
        ("name", user["username"]),
        ("joined", joined, user_id),
    )]


def elo_entry_ids(user: User, elo: int) -> list[str]:
    return [key("elo", elo, user["date_joined"], user["_id"]),
            key("elo_desc", -elo, user["date_joined"], user["_id"])]


def stale_before() -> str:
    """Claims made before this moment whose user is missing were left by a crash."""
    return format_timestamp(datetime.now(UTC) - CLAIM_TIMEOUT)


class UsernameTaken(Exception):
    """Another user already has this username, in any letter case."""


class UserRepository:
    """Users, and ``usernames``: their lower-cased names, keyed by ``_id``.

    The ``usernames`` documents (``{_id: "<lower-cased name>", user_id, at}``)
    make a lookup by name one read by ``_id``, which FerretDB answers without
    walking the collection, and claim the name at sign-up, before the password
    is hashed (a second claim is a duplicate key).  The unique ``username_lower``
    index on ``users`` stays the last guard.  Every change of a user that a
    race could break is one conditional write, settled by the database.

    The list of users is read from ``user_entries`` (``store.pages``): one
    entry per user in each ordering, moved when the elo changes, and the
    ``users`` counter.
    """

    def __init__(self, collection: AsyncCollection[Any], names: AsyncCollection[Any],
                 claims: AsyncCollection[Any], locks: KeyedLocks, entries: Entries,
                 counters: CounterRepository) -> None:
        self.collection = collection
        self.names = names
        self.claims = claims
        self.locks = locks
        self.entries = entries
        self.counters = counters

    def indexes(self) -> list[Index]:
        users = self.collection
        return [
            # Case-insensitive uniqueness: a unique index on a lower-cased copy.
            Index(users, "username_lower", unique=True),
            Index(users, "ongoing_match"),
        ]

    @contextlib.asynccontextmanager
    async def reserve(self, username: str) -> AsyncIterator[str]:
        """Claim ``username`` for a new user; yield the user's id.

        A taken name raises ``UsernameTaken`` before the block runs, so no
        password is hashed for it; the claim is let go if the block raises
        (the user was not stored).  Claiming first is also what makes a
        sign-up one read cheaper: the claim is the check.
        """
        user_id = str(uuid.uuid4())
        lower = username.lower()
        await self._claim_name(lower, user_id)
        try:
            yield user_id
        except BaseException:
            await self.names.delete_one({"_id": lower, "user_id": user_id})
            raise

    async def create(
        self, user_id: str, *, username: str, password_hash: bytes, email: str, first_name: str,
        last_name: str,
    ) -> User:
        """Store a new user under the id ``reserve`` gave for ``username``."""
        user: User = {
            "_id": user_id,
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
        await self.entries.add(user_entries(user))  # before: a reader skips a missing user
        try:
            await self.collection.insert_one(user)
        except DuplicateKeyError as exc:
            await self.entries.remove(entry["_id"] for entry in user_entries(user))
            raise UsernameTaken(username) from exc
        await self.counters.add(TOTAL, 1)
        return user

    async def _claim_name(self, lower: str, user_id: str) -> None:
        for _ in range(2):
            try:
                await self.names.insert_one({"_id": lower, "user_id": user_id, "at": now()})
                return
            except DuplicateKeyError:
                holder = await self.names.find_one({"_id": lower})
                if holder is None:
                    continue  # released meanwhile
                if holder.get("at", "") > stale_before() or await self.by_id(holder["user_id"]):
                    break  # a user's name, or a sign-up still hashing its password
                # a claim whose user was never stored: a crash between the two
                await self.names.delete_one({"_id": lower, "user_id": holder["user_id"]})
        raise UsernameTaken(lower)

    async def by_id(self, user_id: str) -> User | None:
        return await self.collection.find_one({"_id": user_id})

    async def _by_name(self, username: str) -> User | None:
        """The user whose name equals ``username`` in any letter case."""
        name = await self.names.find_one({"_id": username.lower()})
        return await self.by_id(name["user_id"]) if name is not None else None

    async def by_username(self, username: str) -> User | None:
        user = await self._by_name(username)
        return user if user is not None and user["username"] == username else None

    async def page(self, ordering: str, limit: int, offset: int) -> tuple[list[User], int]:
        """A page of users in one of ``USER_ORDERINGS``, and how many there are:
        ``limit`` entries and as many lookups by ``_id``, however many users."""
        list_name, descending = USER_ORDERINGS[ordering]
        entries = await self.entries.page(list_name, limit, offset, descending=descending)
        users = await Entries.resolve(self.collection, [e["user_id"] for e in entries])
        return users, await self.counters.value(TOTAL)

    async def by_ids(self, user_ids: list[str]) -> dict[str, User]:
        return {user_id: user for user_id in user_ids
                if (user := await self.by_id(user_id)) is not None}

    async def set_admin(self, username: str, is_admin: bool) -> User | None:
        user = await self.by_username(username)
        if user is None:
            return None
        async with self.locks.hold(("users", user["_id"])):
            return await self.collection.find_one_and_update(
                {"_id": user["_id"]}, {"$set": {"is_admin": is_admin}},
                return_document=ReturnDocument.AFTER,
            )

    async def next_token_generation(self, user_id: str) -> None:
        """Invalidate every token derived from the user's current generation."""
        async with self.locks.hold(("users", user_id)):
            await self.collection.update_one({"_id": user_id}, {"$inc": {"token_generation": 1}})

    # -- membership of a match: a user is in at most one ------------------------

    async def claim(self, user_id: str, match_id: int, role: str) -> bool:
        """Put the user in the match if they are in none; False if they are in one."""
        async with self.locks.hold(("users", user_id)):
            try:
                await self.claims.insert_one({"_id": user_id, "match": match_id,
                                              "at": time.time()})
            except DuplicateKeyError:
                return False
            await self.collection.update_one(
                {"_id": user_id}, {"$set": {"ongoing_match": match_id, "role": role}}
            )
        return True

    async def release(self, user_id: str, match_id: int) -> None:
        """Take the user out of ``match_id`` (and of no other match)."""
        async with self.locks.hold(("users", user_id)):
            await self._set_if_in(user_id, match_id, {"ongoing_match": None, "role": None})
            await self._drop_claim(user_id, match_id)

    async def _set_if_in(self, user_id: str, match_id: int, changes: dict[str, Any]) -> None:
        """``$set`` ``changes`` on the user if (and only if) they are in ``match_id``."""
        await set_if(self.collection, user_id, {"ongoing_match": match_id}, changes)

    async def _drop_claim(self, user_id: str, match_id: int) -> None:
        """Delete the user's claim if it is on ``match_id`` (a claim on another
        match, made meanwhile by any process, stays)."""
        await delete_if(self.claims, user_id, {"match": match_id})

    async def restore_claim(self, user_id: str, match_id: int) -> None:
        """Make sure a user who is in a live match holds its claim (after a crash)."""
        with contextlib.suppress(DuplicateKeyError):
            await self.claims.insert_one({"_id": user_id, "match": match_id})

    async def drop_claim(self, user_id: str, match_id: int) -> None:
        async with self.locks.hold(("users", user_id)):
            await self._drop_claim(user_id, match_id)

    async def all_claims(self) -> list[dict[str, Any]]:
        return await self.claims.find({}).to_list()

    async def finish_match(self, user_id: str, match_id: int, elo: int, elo_before: int) -> None:
        """Set the elo a match left and release the user, once; move the user's
        entries in the elo orderings from ``elo_before`` to ``elo``.

        Guarded by ``ongoing_match``: a replay after a crash finds the user
        released and changes nothing; the elo is an absolute value computed
        from the ratings before the match, so it is never applied twice.  The
        entries move is idempotent and runs on a replay too.
        """
        async with self.locks.hold(("users", user_id)):
            await self._set_if_in(user_id, match_id,
                                  {"elo": elo, "ongoing_match": None, "role": None})
            await self._drop_claim(user_id, match_id)
        if elo == elo_before:
            return
        user = await self.by_id(user_id)
        if user is not None:
            await self.entries.add({"_id": entry_id, "user_id": user_id}
                                   for entry_id in elo_entry_ids(user, elo))
            await self.entries.remove(elo_entry_ids(user, elo_before))

    async def in_matches(self) -> list[User]:
        """Every user who is in some match."""
        return await self.collection.find({"ongoing_match": {"$ne": None}}).to_list()
