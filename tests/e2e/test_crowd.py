"""A crowd in one match: spectators joining and leaving all at once."""

from __future__ import annotations

import asyncio
import re

import pytest

from handlers.context import AppContext
from tests.support.client import Api
from tests.support.play import attach, create_match

CROWD = 30


async def journal_writes(api: Api) -> int:
    text = (await api.get("/metrics")).body.decode()
    found = re.search(r"^arena_db_write_seconds_count (\d+)", text, re.M)
    assert found is not None
    return int(found.group(1))


@pytest.mark.gen_test(timeout=60)
async def test_a_crowd_joining_and_leaving_at_once_is_stored_in_batches(
    api: Api, base_url: str, context: AppContext
) -> None:
    """Every join and leave is acked, every socket sees the same gap-free
    events, the REST view and every user's own record agree, and the crowd's
    commands share journal appends instead of taking one each."""
    _, host_token = await api.new_user()
    match = await create_match(api, host_token)
    host = await attach(base_url, match["id"], host_token)
    crowd = [await api.new_user() for _ in range(CROWD)]
    peers = [await attach(base_url, match["id"], token) for _, token in crowd]
    before = await journal_writes(api)

    joins = await asyncio.gather(*(peer.command("join", role="spectator") for peer in peers))
    assert all(reply["type"] == "ack" for reply in joins), joins
    joined_writes = await journal_writes(api) - before
    view = (await api.get(f"/api/ongoing_matches/{match['id']}/")).json
    assert sorted(s["username"] for s in view["spectators"]) == sorted(
        user["username"] for user, _ in crowd)

    leavers = peers[: CROWD // 2]
    leaves = await asyncio.gather(*(peer.command("leave") for peer in leavers))
    assert all(reply["type"] == "ack" for reply in leaves), leaves
    for (user, _), peer in zip(crowd, peers, strict=True):  # acked: the record says so too
        record = (await api.get(f"/api/users/{user['username']}/")).json
        assert record["ongoing_match"] == (None if peer in leavers else match["id"]), record
    assert (await host.command("ping"))["type"] == "pong"

    seen = []
    for peer in [host, *peers]:
        events = []
        while len(events) < CROWD + CROWD // 2:
            frame = await peer.read()
            assert frame is not None
            if frame["type"] == "event":
                events.append(frame)
        assert [e["seq"] for e in events] == list(range(1, CROWD + CROWD // 2 + 1))
        seen.append([(e["kind"], e["user"]["username"]) for e in events])
    assert all(kinds == seen[0] for kinds in seen)
    assert sum(kind == "joined" for kind, _ in seen[0]) == CROWD
    assert sum(kind == "left" for kind, _ in seen[0]) == CROWD // 2
    # thirty joins queued together took fewer appends than thirty
    assert joined_writes < CROWD, joined_writes


@pytest.mark.gen_test(timeout=60)
async def test_joins_and_leaves_sent_back_to_back_apply_in_order(
    api: Api, base_url: str
) -> None:
    """join, leave, join, leave, ..., join from one socket without waiting:
    each applies in order (a leave waits for the join before it, a join for
    the release before it), every one is acked, and the user ends up in."""
    _, host_token = await api.new_user()
    match = await create_match(api, host_token)
    user, token = await api.new_user()
    peer = await attach(base_url, match["id"], token)
    for n in range(5):
        peer.send({"type": "join", "role": "spectator", "id": f"j{n}"})
        peer.send({"type": "leave", "id": f"l{n}"})
    peer.send({"type": "join", "role": "spectator", "id": "last"})
    replies = {}
    while "last" not in replies:
        frame = await peer.read()
        assert frame is not None
        if frame["type"] in ("ack", "error"):
            replies[frame["id"]] = frame
    assert all(reply["type"] == "ack" for reply in replies.values()), replies
    kinds = [f["kind"] for f in peer.received if f["type"] == "event"]
    assert kinds == ["joined", "left"] * 5 + ["joined"]
    record = (await api.get(f"/api/users/{user['username']}/")).json
    assert record["ongoing_match"] == match["id"] and record["role"] == "S"
