"""The match journal as start-up reads it back: which state of a match wins."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import bson
import pytest

from store import Store
from store.journal import PREFIX, Journal


def state(match_id: int, seq: int, mark: str) -> dict[str, Any]:
    return {"id": match_id, "seq": seq, "mark": mark}


@pytest.fixture
def store(io_loop, database_uri: str, database_name: str) -> Iterator[Store]:
    """A store on this module's database with no Arena around it: the
    journals these tests open are the only ones."""
    store = Store(database_uri, database_name)
    yield store
    io_loop.run_sync(store.close)


@contextlib.asynccontextmanager
async def opened(journal: Journal) -> AsyncIterator[Journal]:
    """``journal`` opened on a fresh segment, and closed (its writer stopped) after."""
    await journal.open()
    try:
        yield journal
    finally:
        await journal.close()


@pytest.mark.gen_test(timeout=30)
async def test_the_highest_seq_wins_and_a_later_record_beats_an_equal_one(
        store: Store) -> None:
    async with opened(store.journal) as journal:
        # Match 1: an append stored although its reply was lost (the actor kept
        # seq 4), then the state the actor did adopt under the same seq.
        await journal.append(state(1, 4, "refused"))
        await journal.append(state(1, 4, "adopted"))
        # Match 2: a higher seq stays ahead of a lower one appended after it
        # (a checkpoint re-appending an older state cannot happen, but the order
        # of batches must not decide over seq).
        await journal.append(state(2, 9, "newest"))
        await journal.append(state(2, 8, "older"))
        # A later segment (a checkpoint, or a restarted server) is read after.
        await journal.rotate()
        await journal.append(state(1, 4, "checkpointed"))
        latest = await journal.latest()
    assert latest[1]["mark"] == "checkpointed"
    assert latest[2]["mark"] == "newest"


@pytest.mark.gen_test(timeout=30)
async def test_equal_seqs_within_one_segment_resolve_to_the_later_append(
        store: Store) -> None:
    async with opened(store.journal) as journal:
        for number in range(20):
            await journal.append(state(3, 1, f"take {number}"))
        latest = await journal.latest()
    assert latest[3]["mark"] == "take 19"


@pytest.mark.gen_test(timeout=30)
async def test_appends_arriving_within_the_interval_share_one_write(
        store: Store) -> None:
    async with opened(Journal(store.db, interval=0.5)) as journal:
        await journal.append(state(4, 1, "first"))  # an idle journal writes at once

        async def append_later(number: int) -> None:
            await asyncio.sleep(0.01 * number)  # one by one, across ~100 ms
            await journal.append(state(5 + number, 1, "later"))

        await asyncio.gather(*(append_later(number) for number in range(10)))
        writes = await store.db[PREFIX + str(journal.segment)].count_documents({})
        latest = await journal.latest()
    assert writes == 2  # the first, then the ten together
    assert {match_id for match_id in latest if match_id >= 4} == set(range(4, 15))


@pytest.mark.gen_test(timeout=30)
async def test_a_journal_written_before_compression_is_still_read(
        store: Store) -> None:
    async with opened(store.journal) as journal:
        record = bson.encode({"m": 30, "seq": 2, "doc": state(30, 2, "uncompressed")})
        await store.db[PREFIX + str(journal.segment)].insert_one(
            {"records": bson.Binary(record)})
        await journal.append(state(31, 1, "compressed"))
        latest = await journal.latest()
    assert latest[30]["mark"] == "uncompressed"
    assert latest[31]["mark"] == "compressed"
