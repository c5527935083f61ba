"""The registry: spawns, finds, restores and drops match actors.

It is the one place that knows where a match's actor lives.  Today that is
this process (a dict); with several processes behind a router, ownership
could move to a lease document in MongoDB behind the same few methods.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from actors.ending import fault_point, finish_cancelling, finish_ending
from actors.games import GAMES
from actors.match import MatchActor
from actors.messages import Checkpoint
from actors.metrics import Metrics
from actors.ticker import Ticker
from config import Config
from store import Store
from store.matches import match_key
from store.timestamps import now

log = logging.getLogger("arena.registry")


class AlreadyInMatch(Exception):
    def __init__(self, username: str, user_id: str = "") -> None:
        super().__init__(f"User {username} is already in a match")
        self.user_id = user_id


class Registry:
    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.metrics = Metrics()
        self.actors: dict[int, MatchActor] = {}
        self.checkpointer: asyncio.Task[None] | None = None
        self.tickers: dict[float, Ticker] = {}

    def get(self, match_id: int) -> MatchActor | None:
        return self.actors.get(match_id)

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

    def drop(self, actor: MatchActor) -> None:
        if self.actors.get(actor.id) is actor:
            del self.actors[actor.id]

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
            doc = {
                "_id": match_key(match_id), "id": match_id, "game": game,
                "target_score": target, "host_id": user["_id"],
                "challenger_id": challenger["_id"] if challenger else None, "spectator_ids": [],
                "creation_timestamp": now(), "start_timestamp": None, "is_started": False,
                "is_challenger_ready": challenger is not None, "matchmade": challenger is not None,
                "state": GAMES[game].create(target, random.getrandbits(32)), "seq": 0,
                "phase": "live",
            }
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

    async def restore(self) -> None:
        """Re-create every ongoing match; finish endings a crash interrupted.

        A match's state is the newest of its checkpoint and its journal records.
        """
        await self.store.journal.open()
        journaled = await self.store.journal.latest()
        for checkpoint in await self.store.matches.all_ongoing():
            newer = journaled.get(int(checkpoint["id"]))
            doc = newer if newer is not None and newer["seq"] > checkpoint["seq"] else checkpoint
            phase = doc.get("phase", "live")
            if phase == "ending":
                log.warning("match %s: completing an interrupted ending", doc["id"])
                await finish_ending(self.store, doc)
            elif phase == "cancelling":
                await finish_cancelling(self.store, doc)
            else:
                ids = [doc["host_id"], doc["challenger_id"], *doc["spectator_ids"]]
                users = await self.store.users.by_ids([i for i in ids if i])
                actor = MatchActor(doc, users, self)
                self.actors[int(doc["id"])] = actor
                actor.start(restored=True)
        # A crash between claiming a user and storing the match (or the join) leaves
        # a claim on a match the user is not in: release those; keep the rest.
        users = self.store.users
        for user in await users.in_matches():
            if self.holds(user["ongoing_match"], user["_id"]):
                await users.restore_claim(user["_id"], user["ongoing_match"])
            else:
                await users.release(user["_id"], user["ongoing_match"])
        for claim in await users.all_claims():
            if not self.holds(claim["match"], claim["_id"]):
                await users.drop_claim(claim["_id"], claim["match"])
        await self.checkpoint()
        self.checkpointer = asyncio.get_running_loop().create_task(self.checkpoint_forever())

    def holds(self, match_id: int, user_id: str) -> bool:
        actor = self.actors.get(match_id)
        return actor is not None and user_id in actor.participants()

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

    async def shutdown(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.cancel()
            await asyncio.gather(self.checkpointer, return_exceptions=True)
        actors = list(self.actors.values())
        tasks = [task for actor in actors if (task := actor.stop()) is not None]
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
