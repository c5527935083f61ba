"""The match actor on its own: a fake host, an in-memory journal, fake sockets.

What only the end-to-end tests reached before, built here on purpose:
batches sharing one append (and failing as one), frames held while a join
is being claimed, and a claim racing the release of a leave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from actors.match.actor import MatchActor
from actors.match.messages import Attach, Frame
from tests.support.fake_host import FakeHost, FakeSocket


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 10))


async def settle(actor: MatchActor) -> None:
    """Until the mailbox is empty and nothing is being handled or claimed."""
    for _ in range(200):
        await asyncio.sleep(0)
        if actor.mailbox.empty() and not actor.busy and not actor.background:
            return
    raise AssertionError("the actor did not settle")


async def seated(actor: MatchActor, host: FakeHost, name: str) -> tuple[FakeSocket, Any]:
    user = host.store.users.add(name)
    socket = FakeSocket(user["_id"])
    actor.post(Attach(socket, user))
    await settle(actor)
    return socket, user


async def watching(actor: MatchActor, host: FakeHost, count: int) -> list[FakeSocket]:
    sockets = []
    for n in range(count):
        socket, _ = await seated(actor, host, f"fan{n}")
        actor.post(Frame(socket, {"type": "join", "role": "spectator", "id": 1}))
        await settle(actor)
        assert socket.replies() == [("ack", 1)]
        sockets.append(socket)
    return sockets


def test_a_crowd_leaving_at_once_shares_one_append() -> None:
    async def scenario() -> None:
        host = FakeHost()
        owner = host.store.users.add("host")
        actor = host.match(owner)
        fans = await watching(actor, host, 5)
        appends = len(host.store.journal.appended)
        for n, fan in enumerate(fans):
            actor.post(Frame(fan, {"type": "leave", "id": 10 + n}))
        await settle(actor)
        assert len(host.store.journal.appended) == appends + 1
        assert host.store.journal.appended[-1]["spectator_ids"] == []
        for n, fan in enumerate(fans):  # each acked once released, in the database too
            assert fan.replies()[-1] == ("ack", 10 + n)
            assert host.store.users.docs[fan.user_id or ""]["ongoing_match"] is None
        seqs = [seq for seq, kind in fans[0].events() if kind == "left"]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    run(scenario)


def test_a_batch_whose_append_fails_changes_nothing_and_says_so() -> None:
    async def scenario() -> None:
        host = FakeHost()
        actor = host.match(host.store.users.add("host"))
        fans = await watching(actor, host, 3)
        before = actor.doc
        host.store.journal.failing = True
        for n, fan in enumerate(fans):
            actor.post(Frame(fan, {"type": "leave", "id": 20 + n}))
        actor.post(Frame(fans[0], {"type": "ping", "id": 99}))
        await settle(actor)
        assert actor.doc is before
        for n, fan in enumerate(fans):
            assert ("error", 20 + n) in fan.replies()
            assert all(frame["code"] == "internal_error"
                       for frame in fan.frames if frame["type"] == "error")
            assert host.store.users.docs[fan.user_id or ""]["ongoing_match"] == actor.id
        assert ("pong", 99) in fans[0].replies()  # a ping shows no state: answered still
        assert not any(kind == "left" for fan in fans for _, kind in fan.events())

    run(scenario)


def test_frames_sent_during_a_join_wait_for_it_in_order() -> None:
    async def scenario() -> None:
        host = FakeHost()
        actor = host.match(host.store.users.add("host"))
        socket, _ = await seated(actor, host, "late")
        host.store.users.claims.shut()  # the claim's round trip takes its time
        actor.post(Frame(socket, {"type": "join", "role": "challenger", "id": 1}))
        actor.post(Frame(socket, {"type": "ready", "id": 2}))
        actor.post(Frame(socket, {"type": "ping", "id": 3}))
        await asyncio.sleep(0.01)
        assert socket.replies() == []  # held, not refused as "not in the match"
        host.store.users.claims.open()
        await settle(actor)
        assert socket.replies() == [("ack", 1), ("ack", 2), ("pong", 3)]
        assert actor.doc["seat_ids"][1] == socket.user_id
        assert actor.doc["ready"] == [True, True]

    run(scenario)


def test_a_rejoin_waits_for_the_release_of_the_leave_before_it() -> None:
    async def scenario() -> None:
        host = FakeHost()
        actor = host.match(host.store.users.add("host"))
        [fan] = await watching(actor, host, 1)
        host.store.users.releases.shut()  # the leave's release is slow
        actor.post(Frame(fan, {"type": "leave", "id": 5}))
        await settle_but_gated(actor, host)
        actor.post(Frame(fan, {"type": "join", "role": "spectator", "id": 6}))
        await asyncio.sleep(0.01)
        assert ("ack", 6) not in fan.replies()  # the claim waits for the release
        host.store.users.releases.open()
        await settle(actor)
        assert fan.replies()[-2:] == [("ack", 5), ("ack", 6)]
        assert fan.user_id in actor.doc["spectator_ids"]
        assert host.store.users.docs[fan.user_id or ""]["ongoing_match"] == actor.id

    run(scenario)


async def settle_but_gated(actor: MatchActor, host: FakeHost) -> None:
    """Until the mailbox is empty and the release waits at its gate."""
    for _ in range(200):
        await asyncio.sleep(0)
        if actor.mailbox.empty() and not actor.busy and host.store.users.releases.waiting:
            return
    raise AssertionError("the release never reached its gate")


def test_a_join_claimed_after_the_match_ended_is_released() -> None:
    async def scenario() -> None:
        host = FakeHost()
        owner = host.store.users.add("host")
        actor = host.match(owner)
        owner_socket = FakeSocket(owner["_id"])
        actor.post(Attach(owner_socket, owner))
        socket, user = await seated(actor, host, "late")
        host.store.users.claims.shut()
        actor.post(Frame(socket, {"type": "join", "role": "spectator", "id": 1}))
        await asyncio.sleep(0.01)
        actor.post(Frame(owner_socket, {"type": "leave", "id": 2}))  # the host calls it off
        await asyncio.sleep(0.01)
        host.store.users.claims.open()
        await settle(actor)
        assert actor.finished and host.over == [actor.id]
        assert ("error", 1) in socket.replies()
        assert host.store.users.docs[user["_id"]]["ongoing_match"] is None
        assert host.store.users.docs[owner["_id"]]["ongoing_match"] is None

    run(scenario)
