"""Lists read from entries (``store.pages``): the database's answer to a range
of string ids, pages that match the list's order as elo changes, and the
migration of a database written before entries existed."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from bson import Int64
from pymongo import ASCENDING, DESCENDING

from store import Store
from store.library import flag_key
from store.pages import key, number
from store.timestamps import now


@pytest.fixture
def store(io_loop: Any, database_uri: str) -> Iterator[Store]:
    store = Store(database_uri, f"t_pages_{uuid.uuid4().hex[:8]}")
    io_loop.run_sync(store.ensure_indexes)
    yield store
    io_loop.run_sync(lambda: store.client.drop_database(store.db.name))
    io_loop.run_sync(store.close)


def test_numbers_in_keys_sort_as_numbers() -> None:
    values = [-10**9, -1001, -5, -1, 0, 1, 9, 10, 999, 1000, 10**9]
    assert sorted(values, key=number) == values
    assert sorted(values, key=lambda v: key("elo", v, "x")) == values


@pytest.mark.gen_test(timeout=30)
async def test_the_database_answers_a_range_of_string_ids_as_mongodb_does(
    store: Store,
) -> None:
    """The embedded FerretDB's range pushdown against MongoDB's rules: strings
    by their UTF-8 bytes (spaces, quotes, backslashes, control characters
    and non-ASCII included), and no id of another type."""
    collection = store.db["range_probe"]
    strings = [f"a:{n:03d}" for n in range(30)] + [
        "a: x", "a:!", 'a:"q', "a:é", "a:\\", "a:\x01", "a:", "a:ab", "a:ab c", "a;", "b:1", "a"]
    await collection.insert_many([{"_id": s} for s in strings]
                                 + [{"_id": 5}, {"_id": {"x": "a:5"}}, {"_id": 2.5}])
    for low, high in (("a:", "a;"), ("a:0", "a:02"), ("a:ab", "a:ab~"), ("", "zzz")):
        inside = sorted((s for s in strings if low <= s < high), key=str.encode)
        for descending in (False, True):
            ordered = inside[::-1] if descending else inside
            for skip, limit in ((0, 5), (3, 4), (len(inside) - 2, 10), (0, 1000)):
                cursor = (collection.find({"_id": {"$gte": low, "$lt": high}})
                          .sort("_id", DESCENDING if descending else ASCENDING)
                          .skip(skip).limit(limit))
                got = [doc["_id"] for doc in await cursor.to_list()]
                assert got == ordered[skip:skip + limit], (low, high, descending, skip, limit)
    above = await collection.find({"_id": {"$gt": "a:029"}}).to_list()
    assert sorted(doc["_id"] for doc in above) == sorted(s for s in strings if s > "a:029")


async def make_user(store: Store, name: str) -> dict[str, Any]:
    async with store.users.reserve(name) as user_id:
        return await store.users.create(user_id, username=name, password_hash=b"x", email="",
                                        first_name="", last_name="")


@pytest.mark.gen_test(timeout=60)
async def test_user_pages_follow_every_elo_change(store: Store) -> None:
    users = [await make_user(store, f"player{n:02d}") for n in range(24)]
    rng = random.Random(7)
    elos = {user["_id"]: 1000 for user in users}
    for match_id in range(1, 40):  # endings move elos up and down, ties included
        a, b = rng.sample(users, 2)
        for user in (a, b):
            assert await store.users.claim(user["_id"], match_id, "H")
        for user, delta in ((a, rng.choice((0, 25, 50))), (b, -rng.choice((0, 25, 50)))):
            before = elos[user["_id"]]
            elos[user["_id"]] = before + delta
            await store.users.finish_match(user["_id"], match_id, before + delta, before)
            # a replay after a crash changes nothing
            await store.users.finish_match(user["_id"], match_id, before + delta, before)
    joined = {user["_id"]: user["date_joined"] for user in users}
    expected = {
        "elo": sorted(elos, key=lambda u: (elos[u], joined[u])),
        "-elo": sorted(elos, key=lambda u: (-elos[u], joined[u])),
        "username": sorted(elos, key=lambda u: next(x["username"] for x in users
                                                    if x["_id"] == u)),
        "": sorted(elos, key=lambda u: (joined[u], u)),
    }
    expected["-username"] = expected["username"][::-1]
    for ordering, order in expected.items():
        for limit, offset in ((5, 0), (7, 10), (100, 0), (3, 22)):
            page, total = await store.users.page(ordering, limit, offset)
            assert total == len(users)
            assert [u["_id"] for u in page] == order[offset:offset + limit], (ordering, offset)
            assert [u["elo"] for u in page] == [elos[u] for u in order[offset:offset + limit]]


def completed(match_id: int, winner: str, loser: str, moment: str) -> dict[str, Any]:
    return {"id": match_id, "game": "rps", "winner": winner, "loser": loser,
            "winner_id": winner, "loser_id": loser, "start_timestamp": moment,
            "completion_timestamp": moment, "winner_score": 5, "loser_score": 2,
            "winner_elo_before_match": 1000, "loser_elo_before_match": 1000,
            "winner_elo_after_match": 1050, "loser_elo_after_match": 950, "reason": "score"}


@pytest.mark.gen_test(timeout=60)
async def test_completed_pages_by_player_and_time(store: Store) -> None:
    rng = random.Random(3)
    names = ["ann", "bob", "cy", "dee"]
    matches = []
    for match_id in range(1, 41):
        winner, loser = rng.sample(names, 2)
        matches.append(completed(match_id, winner, loser, now()))
    for match in rng.sample(matches, len(matches)):  # stored in any order, some twice
        await store.matches.store_completed(match)
    await store.matches.store_completed(matches[0])
    cases: list[tuple[dict[str, Any], str, list[dict[str, Any]]]] = [
        ({}, "", matches),
        ({}, "-id", matches[::-1]),
        ({"winner": "ann"}, "id", [m for m in matches if m["winner"] == "ann"]),
        ({"loser": "bob"}, "-id", [m for m in matches if m["loser"] == "bob"][::-1]),
        ({"user": "cy"}, "", [m for m in matches if "cy" in (m["winner"], m["loser"])]),
        ({"user": "dee"}, "-end_timestamp",
         sorted((m for m in matches if "dee" in (m["winner"], m["loser"])),
                key=lambda m: (m["completion_timestamp"], m["id"]), reverse=True)),
    ]
    lo, hi = matches[9]["completion_timestamp"], matches[30]["completion_timestamp"]
    cases.append(({"user": "ann", "after": lo, "before": hi}, "completion_timestamp",
                  [m for m in matches if "ann" in (m["winner"], m["loser"])
                   and lo <= m["completion_timestamp"] <= hi]))
    for filters, ordering, want in cases:
        for limit, offset in ((4, 0), (5, 3), (100, 0)):
            page, total = await store.matches.completed_page(dict(filters), ordering, limit,
                                                             offset)
            assert total == len(want), (filters, ordering)
            assert [m["id"] for m in page] == [m["id"] for m in want[offset:offset + limit]], \
                (filters, ordering, offset)


@pytest.mark.gen_test(timeout=60)
async def test_a_database_from_before_entries_is_migrated_at_start_up(store: Store) -> None:
    """Users, completed matches and flags written in the old layout (no
    entries, flags keyed by igdb) come out of ``migrate`` listable."""
    users = [{"_id": str(uuid.uuid4()), "username": f"old{n}", "username_lower": f"old{n}",
              "password_hash": b"x", "email": "", "first_name": "", "last_name": "",
              "date_joined": now(), "elo": 1000 + 10 * (n % 4), "ongoing_match": None,
              "role": None, "is_admin": False, "token_generation": 0} for n in range(12)]
    await store.users.collection.insert_many(users)
    await store.matches.completed.insert_many(
        [{"_id": str(n), **completed(n, "old1", f"old{n % 5 + 2}", now())} for n in range(1, 9)])
    fan = users[0]["_id"]
    await store.library.flags.insert_many(
        [{"_id": f"{fan}:{igdb}:liked", "user_id": fan, "flag": "liked", "game_id": n,
          "igdb": igdb, "name": f"Game {n}"} for n, igdb in enumerate((90, 12, 55, 7), start=1)])
    await store.migrate()
    await store.migrate()  # idempotent: every start-up runs it
    page, total = await store.users.page("-elo", 100, 0)
    assert total == 12
    assert [u["elo"] for u in page] == sorted((u["elo"] for u in users), reverse=True)
    matches, count = await store.matches.completed_page({"winner": "old1"}, "-id", 3, 0)
    assert count == 8 and [m["id"] for m in matches] == [8, 7, 6]
    games, listed = await store.library.page(fan, "liked", 10, 0)
    assert listed == 4 and [g["game_id"] for g in games] == [1, 2, 3, 4]
    assert (await store.library.flags.find_one({"_id": flag_key(fan, "liked", 2)}))["igdb"] == 12
    assert await store.library.flags.find_one({"_id": f"{fan}:12:liked"}) is None


@pytest.mark.gen_test(timeout=30)
async def test_a_page_and_its_items_are_read_from_indexes(store: Store) -> None:
    """The two queries of a page, as the database plans them: the range of
    entries (filtered, sorted and limited by the index on their ids) and
    the items by ``$in`` on ``_id``; neither reads the collection."""
    users = [await make_user(store, f"indexed{n}") for n in range(30)]
    page = await store.db.command("explain", {
        "find": "user_entries", "filter": {"_id": {"$gte": "elo:", "$lt": "elo;"}},
        "sort": {"_id": -1}, "skip": Int64(5), "limit": Int64(10)})
    items = await store.db.command("explain", {
        "find": "users", "filter": {"_id": {"$in": [u["_id"] for u in users[:10]]}}})
    if "filterPushdown" in page:  # the embedded FerretDB
        assert page["filterPushdown"] and page["sortPushdown"] and page["limitPushdown"], page
        plan = str(page["queryPlanner"])
        assert "USING INDEX" in plan and "arena_id_text" in plan and "TEMP B-TREE" not in plan
        assert items["filterPushdown"] and "USING INDEX" in str(items["queryPlanner"]), items
    else:  # MongoDB
        assert "COLLSCAN" not in str(page["queryPlanner"]), page
        assert "COLLSCAN" not in str(items["queryPlanner"]), items
