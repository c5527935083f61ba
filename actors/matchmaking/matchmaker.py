"""The matchmaker: pairs waiting tickets into matches.

It keeps the queue in memory: every waiting ticket, as the rules see it.  A
*round* brings that copy up to date, asks the rules (``actors.matchmaking.pairing``)
which pairs to make, and settles each pair.  The copy is updated from the
tickets queued in this process at once (``remember``), from the feed of
tickets announced by any process (``TicketRepository.feed_since``: what is
new since the last round, whatever the queue's length), and, every
``RESYNC_INTERVAL`` seconds, from a read of the whole queue, which drops the
tickets that left it meanwhile.  Rounds run every ``ROUND_INTERVAL`` seconds
and as soon as a ticket is queued here (``wake``), so two compatible tickets
are paired well within 2 s.

Settling a pair is decided in the database, not in this process's memory, so
it holds with several matchmakers on one database and with a copy that is
out of date: each of the two tickets is taken from ``waiting`` by a
conditional update that only one pairing can win
(``TicketRepository.reserve``); then both users are claimed for the match (a
user is in at most one: ``UserRepository.claim``); then the match is stored,
and only then are the tickets shown ``matched``, so a player who reads their
ticket finds the match there.  When a step fails, what the earlier steps
took is given back: a ticket whose user entered a match another way is
removed, the other goes back to waiting with its waiting time; a ticket that
could not be taken (cancelled, or paired by another process) leaves the
copy.  After a crash between the steps, ``recover`` finishes the pairings
whose match was stored and puts the others' tickets back in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from actors.match.ending import fault_point
from actors.matchmaking.pairing import Waiting, Windows, groups
from actors.metrics import MatchmakingMetrics
from actors.registry import AlreadyInMatch, GameSetupFailed, Registry
from store.tickets import FEED_PAGE, MATCHED, WAITING, Ticket

log = logging.getLogger("arena.matchmaker")

#: Most seconds between two rounds (a window widens while nobody queues).
ROUND_INTERVAL = 0.5
#: Least seconds between two rounds, and the least share of the time left
#: between them to the rest of the server: the next round waits at least as
#: long as the last one took.
ROUND_GAP = 0.02
#: Seconds between two reads of the whole queue.
RESYNC_INTERVAL = 60.0
#: Tickets announced since the last round beyond which reading the whole
#: queue is cheaper than reading each of them.
RESYNC_BEYOND = 100
#: Seconds a number missing from the feed is looked for: another process has
#: taken it and is writing its entry (or died doing so).
HOLE_TIMEOUT = 10.0
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
        #: The waiting tickets, by user id, and the rules' view of each.
        self.queue: dict[str, tuple[Ticket, Waiting]] = {}
        #: The last feed entry read, the ones above it not seen yet (by when to
        #: stop looking), and when the whole queue was last read (0: never).
        self.cursor = 0
        self.holes: dict[int, float] = {}
        self.resynced = 0.0
        self.trim_through = 0

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

    def remember(self, ticket: Ticket) -> None:
        """A ticket was queued in this process: in the queue now, and a round soon."""
        self.queue[ticket["_id"]] = (ticket, waiting(ticket))
        self.woken.set()

    def forget(self, user_id: str) -> None:
        """The user left the queue through this process."""
        self.queue.pop(user_id, None)

    async def recover(self) -> None:
        """Finish or undo the pairings a crash interrupted: a ticket taken for
        a match that is live here is confirmed; one taken for a match that was
        never stored goes back to waiting (an ended match removes its tickets)."""
        for ticket in await self.store.tickets.taken():
            match_id = int(ticket["match"])
            if self.registry.get(match_id) is not None:
                await self.store.tickets.confirm(ticket["_id"], match_id)
            else:
                log.warning("ticket of %s: match %s was never stored; queued again",
                            ticket["username"], match_id)
                await self.store.tickets.unreserve(ticket["_id"], match_id)

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

    # -- the copy of the queue ----------------------------------------------------------

    async def refresh(self) -> None:
        """Bring the copy of the queue up to date: the feed since the last
        round, or the whole queue when ``RESYNC_INTERVAL`` has passed."""
        if time.monotonic() - self.resynced >= RESYNC_INTERVAL or not self.resynced:
            await self.resync()
        else:
            await self.catch_up()

    async def resync(self) -> None:
        tickets = self.store.tickets
        head = await tickets.feed_head()  # first: what is announced later, the feed brings
        self.queue = {t["_id"]: (t, waiting(t)) for t in await tickets.waiting()}
        if self.trim_through:  # read by every process by now (each reads every round)
            await tickets.trim_feed(self.trim_through)
        self.cursor, self.trim_through = head, self.cursor
        self.holes.clear()
        self.resynced = time.monotonic()

    async def catch_up(self) -> None:
        tickets = self.store.tickets
        now = time.monotonic()
        changed: set[str] = set()
        after = min(self.holes, default=self.cursor + 1) - 1
        while True:
            entries = await tickets.feed_since(after)
            for seq, user_id in entries:
                if seq > self.cursor:
                    for missing in range(self.cursor + 1, seq):
                        self.holes[missing] = now + HOLE_TIMEOUT
                    self.cursor = seq
                elif self.holes.pop(seq, None) is None:
                    continue  # read before
                changed.add(user_id)
            if len(entries) < FEED_PAGE:
                break
            after = entries[-1][0]
        self.holes = {seq: until for seq, until in self.holes.items() if until > now}
        if len(changed) > RESYNC_BEYOND:
            await self.resync()  # one read of the queue costs less than this many
            return
        for user_id in changed:
            ticket = await tickets.of(user_id)
            if ticket is not None and ticket["status"] == WAITING:
                self.queue[user_id] = (ticket, waiting(ticket))
            else:
                self.queue.pop(user_id, None)

    # -- a round ----------------------------------------------------------------------

    async def round(self) -> int:
        """Group what can be grouped now; how many matches were made."""
        started = time.perf_counter()
        await self.refresh()
        at = time.time()
        queue = dict(self.queue)
        chosen = groups((view for _, view in queue.values()), self.windows, at)
        slots = asyncio.Semaphore(SETTLING)

        async def settle(group: tuple[Waiting, ...]) -> set[str]:
            async with slots:
                return await self.settle([queue[t.key][0] for t in group], at)

        results = await asyncio.gather(*(settle(group) for group in chosen),
                                       return_exceptions=True)
        made = 0
        for group, result in zip(chosen, results, strict=True):
            if isinstance(result, BaseException):
                log.error("settling a match failed", exc_info=result)
                continue
            made += result == {t.key for t in group}
            for user_id in result:
                if self.queue.get(user_id, (None,))[0] is queue[user_id][0]:
                    del self.queue[user_id]  # (not queued again meanwhile)
        self.metrics.waiting = len(self.queue)
        self.metrics.rounds += 1
        self.metrics.round_seconds += time.perf_counter() - started
        return made

    async def settle(self, group: list[Ticket], at: float) -> set[str]:
        """Make the match of one group (the first ticket hosts), or give back
        what was taken.  Returns the users whose tickets leave the queue:
        all of them when the match was made."""
        tickets = self.store.tickets
        everyone = {ticket["_id"] for ticket in group}
        match_id = await self.store.counters.next("matches")
        reserved: list[Ticket] = []
        for ticket in group:
            if not await tickets.reserve(ticket, match_id):
                for taken in reserved:
                    await tickets.unreserve(taken["_id"], match_id)
                return {ticket["_id"]}
            reserved.append(ticket)
        fault_point("pair_reserved")
        host = group[0]
        try:
            users = await self.store.users.by_ids(list(everyone))
            gone = [t["_id"] for t in group if t["_id"] not in users]
            if gone:
                raise AlreadyInMatch("(deleted)", gone[0])
            await self.registry.create(users[host["_id"]], host["game"], host["target_score"],
                                       options=host.get("options") or {},
                                       seated=[users[t["_id"]] for t in group[1:]],
                                       match_id=match_id)
        except GameSetupFailed:  # the game cannot make this match: its tickets go
            for ticket in group:
                await tickets.remove_for_match(ticket["_id"], match_id)
            return everyone
        except AlreadyInMatch as refused:
            # in a match another way: that ticket goes, the others wait on
            for ticket in group:
                if ticket["_id"] == refused.user_id:
                    await tickets.remove_for_match(ticket["_id"], match_id)
                else:
                    await tickets.unreserve(ticket["_id"], match_id)
            return {refused.user_id}
        except BaseException:
            for ticket in group:
                await tickets.unreserve(ticket["_id"], match_id)
            raise
        for ticket in group:
            await tickets.confirm(ticket["_id"], match_id)
            self.metrics.waits.observe(at - ticket["queued_at"])
        self.metrics.pairings += 1
        return everyone

    # -- views -----------------------------------------------------------------------

    def view(self, ticket: Ticket) -> dict[str, Any]:
        """A ticket as the API shows it; ``window`` as it is now (or was when
        paired).  A ticket whose match is still being stored shows as waiting."""
        matched = ticket["status"] == MATCHED
        waited = (ticket["matched_at"] if matched else time.time()) - ticket["queued_at"]
        return {"id": ticket["id"], "game": ticket["game"],
                "target_score": ticket["target_score"], "players": ticket.get("players", 2),
                "options": ticket.get("options") or {}, "elo": ticket["elo"],
                "created": ticket["created"], "window": self.windows.at(waited),
                "status": MATCHED if matched else WAITING,
                "match": ticket["match"] if matched else None}

    def collect(self) -> list[str]:
        return self.metrics.lines()


def waiting(ticket: Ticket) -> Waiting:
    """A waiting ticket as the rules see it."""
    return Waiting(ticket["_id"], ticket["game"], ticket["target_score"], ticket["elo"],
                   ticket["queued_at"], json.dumps(ticket.get("options") or {}, sort_keys=True),
                   int(ticket.get("players", 2)))
