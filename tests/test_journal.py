"""The match journal as start-up reads it back: which state of a match wins."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.context import AppContext


def state(match_id: int, seq: int, mark: str) -> dict[str, Any]:
    return {"id": match_id, "seq": seq, "mark": mark}


@pytest.mark.gen_test(timeout=30)
async def test_the_highest_seq_wins_and_a_later_record_beats_an_equal_one(
        context: AppContext) -> None:
    journal = context.store.journal
    await journal.open()
    try:
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
    finally:
        await journal.close()
    assert latest[1]["mark"] == "checkpointed"
    assert latest[2]["mark"] == "newest"


@pytest.mark.gen_test(timeout=30)
async def test_equal_seqs_within_one_segment_resolve_to_the_later_append(
        context: AppContext) -> None:
    journal = context.store.journal
    await journal.open()
    try:
        for number in range(20):
            await journal.append(state(3, 1, f"take {number}"))
        latest = await journal.latest()
    finally:
        await journal.close()
    assert latest[3]["mark"] == "take 19"
