"""Ranked matches: ``ongoing_matches`` (one per live match) and ``completed_matches``.

Both are keyed by ``_id: "<id>"`` (a string, so the embedded FerretDB finds a
match without scanning) and carry the integer ``id`` the API shows; a
completed match keeps its ongoing match's id, so storing it twice is a
duplicate key, never a second result.

An ongoing match document holds a match's state when it was created and,
when it ends or is cancelled, the decision (``phase``, ``result``) that the
exactly-once ending replays after a crash.  Everything in between goes to the
journal (``store.journal``); at start-up the newest of the two is used.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.indexes import Index

Match = dict[str, Any]

# Completed-match orderings the API offers → the stored field.
COMPLETED_ORDERINGS = {
    "id": "id", "winner": "winner", "loser": "loser", "start_timestamp": "start_timestamp",
    "end_timestamp": "completion_timestamp", "completion_timestamp": "completion_timestamp",
    "winner_score": "winner_score", "loser_score": "loser_score",
    "winner_elo_before_match": "winner_elo_before_match",
    "winner_elo_after_match": "winner_elo_after_match",
    "loser_elo_before_match": "loser_elo_before_match",
    "loser_elo_after_match": "loser_elo_after_match",
}


def match_key(match_id: int) -> str:
    return str(match_id)


class MatchRepository:
    def __init__(self, ongoing: AsyncCollection, completed: AsyncCollection) -> None:
        self.ongoing = ongoing
        self.completed = completed

    def indexes(self) -> list[Index]:
        return [Index(self.completed, "id", unique=True)] + [
            Index(self.completed, [(field, ASCENDING), ("id", ASCENDING)])
            for field in ("winner", "loser", "completion_timestamp")
        ]

    # -- ongoing ----------------------------------------------------------------

    async def insert(self, match: Match) -> None:
        await self.ongoing.insert_one(match)

    async def save(self, match: Match) -> None:
        """Replace the stored document with ``match`` (an ending or cancelling decision)."""
        await self.ongoing.replace_one({"_id": match["_id"]}, match)

    async def remove(self, match_id: int) -> None:
        await self.ongoing.delete_one({"_id": match_key(match_id)})

    async def all_ongoing(self) -> list[Match]:
        return await self.ongoing.find({}).to_list()

    # -- completed ----------------------------------------------------------------

    async def store_completed(self, result: Match) -> None:
        """Insert the completed match once; a replay after a crash changes nothing."""
        with contextlib.suppress(DuplicateKeyError):  # stored before the crash
            await self.completed.insert_one({"_id": match_key(result["id"]), **result})

    async def completed_by_id(self, match_id: int) -> Match | None:
        return await self.completed.find_one({"_id": match_key(match_id)})

    async def completed_page(
        self, filters: dict[str, Any], ordering: str, limit: int, offset: int
    ) -> tuple[list[Match], int]:
        query: dict[str, Any] = {}
        if "winner" in filters:
            query["winner"] = filters["winner"]
        if "loser" in filters:
            query["loser"] = filters["loser"]
        if "user" in filters:
            query["$or"] = [{"winner": filters["user"]}, {"loser": filters["user"]}]
        bounds = {}
        if filters.get("after"):
            bounds["$gte"] = filters["after"]
        if filters.get("before"):
            bounds["$lte"] = filters["before"]
        if bounds:
            query["completion_timestamp"] = bounds
        field = COMPLETED_ORDERINGS[ordering.lstrip("-")] if ordering else "id"
        direction = DESCENDING if ordering.startswith("-") else ASCENDING
        total = await self.completed.count_documents(query)
        sort = [(field, direction)] + ([("id", ASCENDING)] if field != "id" else [])
        cursor = self.completed.find(query).sort(sort).skip(offset).limit(limit)
        return await cursor.to_list(), total
