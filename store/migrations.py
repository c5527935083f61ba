"""Bringing a database written by an earlier Arena to the current layout.

Run at start-up, before anything is served.  Layout 2 added the entries that
list pages are read from (``store.pages``): the users' orderings, the
completed matches' lists, and library flags keyed by user, flag and game.  A
database at layout 1 gets them from one pass over its users, completed
matches and flags; the lists' counters are set from what the pass counted.
Every step is idempotent, so a pass cut short by a crash is simply run again,
and the layout is recorded only once it is complete.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from store.counters import CounterRepository
from store.library import FLAGS, LibraryRepository, flag_key, flag_total
from store.matches import MatchRepository, completed_entries, families
from store.pages import Entries
from store.users import TOTAL, UserRepository, user_entries

log = logging.getLogger("arena.store")

LAYOUT = 2
MARKER = "layout"
BATCH = 1000  # entries written per insert


async def migrate(counter_repository: CounterRepository, users: UserRepository,
                  matches: MatchRepository, library: LibraryRepository) -> None:
    """Bring the database to ``LAYOUT``; a no-op when it is there."""
    counters = counter_repository.collection
    marker = await counters.find_one({"_id": MARKER})
    if marker is not None and marker.get("value", 0) >= LAYOUT:
        return
    totals: Counter[str] = Counter()
    pending: list[dict[str, Any]] = []

    async def add(entries: Entries, batch: list[dict[str, Any]], *, flush: bool = False) -> None:
        pending.extend(batch)
        if flush or len(pending) >= BATCH:
            await entries.add(pending)
            pending.clear()

    async for user in users.collection.find({}):
        await add(users.entries, user_entries(user))
        totals[TOTAL] += 1
    await add(users.entries, [], flush=True)
    async for match in matches.completed.find({}):
        await add(matches.entries, completed_entries(match))
        for family in families(match):
            totals[f"completed:{family}"] += 1
    await add(matches.entries, [], flush=True)
    flags = library.flags
    old: list[str] = []
    for flag in await flags.find({}).to_list():  # read first: the pass adds to it
        parts = flag["_id"].split(":")
        if len(parts) == 3 and parts[2] in FLAGS:  # layout 1: "<user>:<igdb>:<flag>"
            await add(library.entries, [
                {**flag, "_id": flag_key(flag["user_id"], flag["flag"], flag["game_id"])}])
            old.append(flag["_id"])
        totals[flag_total(flag["user_id"], flag["flag"])] += 1
    await add(library.entries, [], flush=True)
    await library.entries.remove(old)  # only once each has its new key
    for name, value in totals.items():
        await counters.update_one({"_id": name}, {"$set": {"value": value}}, upsert=True)
    await counters.update_one({"_id": MARKER}, {"$set": {"value": LAYOUT}}, upsert=True)
    if totals:
        log.warning("database brought to layout %d (%d lists)", LAYOUT, len(totals))
