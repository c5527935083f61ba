"""The registry: spawns, finds, restores, takes over and drops match actors.

Each live match is held by one node: its document names the node as its
``owner``, and that node alone runs its actor and writes its states, to a
journal of its own (``store.journal``).  A node that starts restores the
matches it holds and takes over those of nodes that are gone (stopped, or
not heard from within the lease: ``actors.node``); while it runs it takes
over the matches of every node that goes.  Taking a match over is one
conditional write (``MatchRepository.take``): of two nodes trying, one wins.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Collection
from typing import Any

from actors.games import GAMES
from actors.match.actor import MatchActor
from actors.match.document import new_match
from actors.match.ending import fault_point, finish_cancelling, finish_ending
from actors.match.messages import Checkpoint
from actors.metrics import Metrics
from actors.node import HEARTBEAT, LEASE
from actors.ticker import Ticker
from config import Config
from store import Store

log = logging.getLogger("arena.registry")


class AlreadyInMatch(Exception):
    def __init__(self, username: str, user_id: str = "") -> None:
        super().__init__(f"User {username} is already in a match")
        self.user_id = user_id


#: How a match's sockets are closed when it moves to another node.
HANDOVER = (1012, "Service restart: reconnect")
#: A claim on a match that is not stored may be a create in progress on
#: another node; one older than this was left by a crash.
CLAIM_GRACE = 60.0


class Registry:
    def __init__(self, store: Store, config: Config, owner: str = "") -> None:
        self.store = store
        self.config = config
        #: The id of the node this registry belongs to: the owner of its matches.
        self.owner = owner
        self.metrics = Metrics()
        self.actors: dict[int, MatchActor] = {}
        self.checkpointer: asyncio.Task[None] | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.tickers: dict[float, Ticker] = {}
        #: Matches this node is taking over: the write that makes them its own
        #: is under way, and done when the future is (``arrival``).
        self.arriving: dict[int, asyncio.Future[None]] = {}
        #: Takeovers under way, by the node taken over (``adopt``).
        self.adopting: dict[str, asyncio.Task[int]] = {}

    def get(self, match_id: int) -> MatchActor | None:
        return self.actors.get(match_id)

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
        request for one of its matches started (``handlers.relay``), so that
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
            except Exception:
                log.exception("taking over the matches of a node that went failed")

    def ticker(self, rate: float) -> Ticker:
        """The one ticker of this process for realtime matches at ``rate`` ticks a second."""
        ticker = self.tickers.get(rate)
        if ticker is None:
            ticker = self.tickers[rate] = Ticker(rate)
        return ticker

    def ongoing(self) -> list[MatchActor]:
        """The live matches' actors, by match id (the ones ending are left out)."""
        return sorted((actor for actor in self.actors.values() if actor.live),
                      key=lambda actor: actor.id)

    def finished(self, match_id: int, actor: object) -> None:
        """The match's actor is over (``actors.match.host.Host``): forget it."""
        if self.actors.get(match_id) is actor:
            del self.actors[match_id]

    async def create(self, user: dict[str, Any], game: str, target: int, *,
                     challenger: dict[str, Any] | None = None,
                     match_id: int | None = None) -> MatchActor:
        """A new match hosted by ``user``; ``AlreadyInMatch`` (naming the user)
        if a player is in one already.

        With ``challenger`` it is the matchmaker's: the challenger is seated and
        ready, and the match starts by itself once both are attached
        (``MatchActor.start_when_seated``).  A user who creates a match leaves
        the matchmaking queue.
        """
        match_id = match_id or await self.store.counters.next("matches")
        players = [(user, "H"), *([(challenger, "C")] if challenger else [])]
        claimed: list[str] = []
        try:
            for player, role in players:
                if not await self.store.users.claim(player["_id"], match_id, role):
                    raise AlreadyInMatch(player["username"], player["_id"])
                claimed.append(player["_id"])
            if challenger is None:
                await self.store.tickets.discard_waiting(user["_id"])
            else:
                fault_point("pair_claimed")
            doc = new_match(match_id, game, target, user["_id"],
                            challenger["_id"] if challenger else None,
                            GAMES[game].create(target, random.getrandbits(32)), self.owner)
            await self.store.matches.insert(doc)
        except BaseException:
            for user_id in claimed:
                await self.store.users.release(user_id, match_id)
            raise
        users = {player["_id"]: {**player, "ongoing_match": match_id, "role": role}
                 for player, role in players}
        actor = MatchActor(doc, users, self)
        self.actors[match_id] = actor
        actor.start()
        return actor

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
        await self.checkpoint()
        self.checkpointer = asyncio.get_running_loop().create_task(self.checkpoint_forever())

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
            doc = newer if newer is not None and newer["seq"] > checkpoint["seq"] else checkpoint
            doc = {**doc, "owner": self.owner}
            # read first, so the actor runs the moment the match is this
            # node's: a socket relayed here as soon as it is must find it
            users = await self.participants(doc) if doc.get("phase", "live") == "live" else {}
            arriving = self.arriving[match_id] = asyncio.get_running_loop().create_future()
            try:
                if not await self.store.matches.take(doc, checkpoint):
                    continue  # another node took it first
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

    async def participants(self, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The user documents of the match's host, challenger and spectators, by id."""
        ids = [doc["host_id"], doc["challenger_id"], *doc["spectator_ids"]]
        return await self.store.users.by_ids([i for i in ids if i])

    async def revive(self, doc: dict[str, Any], users: dict[str, dict[str, Any]]) -> None:
        """Run a restored or taken-over match, whose participants are ``users``
        (or finish its ending)."""
        phase = doc.get("phase", "live")
        if phase == "ending":
            log.warning("match %s: completing an interrupted ending", doc["id"])
            await finish_ending(self.store, doc)
        elif phase == "cancelling":
            await finish_cancelling(self.store, doc)
        else:
            actor = MatchActor(doc, users, self)
            self.actors[int(doc["id"])] = actor
            actor.start(restored=True)
            if self.checkpointer is not None:  # a takeover while running: its state here now
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

    async def checkpoint(self) -> None:
        """Re-append every live match's state to a new journal segment, then drop
        the older segments: the journal stays as small as the set of live matches.

        The appends go through each actor's mailbox (so none races a command) and
        are group-committed like any other append.
        """
        last = await self.store.journal.rotate()
        loop = asyncio.get_running_loop()
        replies = []
        for actor in list(self.actors.values()):
            reply: asyncio.Future[None] = loop.create_future()
            actor.post(Checkpoint(reply))
            replies.append(reply)
        results = await asyncio.gather(*replies, return_exceptions=True)
        if any(isinstance(result, BaseException) for result in results):
            log.warning("checkpoint incomplete; keeping journal segments through %d", last)
            return
        await self.store.journal.drop_through(last)

    async def checkpoint_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.checkpoint_interval)
            try:
                await self.checkpoint()
            except Exception:
                log.exception("checkpoint failed")

    async def fence(self) -> None:
        """This node has lost the database for most of its lease and will be
        taken for gone: stop every actor now, before another node takes its
        match over (the sockets get 1012 and reconnect, through whichever
        node, to the match's next owner).  Nothing is stored, as at a
        shutdown: what the clients saw is stored already."""
        actors = list(self.actors.values())
        self.actors.clear()
        tasks = [task for actor in actors if (task := actor.stop(*HANDOVER)) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def unfence(self) -> None:
        """The database answers again: run the matches still held by this
        node (those no other node took over while it was cut off)."""
        taken = await self.take_over(self.owner)
        log.warning("back in touch with the database: running %d matches again", taken)

    async def shutdown(self, *, handing_over: bool = False) -> None:
        """Stop every actor where it stands (sockets get 1001), or when
        ``handing_over`` (other nodes take the matches over) once it has
        answered the commands it has received: sockets get 1012 and reconnect
        to the next owner, those relayed from another node by themselves."""
        for task in (self.watcher, self.checkpointer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        actors = list(self.actors.values())
        code, reason = HANDOVER if handing_over else (1001, "Server shutting down")
        tasks = [task for actor in actors
                 if (task := actor.stop(code, reason, drain=handing_over)) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        # claims and releases under way finish before the store closes
        await asyncio.gather(*(task for actor in actors for task in list(actor.background)),
                             return_exceptions=True)
        self.actors.clear()

    def collect(self) -> list[str]:
        return self.metrics.lines(
            live_matches=len(self.actors),
            mailbox_depth=sum(actor.backlog for actor in self.actors.values()),
        )
