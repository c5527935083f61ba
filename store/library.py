"""The game library: ``games`` (one per IGDB id) and ``library`` (one per user and game).

Shapes, chosen so every read is an index lookup however large the data:

- ``games``: ``{_id: int, igdb, name, played, liked, backlog, wishlist,
  ratings, rating_sum}``: the four flag counters and the rating count and sum
  are maintained with ``$inc`` as entries change, so ``stats`` is one lookup
  by the unique ``igdb`` index, not a count over hundreds of thousands of
  users.
- ``library``: ``{_id: "<user id>:<game id>", user_id, game_id, igdb, name,
  flags: ["liked", ...], rating}``.  The deterministic ``_id`` makes the first
  touch by a user race-free (a concurrent insert is a duplicate key, retried as
  an update).  One multikey index ``(user_id, flags, game_id)`` serves all four
  per-user lists and their counts; ``igdb`` and ``name`` are copied in so a list
  needs no join.

Every change is a conditional single-document update: a toggle is "add the
flag where it is absent" or else "pull it where it is present", each atomic,
retried until one applies, so concurrent toggles each flip the flag once and
none is lost (on FerretDB with the help of ``store.locks``).  The counter
``$inc`` follows the entry update; a crash exactly between the two leaves one
counter off by one (no transactions).
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.counters import CounterRepository
from store.locks import KeyedLocks

FLAGS = ("played", "liked", "backlog", "wishlist")
_RETRIES = 20

Game = dict[str, Any]


class GameRepository:
    def __init__(
        self, collection: AsyncCollection, counters: CounterRepository, locks: KeyedLocks
    ) -> None:
        self.collection = collection
        self.counters = counters
        self.locks = locks

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("igdb", unique=True)

    async def by_igdb(self, igdb: int) -> Game | None:
        return await self.collection.find_one({"igdb": igdb})

    async def get_or_create(self, igdb: int, name: str | None) -> Game:
        """The game with this IGDB id, created with ``name`` if nobody used it yet."""
        game = await self.by_igdb(igdb)
        if game is not None:
            return game
        new: Game = {"_id": await self.counters.next("games"), "igdb": igdb, "name": name,
                     **dict.fromkeys(FLAGS, 0), "ratings": 0, "rating_sum": 0}
        try:
            await self.collection.insert_one(new)
            return new
        except DuplicateKeyError:  # a concurrent first use created it; its id wins
            game = await self.by_igdb(igdb)
            assert game is not None
            return game

    async def count(self, game_id: int, changes: dict[str, int]) -> None:
        async with self.locks.hold(("games", game_id)):
            await self.collection.update_one({"_id": game_id}, {"$inc": changes})


class LibraryRepository:
    def __init__(self, collection: AsyncCollection, locks: KeyedLocks) -> None:
        self.collection = collection
        self.locks = locks

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [("user_id", ASCENDING), ("flags", ASCENDING), ("game_id", ASCENDING)]
        )

    @staticmethod
    def _key(user_id: str, game: Game) -> dict[str, Any]:
        return {"_id": f"{user_id}:{game['_id']}"}

    @staticmethod
    def _new_entry(user_id: str, game: Game) -> dict[str, Any]:
        return {"user_id": user_id, "game_id": game["_id"], "igdb": game["igdb"],
                "name": game["name"]}

    async def entry(self, user_id: str, game: Game) -> dict[str, Any] | None:
        return await self.collection.find_one(self._key(user_id, game))

    async def set_flag(
        self, user_id: str, game: Game, flag: str, value: bool | None
    ) -> tuple[bool, bool]:
        """Set ``flag`` to ``value`` (toggle when ``None``); return (new value, changed)."""
        async with self.locks.hold(("library", user_id, game["_id"])):
            return await self._set_flag(user_id, game, flag, value)

    async def _set_flag(
        self, user_id: str, game: Game, flag: str, value: bool | None
    ) -> tuple[bool, bool]:
        for _ in range(_RETRIES):
            if value is not False and await self._add_flag(user_id, game, flag):
                return True, True
            if value is True:
                return True, False  # it was already set
            if await self._pull_flag(user_id, game, flag):
                return False, True
            if value is False:
                return False, False  # it was already clear
            # toggling, and another request flipped it between our two tries: again
        raise RuntimeError(f"toggle of {flag} kept losing races")

    async def _add_flag(self, user_id: str, game: Game, flag: str) -> bool:
        """Add ``flag`` where absent (creating the entry); False if it was present."""
        try:
            await self.collection.update_one(
                {**self._key(user_id, game), "flags": {"$ne": flag}},
                {"$addToSet": {"flags": flag}, "$setOnInsert": self._new_entry(user_id, game)},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the entry exists and already has the flag
        return True  # matched an entry without the flag, or inserted a new one

    async def _pull_flag(self, user_id: str, game: Game, flag: str) -> bool:
        pulled = await self.collection.find_one_and_update(
            {**self._key(user_id, game), "flags": flag}, {"$pull": {"flags": flag}}
        )
        return pulled is not None

    async def rate(self, user_id: str, game: Game, rating: int) -> int | None:
        """Set the user's rating; return the one it replaced (``None`` if new)."""
        async with self.locks.hold(("library", user_id, game["_id"])):
            return await self._rate(user_id, game, rating)

    async def _rate(self, user_id: str, game: Game, rating: int) -> int | None:
        for _ in range(_RETRIES):
            try:
                before = await self.collection.find_one_and_update(
                    self._key(user_id, game),
                    {"$set": {"rating": rating},
                     "$setOnInsert": {**self._new_entry(user_id, game), "flags": []}},
                    upsert=True, return_document=ReturnDocument.BEFORE,
                )
            except DuplicateKeyError:
                continue  # a concurrent first touch inserted it; now it is an update
            return before.get("rating") if before else None
        raise RuntimeError("rating kept losing races")

    async def page(
        self, user_id: str, flag: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        query = {"user_id": user_id, "flags": flag}
        total = await self.collection.count_documents(query)
        cursor = (self.collection.find(query, {"game_id": 1, "igdb": 1, "name": 1})
                  .sort("game_id", ASCENDING)
                  .skip(offset).limit(limit))
        return await cursor.to_list(), total
