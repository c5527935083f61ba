"""The game library: games by IGDB id, and each user's flags and ratings.

Collections, shaped so every hot read and write is one lookup by ``_id`` and
every race is settled by the database itself:

- ``games``: ``{_id: "igdb:<n>", id, igdb, name, played, liked, backlog,
  wishlist, ratings, rating_sum}``.  ``id`` is the integer the API shows.  The
  four flag counters and the rating count and sum are maintained with ``$inc``,
  so ``stats`` is one lookup, however many users touched the game.
- ``library_flags``: one document per set flag, ``{_id: "<user>:<igdb>:<flag>",
  user_id, flag, game_id, igdb, name}``.  Setting a flag is an insert (a racing
  second insert is a duplicate key), clearing it a delete by ``_id`` (only one
  racer deletes), so a toggle is "delete it, or else insert it", retried until
  one of the two applies: concurrent toggles each flip the flag exactly once.
  The index ``(user_id, flag, game_id)`` serves the per-user lists and counts;
  ``igdb`` and ``name`` are copied in so a list needs no join.
- ``library_ratings``: ``{_id: "<user>:<igdb>", user_id, game_id, igdb,
  rating}``: one per user and game by construction.

The counter ``$inc`` follows the flag or rating change; a crash exactly
between the two leaves one counter off by one (there are no transactions).

FerretDB 1.24 (the embedded database) answers only ``{_id: <string>}``
filters without scanning, and applies updates read-then-write; hence string
``_id`` keys throughout, and ``store.locks`` around the ``$inc`` updates.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.counters import CounterRepository
from store.indexes import Index
from store.locks import KeyedLocks

FLAGS = ("played", "liked", "backlog", "wishlist")
_RETRIES = 50

Game = dict[str, Any]


def _game_key(igdb: int) -> str:
    return f"igdb:{igdb}"


class GameRepository:
    def __init__(
        self, collection: AsyncCollection, counters: CounterRepository, locks: KeyedLocks
    ) -> None:
        self.collection = collection
        self.counters = counters
        self.locks = locks

    def indexes(self) -> list[Index]:
        return [Index(self.collection, "id", unique=True)]

    async def by_igdb(self, igdb: int) -> Game | None:
        return await self.collection.find_one({"_id": _game_key(igdb)})

    async def get_or_create(self, igdb: int, name: str | None) -> Game:
        """The game with this IGDB id, created with ``name`` if nobody used it yet."""
        game = await self.by_igdb(igdb)
        if game is not None:
            return game
        new: Game = {"_id": _game_key(igdb), "id": await self.counters.next("games"),
                     "igdb": igdb, "name": name, **dict.fromkeys(FLAGS, 0),
                     "ratings": 0, "rating_sum": 0}
        try:
            await self.collection.insert_one(new)
            return new
        except DuplicateKeyError:  # a concurrent first use created it; its id wins
            game = await self.by_igdb(igdb)
            assert game is not None
            return game

    async def count(self, game: Game, changes: dict[str, int]) -> None:
        async with self.locks.hold(("games", game["_id"])):
            await self.collection.update_one({"_id": game["_id"]}, {"$inc": changes})


class LibraryRepository:
    def __init__(self, flags: AsyncCollection, ratings: AsyncCollection,
                 locks: KeyedLocks) -> None:
        self.flags = flags
        self.ratings = ratings
        self.locks = locks

    def indexes(self) -> list[Index]:
        return [Index(self.flags,
                      [("user_id", ASCENDING), ("flag", ASCENDING), ("game_id", ASCENDING)])]

    async def flags_of(self, user_id: str, igdb: int) -> dict[str, bool]:
        return {flag: await self.flags.find_one({"_id": f"{user_id}:{igdb}:{flag}"}) is not None
                for flag in FLAGS}

    async def set_flag(
        self, user_id: str, game: Game, flag: str, value: bool | None
    ) -> tuple[bool, bool]:
        """Set ``flag`` to ``value`` (toggle when ``None``); return (new value, changed)."""
        key = f"{user_id}:{game['igdb']}:{flag}"
        for _ in range(_RETRIES):
            if value is not True:
                if (await self.flags.delete_one({"_id": key})).deleted_count:
                    return False, True
                if value is False:
                    return False, False  # it was already clear
            try:
                await self.flags.insert_one({
                    "_id": key, "user_id": user_id, "flag": flag, "game_id": game["id"],
                    "igdb": game["igdb"], "name": game["name"],
                })
                return True, True
            except DuplicateKeyError:
                if value is True:
                    return True, False  # it was already set
                # toggling, and a racing request set it first: clear it on the next turn
        raise RuntimeError(f"toggle of {flag} kept losing races")

    async def rating_of(self, user_id: str, igdb: int) -> int | None:
        found = await self.ratings.find_one({"_id": f"{user_id}:{igdb}"})
        return found["rating"] if found else None

    async def rate(self, user_id: str, game: Game, rating: int) -> int | None:
        """Set the user's rating; return the one it replaced (``None`` if new)."""
        key = f"{user_id}:{game['igdb']}"
        async with self.locks.hold(("ratings", key)):
            before = await self.ratings.find_one_and_update(
                {"_id": key},
                {"$set": {"rating": rating, "user_id": user_id, "game_id": game["id"],
                          "igdb": game["igdb"]}},
                upsert=True, return_document=ReturnDocument.BEFORE,
            )
        return before["rating"] if before else None

    async def page(
        self, user_id: str, flag: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        query = {"user_id": user_id, "flag": flag}
        total = await self.flags.count_documents(query)
        cursor = self.flags.find(query).sort("game_id", ASCENDING).skip(offset).limit(limit)
        return await cursor.to_list(), total
