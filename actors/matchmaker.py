"""The matchmaker: pairs waiting tickets into matches.

A *round* reads every waiting ticket from the database, asks the rules
(``actors.pairing``) which pairs to make, and settles each pair.  Rounds run
every ``ROUND_INTERVAL`` seconds and soon after a ticket is queued in this
process (``wake``), so two compatible tickets are paired well within 2 s.

Settling a pair is decided in the database, not in this process's memory, so
it holds with several matchmakers on one database: each of the two tickets
is moved from ``waiting`` to ``matched`` by a conditional update that only
one pairing can win (``TicketRepository.reserve``); then both users are
claimed for the match (a user is in at most one: ``UserRepository.claim``),
and only then is the match stored.  When a step fails, what the earlier
steps took is given back: a ticket whose user entered a match another way is
removed, the other goes back to waiting with its waiting time.  A crash
between the steps leaves a ticket matched to a match that was never stored;
``recover`` puts those back in the queue at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from actors.ending import fault_point
from actors.metrics import MatchmakingMetrics
from actors.pairing import Waiting, Windows, pairs
from actors.registry import AlreadyInMatch, Registry
from store.tickets import Ticket

log = logging.getLogger("arena.matchmaker")

#: Most seconds between two rounds (a window widens while nobody queues).
ROUND_INTERVAL = 0.5
#: Least seconds between two rounds, and the least share of the time left
#: between them to the rest of the server: the next round waits at least as
#: long as the last one took.
ROUND_GAP = 0.02
#: Pairs settled at once (each is a few database round trips).
SETTLING = 32


class Matchmaker:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.store = registry.store
        config = registry.config
        self.windows = Windows(config.matchmaking_window, config.matchmaking_widen,
                               config.matchmaking_every)
        self.metrics = MatchmakingMetrics()
        self.woken = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- life ------------------------------------------------------------------------

    async def start(self) -> None:
        """Put back tickets a crash left half paired, then run rounds until ``stop``."""
        await self.recover()
        self.task = asyncio.get_running_loop().create_task(self.run(), name="matchmaker")

    async def stop(self) -> None:
        """Stop between rounds (a round in progress is cancelled where it stands;
        what it had taken, ``recover`` gives back at the next start)."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    def wake(self) -> None:
        """A ticket was queued: run a round soon."""
        self.woken.set()

    async def recover(self) -> None:
        """Tickets matched to a match that is not live here were left by a crash
        in the middle of a pairing (an ended match removes its tickets):
        back to waiting."""
        for ticket in await self.store.tickets.matched():
            if self.registry.get(int(ticket["match"])) is None:
                log.warning("ticket of %s: match %s was never stored; queued again",
                            ticket["username"], ticket["match"])
                await self.store.tickets.unreserve(ticket["_id"], ticket["match"])

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), ROUND_INTERVAL)
            self.woken.clear()
            started = time.perf_counter()
            try:
                await self.round()
            except Exception:
                log.exception("a matchmaking round failed")
            await asyncio.sleep(max(ROUND_GAP, time.perf_counter() - started))

    # -- a round ----------------------------------------------------------------------

    async def round(self) -> int:
        """Pair what can be paired now; how many pairs were made."""
        started = time.perf_counter()
        tickets = {ticket["_id"]: ticket for ticket in await self.store.tickets.waiting()}
        at = time.time()
        chosen = pairs((Waiting(t["_id"], t["game"], t["target_score"], t["elo"], t["queued_at"])
                        for t in tickets.values()), self.windows, at)
        slots = asyncio.Semaphore(SETTLING)

        async def settle(host: Waiting, challenger: Waiting) -> bool:
            async with slots:
                return await self.settle(tickets[host.key], tickets[challenger.key], at)

        results = await asyncio.gather(*(settle(*pair) for pair in chosen),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("settling a pair failed", exc_info=result)
        made = sum(result is True for result in results)
        self.metrics.waiting = len(tickets) - 2 * made
        self.metrics.rounds += 1
        self.metrics.round_seconds += time.perf_counter() - started
        return made

    async def settle(self, host: Ticket, challenger: Ticket, at: float) -> bool:
        """Make the match of one pair, or give back what was taken; whether it was made."""
        tickets = self.store.tickets
        match_id = await self.store.counters.next("matches")
        if not await tickets.reserve(host, match_id):
            return False
        if not await tickets.reserve(challenger, match_id):
            await tickets.unreserve(host["_id"], match_id)
            return False
        fault_point("pair_reserved")
        try:
            users = await self.store.users.by_ids([host["_id"], challenger["_id"]])
            gone = [t["_id"] for t in (host, challenger) if t["_id"] not in users]
            if gone:
                raise AlreadyInMatch("(deleted)", gone[0])
            await self.registry.create(users[host["_id"]], host["game"], host["target_score"],
                                       challenger=users[challenger["_id"]], match_id=match_id)
        except AlreadyInMatch as refused:
            # in a match another way: that ticket goes, the other waits on
            for ticket in (host, challenger):
                if ticket["_id"] == refused.user_id:
                    await tickets.remove_for_match(ticket["_id"], match_id)
                else:
                    await tickets.unreserve(ticket["_id"], match_id)
            return False
        except BaseException:
            for ticket in (host, challenger):
                await tickets.unreserve(ticket["_id"], match_id)
            raise
        self.metrics.pairings += 1
        for ticket in (host, challenger):
            self.metrics.waits.observe(at - ticket["queued_at"])
        return True

    # -- views -----------------------------------------------------------------------

    def view(self, ticket: Ticket) -> dict[str, Any]:
        """A ticket as the API shows it; ``window`` as it is now (or was when paired)."""
        waited = (ticket.get("matched_at") or time.time()) - ticket["queued_at"]
        return {"id": ticket["id"], "game": ticket["game"],
                "target_score": ticket["target_score"], "elo": ticket["elo"],
                "created": ticket["created"], "window": self.windows.at(waited),
                "status": ticket["status"], "match": ticket["match"]}

    def collect(self) -> list[str]:
        return self.metrics.lines()
