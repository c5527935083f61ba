"""The database settles races between processes: several clients writing at once.

Arena's nodes share one database and keep their invariants with single-
document atomic writes (an ``$inc``, a conditional update), never with a lock
in one process.  These tests race real processes, each with its own client,
on the test database (the embedded FerretDB, patched to apply these writes
atomically, or ``mongod``).
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest

PROCESSES = 4
ROUNDS = 150

# Spawned, not forked: each child opens its own client, as a node would.
_spawn = multiprocessing.get_context("spawn")


@pytest.fixture
def collection(database_uri: str) -> Iterator[tuple[str, str]]:
    name = f"t_races_{uuid.uuid4().hex[:8]}"
    yield database_uri, name
    with pymongo.MongoClient(database_uri) as client:
        client.drop_database(name)


def _race(target: Any, *args: Any) -> list[Any]:
    """Run ``target(results, barrier, n, *args)`` in ``PROCESSES`` processes at once."""
    barrier = _spawn.Barrier(PROCESSES)
    results = _spawn.Queue()
    children = [_spawn.Process(target=target, args=(results, barrier, n, *args))
                for n in range(PROCESSES)]
    for child in children:
        child.start()
    found = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    return found


def _increment(results: Any, barrier: Any, n: int, uri: str, name: str) -> None:
    with pymongo.MongoClient(uri) as client:
        counters = client[name]["counters"]
        barrier.wait()
        for _ in range(ROUNDS):
            counters.update_one({"_id": "hits"}, {"$inc": {"value": 1}}, upsert=True)
        results.put(n)


def _next_ids(results: Any, barrier: Any, n: int, uri: str, name: str) -> None:
    with pymongo.MongoClient(uri) as client:
        counters = client[name]["counters"]
        barrier.wait()
        results.put([counters.find_one_and_update(
            {"_id": "ids"}, {"$inc": {"value": 1}}, upsert=True,
            return_document=pymongo.ReturnDocument.AFTER)["value"] for _ in range(ROUNDS)])


def _take(results: Any, barrier: Any, n: int, uri: str, name: str) -> None:
    with pymongo.MongoClient(uri) as client:
        tickets = client[name]["tickets"]
        barrier.wait()
        won = []
        for key in range(ROUNDS):
            taken = tickets.update_one({"_id": f"t{key}", "status": "waiting"},
                                       {"$set": {"status": "taken", "by": n}})
            if taken.modified_count:
                won.append(key)
        results.put((n, won))


def test_concurrent_incs_from_several_processes_lose_nothing(
        collection: tuple[str, str]) -> None:
    uri, name = collection
    _race(_increment, uri, name)
    with pymongo.MongoClient(uri) as client:
        assert client[name]["counters"].find_one({"_id": "hits"})["value"] == PROCESSES * ROUNDS


def test_a_sequence_from_several_processes_never_repeats(collection: tuple[str, str]) -> None:
    uri, name = collection
    taken = [value for values in _race(_next_ids, uri, name) for value in values]
    assert sorted(taken) == list(range(1, PROCESSES * ROUNDS + 1))


def test_racing_conditional_updates_apply_once(collection: tuple[str, str]) -> None:
    uri, name = collection
    with pymongo.MongoClient(uri) as client:
        client[name]["tickets"].insert_many(
            [{"_id": f"t{key}", "status": "waiting"} for key in range(ROUNDS)])
    races = _race(_take, uri, name)
    winners = Counter(key for _, won in races for key in won)
    assert sorted(winners) == list(range(ROUNDS))  # each taken ...
    assert set(winners.values()) == {1}  # ... by exactly one process
    winner = {f"t{key}": n for n, won in races for key in won}
    with pymongo.MongoClient(uri) as client:
        by = {doc["_id"]: doc["by"] for doc in client[name]["tickets"].find()}
    assert by == winner  # and the document says so
