"""A live match's state and its transaction: what every part of the actor shares.

Handling a command is a transaction in memory:

1. work on a *draft*, a copy of the adopted state, collecting events;
2. persist the draft (write-ahead: the state an event shows is stored first);
3. adopt the draft, number the events and broadcast them.

Persisting is an append to the journal (``store.journal``), group-committed
with every other match's appends.  Commands a crowd sends may share one
append (a ``Batch``: ``actors.match.actor``).  Broadcasting never awaits a
socket: each socket queues its output and closes itself if it falls too far
behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actors.games import GAMES, Event, Game, Outcome, Seat
from actors.match import wire
from actors.match.claims import Claims
from actors.match.clocks import Timers, TurnClock
from actors.match.document import MatchDoc, players_of
from actors.match.host import Host
from actors.match.messages import Message, Socket, Stop
from actors.match.replay import Replay
from actors.match.roster import Roster
from actors.ticker import Tickable


@dataclass
class Draft:
    """A command's work in progress: the next state and the events it will send."""

    doc: MatchDoc
    events: list[Event] = field(default_factory=list)
    #: Claims to undo if persisting the draft fails.
    claimed: list[str] = field(default_factory=list)

    def play(self, outcome: Outcome) -> None:
        """Take a game hook's outcome: its state and its events."""
        state, events = outcome
        self.doc["state"] = state
        self.events.extend(events)


@dataclass
class Batch:
    """Commands handled together, persisted by one journal append.

    While a batch is open, ``commit`` adopts each draft at once (so the next
    command sees it) but stores nothing; what the commands send, and what
    they do once stored (releasing users), waits here until the batch's one
    append has succeeded: the write-ahead rule holds for the batch as a whole.
    """

    before: MatchDoc
    sends: list[Callable[[], None]] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    #: Releases reserved by the batch's leaves, called off if it is not stored.
    releases: list[tuple[str, asyncio.Future[None]]] = field(default_factory=list)


class MatchCore:
    """The adopted state, the sockets, and the one way to change what they see."""

    __slots__ = (
        'batch',
        'busy',
        'claims',
        'config',
        'disconnected',
        'doc',
        'finished',
        'game',
        'host',
        'id',
        'mailbox',
        'metrics',
        'replay',
        'roster',
        'sockets',
        'stopping',
        'store',
        'task',
        'tickable',
        'timers',
        'turn_clock',
    )

    def __init__(self, doc: MatchDoc, users: dict[str, dict[str, Any]], host: Host) -> None:
        self.doc = doc
        self.host = host
        self.store = host.store
        self.config = host.config
        self.metrics = host.metrics
        self.id = int(doc["id"])
        self.game: Game = GAMES[doc["game"]]
        self.roster = Roster(self.id, self.game.score, users)
        self.mailbox: asyncio.Queue[Message] = asyncio.Queue()
        self.claims = Claims(self.store, self.id, self.post)
        self.timers = Timers(self.post)
        self.turn_clock = TurnClock(self.timers,
                                    self.game.turn_timeout or self.config.turn_timeout)
        self.sockets: dict[str, Socket] = {}
        #: Participants whose socket dropped, within their grace period.
        self.disconnected: set[str] = set()
        self.busy = False  # a message is being handled (``MatchActor.serve``)
        self.finished = False
        #: Set by ``stop(drain=True)``: the actor stops once it reaches it.
        self.stopping: Stop | None = None
        self.task: asyncio.Task[None] | None = None
        self.batch: Batch | None = None
        #: After a restore: the events sent since, for sockets that follow the match.
        self.replay: Replay | None = None
        #: What the ticker drives for a realtime game (``actors.match.ticking``).
        self.tickable: Tickable | None = None

    # -- who is who ------------------------------------------------------------------

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        """The participants' user documents, by id."""
        return self.roster.users

    @property
    def matchmade(self) -> bool:
        """Made by the matchmaker: every player seated from the creation; the
        start happens by itself once all are attached."""
        return bool(self.doc.get("matchmade"))

    @property
    def live(self) -> bool:
        """Whether the match is still being played or waited for (not over)."""
        return not self.finished

    @property
    def background(self) -> set[asyncio.Task[None]]:
        """Claims and releases under way (a shutdown waits for them)."""
        return self.claims.background

    def participants(self) -> list[str]:
        return players_of(self.doc)

    def role_of(self, user_id: str, doc: MatchDoc | None = None) -> str | None:
        return self.roster.role_of(doc or self.doc, user_id)

    def seat_of(self, user_id: str) -> Seat | None:
        return self.roster.seat_map(self.doc).get(user_id)

    def member_view(self, user_id: str | None, doc: MatchDoc | None = None,
                    role: str | None = None) -> dict[str, Any] | None:
        return self.roster.member_view(doc or self.doc, user_id, role)

    def representation(self) -> dict[str, Any]:
        """The match as the REST API shows it."""
        return self.roster.representation(self.doc)

    # -- the mailbox -----------------------------------------------------------------

    def post(self, message: Message) -> None:
        if self.finished or self.stopping is not None:
            message.turned_away(self.stopping)
        else:
            self.mailbox.put_nowait(message)

    def stop(self, code: int = 1001, reason: str = "Server shutting down", *,
             drain: bool = False) -> asyncio.Task[None] | None:
        """Stop the actor (server shutdown): close its sockets with ``code``,
        drop its timers and end its coroutine, which is returned to be
        awaited.  Nothing is stored: the journal and the ongoing document
        already hold every state a client has seen.

        At once, by default; with ``drain`` (the match is handed to another
        node) once the messages already in the mailbox are handled, so that
        every command received gets its answer here, and a command that
        arrives meanwhile is refused with ``unavailable`` rather than lost."""
        if drain and self.task is not None and not self.finished:
            if self.stopping is None:
                self.stopping = Stop(code, reason)
                self.mailbox.put_nowait(self.stopping)
            return self.task
        self.halt(code, reason)
        if self.task is not None:
            self.task.cancel()
        return self.task

    def halt(self, code: int, reason: str) -> None:
        """Close the sockets with ``code`` and take nothing more in."""
        for socket in list(self.sockets.values()):
            socket.close(code, reason)
        self.finished = True
        self.timers.cancel_all()
        self.stop_ticking()

    def finish(self) -> None:
        """The match is over: no more timers or ticks, and the host forgets it."""
        self.finished = True
        self.timers.cancel_all()
        self.stop_ticking()
        self.host.finished(self.id, self)

    # -- realtime --------------------------------------------------------------------

    @property
    def tick_rate(self) -> float:
        return self.game.rate(self.config.tick_rate) or 0

    def start_ticking(self) -> None:
        if self.tickable is not None and not self.finished:
            self.host.ticker(self.tick_rate).add(self.tickable)

    def stop_ticking(self) -> None:
        if self.tickable is not None:
            self.host.ticker(self.tick_rate).discard(self.tickable)

    # -- sending ---------------------------------------------------------------------

    def emit(self, socket: Socket, data: bytes) -> None:
        """Send ``data`` to one socket now, or with its batch once the batch is stored."""
        if self.batch is not None:
            self.batch.sends.append(lambda: socket.send(data))
        else:
            socket.send(data)

    def once_stored(self, step: Callable[[], None]) -> None:
        """Run ``step`` now, or once the open batch is stored."""
        if self.batch is not None:
            self.batch.after.append(step)
        else:
            step()

    def reply_error(self, socket: Socket, frame: dict[str, Any], code: str,
                    message: str) -> None:
        self.emit(socket, wire.error(frame.get("id"), code, message))

    def clock(self) -> dict[str, Any] | None:
        """The turn clock as clients see it; ``None`` when no clock runs (not
        started, over, or a game without one)."""
        if not (self.game.turn_clock and self.doc["is_started"] and not self.finished):
            return None
        return self.turn_clock.view()

    def restart_turn_clock(self, *, started: bool = False) -> None:
        """Give the turn in play the whole turn from now; the events of the
        command being handled then carry the clock (``started``: the match is
        starting, so counts as started already)."""
        if self.game.turn_clock:
            self.turn_clock.restart(shown=started or self.doc["is_started"])

    def snapshot(self, user_id: str) -> bytes:
        """What an attaching socket gets first; ``you``: the user's seat,
        ``"spectator"`` or ``None``."""
        seat = self.seat_of(user_id)
        you = seat or self.role_of(user_id)
        return wire.snapshot(self.doc["seq"], you, self.representation(),
                             self.game.view(self.doc["state"], seat), self.clock())

    # -- the transaction -------------------------------------------------------------

    def draft(self) -> Draft:
        """A shallow copy: a command replaces what it changes, never mutates in
        place (the rules return new states), so the adopted state stays intact
        until the draft is stored; a deep copy of every state cost more than
        the rules themselves."""
        return Draft(self.doc.copy())

    async def commit(self, draft: Draft) -> int:
        """Persist the draft, adopt it and broadcast its events; the last event's seq.

        A draft without events shows nobody anything new (a paddle turning, a
        tick with nothing scored): it is adopted without being stored, since
        write-ahead covers what is shown.
        """
        if not draft.events and not draft.claimed:
            self.doc = draft.doc
            return self.doc["seq"]
        first_seq = self.doc["seq"] + 1
        draft.doc["seq"] = self.doc["seq"] + len(draft.events)
        if self.batch is not None:
            self.batch.claimed.extend(draft.claimed)
            self.doc = draft.doc
            doc = draft.doc
            self.batch.sends.append(lambda: self.broadcast(draft.events, first_seq, doc))
            return doc["seq"]
        started = time.perf_counter()
        try:
            await self.store.journal.append(draft.doc)
        except BaseException:
            for user_id in draft.claimed:
                await self.store.users.release(user_id, self.id)
            raise
        self.metrics.observe_write(time.perf_counter() - started)
        self.doc = draft.doc
        self.broadcast(draft.events, first_seq)
        return self.doc["seq"]

    def broadcast(self, events: list[Event], first_seq: int,
                  doc: MatchDoc | None = None) -> None:
        """Send each event to every socket, encoded once per view of the state
        (of ``doc``, the state the events led to; the adopted one by default).
        An event addressed to some seats shows its fields to those only."""
        if not self.sockets and self.replay is None:
            self.turn_clock.changed = False
            return
        doc = doc or self.doc
        # a restarted turn clock goes with the events that restarted it
        clock = self.clock() if self.turn_clock.changed else None
        self.turn_clock.changed = False
        views: dict[Seat | None, list[bytes]] = {}
        seat_map, viewers = self.roster.seating(self.doc)
        if self.game.public_view and all(event.to is None for event in events):
            viewers = (None,)
        for viewer in viewers:
            state = self.game.view(doc["state"], viewer)
            views[viewer] = [
                wire.event(first_seq + n, event.kind,
                           event.fields if event.to is None or viewer in event.to else {},
                           state, clock)
                for n, event in enumerate(events)
            ]
        everyone = views[None]
        for user_id, socket in list(self.sockets.items()):
            texts = views.get(seat_map[user_id], everyone) if user_id in seat_map else everyone
            for text in texts:
                socket.send(text)
        self.metrics.frames_out += len(events) * len(self.sockets)
        if self.replay is not None and not self.replay.record(first_seq, views):
            self.replay = None

    def missed(self, after: int | None, seat: Seat | None) -> list[bytes] | None:
        """The events after ``after`` as ``seat`` sees them, if the replay has
        them all; ``None`` otherwise (or with no resume point)."""
        if after is None or self.replay is None:
            return None
        return self.replay.missed(after, seat)
