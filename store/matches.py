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
import uuid
from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from store.counters import CounterRepository
from store.indexes import Index
from store.pages import Entries, key

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


#: Orderings a page of completed matches is read from entries for
#: (``store.pages``): by id, or by completion time (optionally bounded).
ID_ORDERINGS = ("", "id", "-id")
TIME_ORDERINGS = ("completion_timestamp", "-completion_timestamp", "end_timestamp",
                  "-end_timestamp")


def match_key(match_id: int) -> str:
    return str(match_id)


def players_of(result: Mapping[str, Any]) -> list[str]:
    """The usernames of a completed match's players, best place first."""
    standings = result.get("standings")
    if standings:
        return [entry["username"] for entry in standings]
    return [result["winner"], result["loser"]]  # stored before standings


def families(result: Mapping[str, Any]) -> list[str]:
    """The lists a completed match is in: all of them, its winner's and its
    loser's (when the first or the last place is not shared), and each
    player's."""
    return ["all", *([f"w:{result['winner']}"] if result.get("winner") else []),
            *([f"l:{result['loser']}"] if result.get("loser") else []),
            *(f"u:{name}" for name in players_of(result))]


def completed_entries(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    match_id, done = int(result["id"]), result["completion_timestamp"]
    return [entry for family in families(result) for entry in (
        {"_id": key(family, "i", match_id), "match": match_key(match_id)},
        {"_id": key(family, "t", done, match_id), "match": match_key(match_id)},
    )]


class MatchRepository:
    """Ongoing and completed matches; pages of completed ones from
    ``completed_entries`` (by id and by completion time, in all matches and
    in each player's, as winner, as loser and either) with a counter per
    list, so a page by player costs the page."""

    def __init__(self, ongoing: AsyncCollection[Any], completed: AsyncCollection[Any],
                 entries: Entries, counters: CounterRepository) -> None:
        self.ongoing = ongoing
        self.completed = completed
        self.entries = entries
        self.counters = counters

    def indexes(self) -> list[Index]:
        return [Index(self.completed, "id", unique=True)] + [
            Index(self.completed, [(field, ASCENDING), ("id", ASCENDING)])
            for field in ("winner", "loser", "completion_timestamp")
        ]

    # -- ongoing ----------------------------------------------------------------

    async def insert(self, match: Mapping[str, Any]) -> None:
        await self.ongoing.insert_one(match)

    async def save(self, match: Mapping[str, Any]) -> bool:
        """Replace the stored document with ``match`` (an ending or cancelling
        decision) if ``match``'s owner still holds it; whether it did."""
        result = await self.ongoing.replace_one(
            {"_id": match["_id"], "owner": match.get("owner")}, match)
        return result.matched_count == 1

    async def take(self, match: Mapping[str, Any], held: Mapping[str, Any]) -> str | None:
        """Store ``match`` (the newest state known, under its new owner, with a
        new ``tenure``) in place of ``held``, the document as it was read;
        its new tenure, or ``None`` if it changed hands since (another node took it first, or its
        owner restarted and took it back).  The ``tenure`` is what tells two
        holdings by one owner apart."""
        tenure = uuid.uuid4().hex
        result = await self.ongoing.replace_one(
            {"_id": match["_id"], "owner": held.get("owner"), "tenure": held.get("tenure")},
            {**match, "tenure": tenure})
        return tenure if result.matched_count == 1 else None

    async def ongoing_match(self, match_id: int) -> Match | None:
        return await self.ongoing.find_one({"_id": match_key(match_id)})

    async def game_of(self, match_id: int) -> str | None:
        """The game of the ongoing match (``None``: no such match)."""
        match = await self.ongoing.find_one({"_id": match_key(match_id)}, {"game": 1})
        return match.get("game") if match else None

    async def holding(self, match_id: int) -> tuple[str, str] | None:
        """Who holds the ongoing match, and which holding of it this is:
        ``(owner, tenure)``, ``""`` for none; ``None``: no such match."""
        match = await self.ongoing.find_one({"_id": match_key(match_id)},
                                            {"owner": 1, "tenure": 1})
        return (match.get("owner") or "", match.get("tenure") or "") if match else None

    async def owned_by(self, owner: str) -> list[Match]:
        """The ongoing matches ``owner`` holds (``""``: those from before nodes,
        which name no owner)."""
        return await self.ongoing.find({"owner": owner or None}).to_list()

    async def remove(self, match_id: int) -> None:
        await self.ongoing.delete_one({"_id": match_key(match_id)})

    async def all_ongoing(self) -> list[Match]:
        return await self.ongoing.find({}).to_list()

    # -- completed ----------------------------------------------------------------

    async def store_completed(self, result: Mapping[str, Any]) -> None:
        """Insert the completed match and its entries once; a replay after a
        crash adds what is missing and counts only what it added."""
        with contextlib.suppress(DuplicateKeyError):  # stored before the crash
            await self.completed.insert_one({"_id": match_key(result["id"]), **result})
        added = await self.entries.add(completed_entries(result))
        for family in families(result):
            if key(family, "i", int(result["id"])) in added:
                await self.counters.add(f"completed:{family}", 1)

    async def completed_by_id(self, match_id: int) -> Match | None:
        return await self.completed.find_one({"_id": match_key(match_id)})

    async def completed_page(
        self, filters: dict[str, Any], ordering: str, limit: int, offset: int
    ) -> tuple[list[Match], int]:
        """A page of completed matches and the total before paging.

        With at most one player filter, by id or by completion time (bounded
        or not), the page is read from entries: it costs the page.  Other
        orderings (by names, scores, elos, start time) and several player
        filters at once are answered by a query over the collection.
        """
        players = [(name, filters[name]) for name in ("winner", "loser", "user")
                   if name in filters]
        after, before = filters.get("after"), filters.get("before")
        if len(players) <= 1 and (ordering in TIME_ORDERINGS
                                  or (ordering in ID_ORDERINGS and not (after or before))):
            family = f"{players[0][0][0]}:{players[0][1]}" if players else "all"
            by_time = ordering in TIME_ORDERINGS
            list_name = f"{family}:{'t' if by_time else 'i'}"
            descending = ordering.startswith("-")
            entries = await self.entries.page(list_name, limit, offset, descending=descending,
                                              low=after or "", high=before or "")
            if after or before:
                total = await self.entries.count(list_name, low=after or "", high=before or "")
            else:
                total = await self.counters.value(f"completed:{family}")
            return await Entries.resolve(self.completed, [e["match"] for e in entries]), total
        return await self.completed_query(filters, ordering, limit, offset)

    async def completed_query(
        self, filters: dict[str, Any], ordering: str, limit: int, offset: int
    ) -> tuple[list[Match], int]:
        query: dict[str, Any] = {}
        if "winner" in filters:
            query["winner"] = filters["winner"]
        if "loser" in filters:
            query["loser"] = filters["loser"]
        if "user" in filters:
            query["$or"] = [{"winner": filters["user"]}, {"loser": filters["user"]},
                            {"standings.username": filters["user"]}]
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
