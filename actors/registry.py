"""The registry: this node's match actors, spawned, found and dropped.

It is each actor's ``Host`` (``actors.match.host``): the store, the settings,
the counters and the tickers the actors share.  Every live match is held by
one node; which matches this one holds, and how it comes to hold those of
other nodes, is ``actors.cluster.ownership``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from actors.games import GAMES, Setup, seat_names
from actors.match.actor import MatchActor
from actors.match.document import MatchDoc, new_match
from actors.match.dormant import DormantMatch
from actors.match.ending import fault_point
from actors.match.messages import Checkpoint
from actors.metrics import Metrics
from actors.ticker import Ticker
from config import Config
from store import Store

log = logging.getLogger("arena.registry")


class AlreadyInMatch(Exception):
    def __init__(self, username: str, user_id: str = "") -> None:
        super().__init__(f"User {username} is already in a match")
        self.user_id = user_id


class GameSetupFailed(Exception):
    """The game's ``create`` raised: nothing is stored, nobody is claimed."""


#: How a match's sockets are closed when it moves to another node.
HANDOVER = (1012, "Service restart: reconnect")


class Registry:
    def __init__(self, store: Store, config: Config, owner: str = "") -> None:
        self.store = store
        self.config = config
        #: The id of the node this registry belongs to: the owner of its matches.
        self.owner = owner
        self.metrics = Metrics()
        self.actors: dict[int, MatchActor] = {}
        self.checkpointer: asyncio.Task[None] | None = None
        self.tickers: dict[float, Ticker] = {}
        #: This node's matches whose game is not loaded (``actors.match.dormant``).
        self.dormant: dict[int, DormantMatch] = {}

    def get(self, match_id: int) -> MatchActor | None:
        return self.actors.get(match_id)

    def ticker(self, rate: float) -> Ticker:
        """The one ticker of this process for realtime matches at ``rate`` ticks a second."""
        ticker = self.tickers.get(rate)
        if ticker is None:
            ticker = self.tickers[rate] = Ticker(rate)
        return ticker

    def ongoing(self) -> list[MatchActor | DormantMatch]:
        """The ongoing matches held here, by match id: the live actors (the
        ones ending are left out) and the dormant matches."""
        held: list[MatchActor | DormantMatch] = [
            actor for actor in self.actors.values() if actor.live]
        return sorted(held + list(self.dormant.values()), key=lambda match: match.id)

    def finished(self, match_id: int, actor: object) -> None:
        """The match's actor is over (``actors.match.host.Host``): forget it."""
        if self.actors.get(match_id) is actor:
            del self.actors[match_id]

    async def create(self, user: dict[str, Any], game: str, target: int, *,
                     players: int | None = None,
                     seated: list[dict[str, Any]] | None = None,
                     match_id: int | None = None,
                     options: dict[str, Any] | None = None) -> MatchActor:
        """A new match of ``players`` seats (the game's default if ``None``)
        hosted by ``user``; ``AlreadyInMatch`` (naming the user) if a player
        is in one already.

        With ``seated`` it is the matchmaker's: those users take the other
        seats, in order, ready, and the match starts by itself once everyone
        is attached (``Play.start_when_seated``).  A user who creates a match
        leaves the matchmaking queue.
        """
        options = options or {}
        rules = GAMES[game]
        count = len(seated) + 1 if seated else players or rules.default_players \
            or rules.min_players
        seats = seat_names(count)
        try:
            state = rules.create(Setup(target, seats, options, random.getrandbits(32)))
        except Exception as error:
            log.exception("game %s failed in create", game)
            raise GameSetupFailed(game) from error
        match_id = match_id or await self.store.counters.next("matches")
        entrants = [(user, "H"), *((other, "C") for other in seated or ())]
        claimed: list[str] = []
        try:
            for player, role in entrants:
                if not await self.store.users.claim(player["_id"], match_id, role):
                    raise AlreadyInMatch(player["username"], player["_id"])
                claimed.append(player["_id"])
            if not seated:
                await self.store.tickets.discard_waiting(user["_id"])
            else:
                fault_point("pair_claimed")
            seat_ids: list[str | None] = [player["_id"] for player, _ in entrants]
            seat_ids += [None] * (count - len(seat_ids))
            doc = new_match(match_id, game, target, seat_ids, state, self.owner, options,
                            matchmade=bool(seated))
            await self.store.matches.insert(doc)
        except BaseException:
            for user_id in claimed:
                await self.store.users.release(user_id, match_id)
            raise
        users = {player["_id"]: {**player, "ongoing_match": match_id, "role": role}
                 for player, role in entrants}
        return self.spawn(doc, users)

    def spawn(self, doc: MatchDoc, users: dict[str, dict[str, Any]], *,
              restored: bool = False) -> MatchActor:
        """Run the match ``doc`` here, whose participants are ``users``."""
        actor = MatchActor(doc, users, self)
        self.actors[actor.id] = actor
        actor.start(restored=restored)
        return actor

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

    async def start_checkpoints(self) -> None:
        """Checkpoint now, then every ``checkpoint_interval`` seconds."""
        await self.checkpoint()
        self.checkpointer = asyncio.get_running_loop().create_task(self.checkpoint_forever())

    @property
    def checkpointing(self) -> bool:
        return self.checkpointer is not None

    async def checkpoint_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.checkpoint_interval)
            try:
                await self.checkpoint()
            except Exception:
                log.exception("checkpoint failed")

    async def shutdown(self, *, handing_over: bool = False) -> None:
        """Stop every actor where it stands (sockets get 1001), or when
        ``handing_over`` (other nodes take the matches over) once it has
        answered the commands it has received: sockets get 1012 and reconnect
        to the next owner, those relayed from another node by themselves."""
        if self.checkpointer is not None:
            self.checkpointer.cancel()
            await asyncio.gather(self.checkpointer, return_exceptions=True)
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
            live_matches=len(self.actors), dormant_matches=len(self.dormant),
            mailbox_depth=sum(actor.backlog for actor in self.actors.values()),
        )
