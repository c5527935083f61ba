"""The game library: titles by IGDB id, and each user's flags and ratings.

A *title* is a published video game known by its IGDB id (what a user logs,
likes and rates); the word "game" in the code means a game Arena hosts
(``actors.games``), and a private lobby is a *lobby*.  The REST contract and
the stored documents keep their names (``game``, ``game_id``, the ``games``
collection), which is why they say "game" below.

Collections, shaped so every hot read and write is one lookup by ``_id`` and
every race is settled by the database itself:

- ``games``: ``{_id: "igdb:<n>", id, igdb, name, played, liked, backlog,
  wishlist, ratings, rating_sum}``.  ``id`` is the integer the API shows.  The
  four flag counters and the rating count and sum are maintained with ``$inc``,
  so ``stats`` is one lookup, however many users touched the title.
- ``library_flags``: one document per set flag, ``{_id: "<user>:<flag>:<game
  id>", user_id, flag, game_id, igdb, name}`` (the title's id zero-padded, so the
  ids of one user's flag sort by title: a list page is a range of ids,
  ``store.pages``).  Setting a flag is an insert (a racing second insert is a
  duplicate key), clearing it a delete by ``_id`` (only one racer deletes), so
  a toggle is "delete it, or else insert it", retried until one of the two
  applies: concurrent toggles each flip the flag exactly once.  ``igdb`` and
  ``name`` are copied in so a list needs no join; the counter
  ``flags:<user>:<flag>`` is the list's length.
- ``library_ratings``: ``{_id: "<user>:<igdb>", user_id, game_id, igdb,
  rating}``: one per user and title by construction.

The counter ``$inc`` follows the flag or rating change; a crash exactly
between the two leaves one counter off by one (there are no transactions).

FerretDB 1.24 (the embedded database) answers only ``{_id: <string>}``
filters without scanning, and applies updates read-then-write; hence string
``_id`` keys throughout, and ``store.locks`` around the ``$inc`` updates.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.counters import CounterRepository
from store.indexes import Index
from store.locks import KeyedLocks
from store.pages import Entries, key

FLAGS = ("played", "liked", "backlog", "wishlist")
_RETRIES = 50

Title = dict[str, Any]


def _title_key(igdb: int) -> str:
    return f"igdb:{igdb}"


def flag_key(user_id: str, flag: str, game_id: int) -> str:
    return key(f"{user_id}:{flag}", int(game_id))


def flag_total(user_id: str, flag: str) -> str:
    return f"flags:{user_id}:{flag}"


class TitleRepository:
    def __init__(
        self, collection: AsyncCollection[Any], counters: CounterRepository, locks: KeyedLocks
    ) -> None:
        self.collection = collection
        self.counters = counters
        self.locks = locks

    def indexes(self) -> list[Index]:
        return [Index(self.collection, "id", unique=True)]

    async def by_igdb(self, igdb: int) -> Title | None:
        return await self.collection.find_one({"_id": _title_key(igdb)})

    async def get_or_create(self, igdb: int, name: str | None) -> Title:
        """The title with this IGDB id, created with ``name`` if nobody used it yet."""
        title = await self.by_igdb(igdb)
        if title is not None:
            return title
        new: Title = {"_id": _title_key(igdb), "id": await self.counters.next("games"),
                     "igdb": igdb, "name": name, **dict.fromkeys(FLAGS, 0),
                     "ratings": 0, "rating_sum": 0}
        try:
            await self.collection.insert_one(new)
            return new
        except DuplicateKeyError:  # a concurrent first use created it; its id wins
            title = await self.by_igdb(igdb)
            assert title is not None
            return title

    async def count(self, title: Title, changes: dict[str, int]) -> None:
        async with self.locks.hold(("games", title["_id"])):
            await self.collection.update_one({"_id": title["_id"]}, {"$inc": changes})


class LibraryRepository:
    def __init__(self, flags: AsyncCollection[Any], ratings: AsyncCollection[Any],
                 locks: KeyedLocks, counters: CounterRepository) -> None:
        self.flags = flags
        self.ratings = ratings
        self.locks = locks
        self.counters = counters
        self.entries = Entries(flags)

    def indexes(self) -> list[Index]:
        return []  # every read is by _id or a range of _id

    async def flags_of(self, user_id: str, title: Title | None) -> dict[str, bool]:
        if title is None:
            return dict.fromkeys(FLAGS, False)
        return {flag: await self.flags.find_one({"_id": flag_key(user_id, flag, title["id"])})
                is not None for flag in FLAGS}

    async def set_flag(
        self, user_id: str, title: Title, flag: str, value: bool | None
    ) -> tuple[bool, bool]:
        """Set ``flag`` to ``value`` (toggle when ``None``); return (new value, changed)."""
        now_set, changed = await self._flip(user_id, title, flag, value)
        if changed:
            await self.counters.add(flag_total(user_id, flag), 1 if now_set else -1)
        return now_set, changed

    async def _flip(
        self, user_id: str, title: Title, flag: str, value: bool | None
    ) -> tuple[bool, bool]:
        key = flag_key(user_id, flag, title["id"])
        for _ in range(_RETRIES):
            if value is not True:
                if (await self.flags.delete_one({"_id": key})).deleted_count:
                    return False, True
                if value is False:
                    return False, False  # it was already clear
            try:
                await self.flags.insert_one({
                    "_id": key, "user_id": user_id, "flag": flag, "game_id": title["id"],
                    "igdb": title["igdb"], "name": title["name"],
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

    async def rate(self, user_id: str, title: Title, rating: int) -> int | None:
        """Set the user's rating; return the one it replaced (``None`` if new)."""
        key = f"{user_id}:{title['igdb']}"
        async with self.locks.hold(("ratings", key)):
            before = await self.ratings.find_one_and_update(
                {"_id": key},
                {"$set": {"rating": rating, "user_id": user_id, "game_id": title["id"],
                          "igdb": title["igdb"]}},
                upsert=True, return_document=ReturnDocument.BEFORE,
            )
        return before["rating"] if before else None

    async def page(
        self, user_id: str, flag: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the user's titles with ``flag``, by title id: the page's
        documents and one counter, however many games the user has."""
        entries = await self.entries.page(f"{user_id}:{flag}", limit, offset)
        return entries, await self.counters.value(flag_total(user_id, flag))
