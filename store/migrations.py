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
from typing import TYPE_CHECKING, Any

from store.library import FLAGS, flag_key, flag_total
from store.matches import completed_entries, families
from store.pages import Entries
from store.users import TOTAL, user_entries

if TYPE_CHECKING:
    from store.database import Store

log = logging.getLogger("arena.store")

LAYOUT = 2
MARKER = "layout"
BATCH = 1000  # entries written per insert


async def migrate(store: Store) -> None:
    """Bring the database to ``LAYOUT``; a no-op when it is there."""
    counters = store.counters.collection
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

    async for user in store.users.collection.find({}):
        await add(store.users.entries, user_entries(user))
        totals[TOTAL] += 1
    await add(store.users.entries, [], flush=True)
    async for match in store.matches.completed.find({}):
        await add(store.matches.entries, completed_entries(match))
        for family in families(match):
            totals[f"completed:{family}"] += 1
    await add(store.matches.entries, [], flush=True)
    flags = store.library.flags
    old: list[str] = []
    for flag in await flags.find({}).to_list():  # read first: the pass adds to it
        parts = flag["_id"].split(":")
        if len(parts) == 3 and parts[2] in FLAGS:  # layout 1: "<user>:<igdb>:<flag>"
            await add(store.library.entries, [
                {**flag, "_id": flag_key(flag["user_id"], flag["flag"], flag["game_id"])}])
            old.append(flag["_id"])
        totals[flag_total(flag["user_id"], flag["flag"])] += 1
    await add(store.library.entries, [], flush=True)
    await store.library.entries.remove(old)  # only once each has its new key
    for name, value in totals.items():
        await counters.update_one({"_id": name}, {"$set": {"value": value}}, upsert=True)
    await counters.update_one({"_id": MARKER}, {"$set": {"value": LAYOUT}}, upsert=True)
    if totals:
        log.warning("database brought to layout %d (%d lists)", LAYOUT, len(totals))
