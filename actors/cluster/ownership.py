"""Ownership: which node holds each live match, and how holdings move.

Each live match is held by one node: its document names the node as its
``owner``, and that node alone runs its actor and writes its states, to a
journal of its own (``store.journal``).  A node that starts restores the
matches it holds and takes over those of nodes that are gone (stopped, or
not heard from within the lease: ``actors.cluster.node``); while it runs it
takes over the matches of every node that goes.  Taking a match over is one
conditional write (``MatchRepository.take``): of two nodes trying, one wins.
A node cut off from the database stops its actors before it can be taken
for gone (``fence``), and runs again what is still its own after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from typing import Any

from actors.cluster.node import HEARTBEAT, LEASE
from actors.games import GAMES
from actors.match.actor import MatchActor
from actors.match.document import MatchDoc, phase_of, players_of, stored
from actors.match.dormant import DormantMatch
from actors.match.ending import finish_cancelling, finish_ending
from actors.match.messages import AdminCancel
from actors.registry import HANDOVER, Registry
from config import Config
from store import Store
from store.nodes import heard_from

log = logging.getLogger("arena.registry")

#: A claim on a match that is not stored may be a create in progress on
#: another node; one older than this was left by a crash.
CLAIM_GRACE = 60.0


class ClusterRegistry(Registry):
    """The registry of a node among others on one database (one node alone
    is a cluster of one: it restores its own matches the same way)."""

    def __init__(self, store: Store, config: Config, owner: str = "") -> None:
        super().__init__(store, config, owner)
        self.watcher: asyncio.Task[None] | None = None
        #: Matches this node is taking over: the write that makes them its own
        #: is under way, and done when the future is (``arrival``).
        self.arriving: dict[int, asyncio.Future[None]] = {}
        #: Takeovers under way, by the node taken over (``adopt``).
        self.adopting: dict[str, asyncio.Task[int]] = {}

    async def arrival(self, match_id: int) -> MatchActor | None:
        """The match's actor here, once a takeover of it under way is done.

        The database says a match is this node's as soon as the takeover's
        write is applied, a moment before this node hears so and starts its
        actor; a socket sent here by that answer (a relay following its
        match) must wait for the actor rather than be told there is none."""
        arriving = self.arriving.get(match_id)
        if arriving is not None:
            await asyncio.shield(arriving)
        return self.actors.get(match_id)

    async def adopt(self, owner: str) -> None:
        """Take over the matches of ``owner``, a node that is gone, joining a
        takeover of it already under way here: the watcher's, or one that a
        request for one of its matches started (``handlers.cluster.owners``), so that
        many clients coming back at once start one."""
        task = self.adopting.get(owner)
        if task is None:
            task = asyncio.get_running_loop().create_task(self.take_over(owner))
            self.adopting[owner] = task
            task.add_done_callback(lambda _: self.adopting.pop(owner, None))
        await asyncio.shield(task)

    def watch_nodes(self) -> None:
        """From now on, take over the matches of every node that goes."""
        self.watcher = asyncio.get_running_loop().create_task(self._watch(), name="watch-nodes")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                for node in await self.store.nodes.gone(LEASE):
                    if node["_id"] != self.owner:
                        await self.adopt(node["_id"])
                await self.forget_cancelled_dormant()
                await self.take_cancel_requests()
            except Exception:
                log.exception("taking over the matches of a node that went failed")

    async def take_cancel_requests(self) -> None:
        """Cancel the matches an administrator asked this node to (``admin
        cancel-match``): each through its actor, so its players see it."""
        requested = await self.store.nodes.cancel_requests(self.owner)
        if not requested:
            return
        for match_id in requested:
            actor = self.actors.get(match_id)
            if actor is not None:
                actor.post(AdminCancel())
        await self.store.nodes.cancel_taken(self.owner, requested)

    async def forget_cancelled_dormant(self) -> None:
        """Drop the dormant matches that are no longer this node's
        (``admin cancel-match`` cancelled them)."""
        for match_id in list(self.dormant):
            holding = await self.store.matches.holding(match_id)
            if holding is None or holding[0] != self.owner:
                del self.dormant[match_id]

    async def restore(self, others: Collection[str] = ()) -> None:
        """Re-create every match this node holds, and take over those of nodes
        that are gone (all but ``others``, the live nodes besides this one);
        finish endings a crash interrupted; release what crashes left half
        claimed.  A match's state is the newest of its document and its
        owner's journal."""
        await self.store.journal.open(self.owner)
        docs = await self.store.matches.all_ongoing()
        for owner in sorted({doc.get("owner") or "" for doc in docs} - set(others)):
            await self.take_over(owner, [doc for doc in docs if (doc.get("owner") or "") == owner])
        await self.reconcile_claims({int(doc["id"]) for doc in docs}, lonely=not others)
        await self.start_checkpoints()

    async def take_over(self, owner: str, docs: list[dict[str, Any]] | None = None) -> int:
        """Hold and run the matches ``owner`` held (this node's own after a
        restart, or a node that is gone); how many were taken.

        Each is moved by one conditional write of its newest state under this
        node's name, so of two nodes taking over the same node's matches,
        each match goes to one; once none is left to a gone ``owner``, its
        journal is dropped (every state in it that mattered is in a match
        document by then) and so is its document in ``nodes``."""
        if docs is None:
            docs = await self.store.matches.owned_by(owner)
        journaled = await self.store.journal.latest(owner)
        taken = 0
        for checkpoint in docs:
            match_id = int(checkpoint["id"])
            if match_id in self.actors or match_id in self.arriving:
                continue  # running here already (created while the node was fenced), or coming
            newer = journaled.get(match_id)
            newest = newer if newer is not None and newer["seq"] > checkpoint["seq"] else checkpoint
            doc = stored({**newest, "owner": self.owner})
            doc.pop("dormant", None)
            if phase_of(doc) == "live" and doc["game"] not in GAMES:
                if owner != self.owner:
                    continue  # a node never takes over a match of a game it has not loaded
                doc["dormant"] = True  # so ``admin cancel-match`` may cancel it
            # read first, so the actor runs the moment the match is this
            # node's: a socket relayed here as soon as it is must find it
            users = await self.participants(doc) if doc.get("phase", "live") == "live" else {}
            arriving = self.arriving[match_id] = asyncio.get_running_loop().create_future()
            try:
                tenure = await self.store.matches.take(doc, checkpoint)
                if tenure is None:
                    continue  # another node took it first
                doc["tenure"] = tenure
                taken += 1
                await self.revive(doc, users)
            finally:
                del self.arriving[match_id]
                arriving.set_result(None)
        if owner != self.owner and not await self.store.matches.owned_by(owner):
            await self.store.journal.drop(owner)
            await self.store.nodes.leave(owner)
        if taken and owner != self.owner:
            log.warning("took over %d matches of node %s", taken, owner or "(before nodes)")
        return taken

    async def participants(self, doc: MatchDoc) -> dict[str, dict[str, Any]]:
        """The user documents of the match's host, challenger and spectators, by id."""
        return await self.store.users.by_ids(players_of(doc))

    async def revive(self, doc: MatchDoc, users: dict[str, dict[str, Any]]) -> None:
        """Run a restored or taken-over match, whose participants are ``users``
        (or finish its ending)."""
        phase = doc.get("phase", "live")
        if phase == "ending":
            log.warning("match %s: completing an interrupted ending", doc["id"])
            await finish_ending(self.store, doc)
        elif phase == "cancelling":
            await finish_cancelling(self.store, doc)
        elif doc["game"] not in GAMES:
            log.warning("match %s is dormant: its game %r is not loaded here", doc["id"],
                        doc["game"])
            self.dormant[int(doc["id"])] = DormantMatch(doc, users)
        else:
            self.spawn(doc, users, restored=True)
            if self.checkpointing:  # a takeover while running: its state here now
                await self.store.journal.append(doc)

    async def reconcile_claims(self, stored: set[int], *, lonely: bool) -> None:
        """A crash between claiming a user and storing the match (or the join)
        leaves a claim on a match the user is not in: release those, keep the
        rest.  A claim on a match that is not stored is left alone while it
        may be another node's create in progress (unless no other node runs)."""
        users = self.store.users
        claims = {claim["_id"]: claim for claim in await users.all_claims()}
        old = time.time() - CLAIM_GRACE

        def abandoned(user_id: str, match_id: int) -> bool:
            if match_id in self.actors:
                return user_id not in self.actors[match_id].participants()
            if match_id in stored:
                return False  # another node's match: that node's business
            claim = claims.get(user_id)
            return lonely or claim is None or claim.get("at", 0) < old

        for user in await users.in_matches():
            if not abandoned(user["_id"], user["ongoing_match"]):
                if user["ongoing_match"] in self.actors:
                    await users.restore_claim(user["_id"], user["ongoing_match"])
            else:
                await users.release(user["_id"], user["ongoing_match"])
        for claim in claims.values():
            if abandoned(claim["_id"], claim["match"]):
                await users.drop_claim(claim["_id"], claim["match"])

    async def fence(self) -> None:
        """This node has lost the database for most of its lease and will be
        taken for gone: stop every actor now, before another node takes its
        match over (the sockets get 1012 and reconnect, through whichever
        node, to the match's next owner).  Nothing is stored, as at a
        shutdown: what the clients saw is stored already."""
        actors = list(self.actors.values())
        self.actors.clear()
        self.dormant.clear()  # still stored: the node that holds it next decides
        tasks = [task for actor in actors if (task := actor.stop(*HANDOVER)) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def unfence(self) -> None:
        """The database answers again: run the matches still held by this
        node (those no other node took over while it was cut off)."""
        taken = await self.take_over(self.owner)
        log.warning("back in touch with the database: running %d matches again", taken)

    async def shutdown(self, *, handing_over: bool = False) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            await asyncio.gather(self.watcher, return_exceptions=True)
        await super().shutdown(handing_over=handing_over)


#: How long ``admin cancel-match`` waits for a live node to cancel its match.
ADMIN_WAIT = LEASE + 2 * HEARTBEAT


async def cancel_by_admin(store: Store, match_id: int) -> str | None:
    """Cancel ongoing match ``match_id`` from outside any node (``admin
    cancel-match``), as a ``cancelled`` event would: no completed match, no
    rating change, everyone released; why not, if it could not be.

    A match being played on a live node is cancelled by that node's actor,
    so that its players see it: the request is stored in the node's own
    document, which its watcher reads every heartbeat, and this waits for the
    match to be gone.  Any other match (dormant, or of a node that is gone)
    is cancelled here, step by step, as an actor would."""
    found = await store.matches.ongoing_match(match_id)
    if found is None:
        return f"There is no ongoing match {match_id}."
    doc = stored(found)
    owner = doc.get("owner") or ""
    if (phase_of(doc) == "live" and owner and not doc.get("dormant")
            and heard_from(await store.nodes.of(owner), LEASE)):
        await store.nodes.request_cancel(owner, match_id)
        deadline = time.monotonic() + ADMIN_WAIT
        while time.monotonic() < deadline:
            if await store.matches.holding(match_id) is None:
                return None
            await asyncio.sleep(0.1)
        return (f"Match {match_id} is being played on node {owner}, which has not "
                f"cancelled it within {ADMIN_WAIT:.0f} s; the request stands.")
    if phase_of(doc) == "ending":
        await finish_ending(store, doc)  # decided already: what is left is applied
        return None
    doc["phase"] = "cancelling"
    if not await store.matches.save(doc):
        return f"Match {match_id} changed hands meanwhile; try again."
    await finish_cancelling(store, doc)
    return None
