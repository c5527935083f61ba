"""One live match: a coroutine with a mailbox that owns the match's state.

Every command for the match (a socket attaching, detaching or sending a
frame, a REST delete, a timer firing) is a message in the mailbox, handled one
at a time in arrival order.  Handling one is a transaction in memory:

1. work on a *draft*, a copy of the adopted state, collecting events;
2. persist the draft (write-ahead: the state an event shows is stored first);
3. adopt the draft, number the events and broadcast them.

Persisting is an append to the journal (``store.journal``), group-committed
with every other match's appends; every ``--checkpoint-interval`` seconds
each live match re-appends its state to a fresh journal segment so the older
ones can be dropped.

A command that fails (a refused move, a database error, a bug) leaves the
adopted state as it was and answers its sender with an error; the actor
lives on.  Broadcasting never awaits a socket: each socket queues its output
and closes itself if it falls too far behind.

The end of a match is made exactly-once without transactions: the decision
(result and new ratings) is stored first in the ongoing document
(``phase: "ending"``), then each step is idempotent and replayed at start-up
if the process died in between: store the completed match (its ``_id`` is
the match id), set each player's new elo while releasing them (guarded by
``ongoing_match``), release the spectators, delete the ongoing document.
Cancelling works the same way with ``phase: "cancelling"`` (``actors.ending``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from actors.ending import decide_result, fault_point, finish_cancelling, finish_ending
from actors.games import GAMES, Event, Game, IllegalMove, Seat, other
from actors.messages import (
    Attach,
    Cancel,
    Checkpoint,
    Claimed,
    CommandError,
    Detach,
    Frame,
    Socket,
    Stop,
    Tick,
    Timeout,
    error_frame,
)
from actors.views import completed_view, user_view
from store.timestamps import format_timestamp, now

if TYPE_CHECKING:
    from actors.registry import Registry

log = logging.getLogger("arena.match")

ROLE_CODES = {"host": "H", "challenger": "C", "spectator": "S"}
PLAYER_SEATS: tuple[Seat, Seat] = ("host", "challenger")


@dataclass
class Draft:
    """A command's work in progress: the next state and the events it will send."""

    doc: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    #: Claims to undo if persisting the draft fails.
    claimed: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """Commands handled together, persisted by one journal append.

    While a batch is open, ``commit`` adopts each draft at once (so the next
    command sees it) but stores nothing; what the commands send, and what
    they do once stored (releasing users), waits here until the batch's one
    append has succeeded: the write-ahead rule holds for the batch as a whole.
    """

    before: dict[str, Any]
    sends: list[Callable[[], None]] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    #: Releases reserved by the batch's leaves, called off if it is not stored.
    releases: list[tuple[str, asyncio.Future[None]]] = field(default_factory=list)


#: Most queued commands handled in one batch.
BATCH_LIMIT = 64
#: Most events a restored match keeps for the sockets that follow it here (``replay``).
REPLAY_LIMIT = 1024


class MatchActor:
    def __init__(self, doc: dict[str, Any], users: dict[str, dict[str, Any]],
                 registry: Registry) -> None:
        self.doc = doc
        self.users = users  # the participants' user documents, by id
        self.registry = registry
        self.store = registry.store
        self.config = registry.config
        self.metrics = registry.metrics
        self.game: Game = GAMES[doc["game"]]
        #: Ticks per second (realtime games), and the seconds of play each advances.
        self.tick_rate = self.game.rate(self.config.tick_rate) or 0
        self.tick_dt = 1.0 / self.tick_rate if self.tick_rate else 0.0
        self.tick_queued = False  # a Tick waits in the mailbox: do not post another
        self.busy = False  # a message is being handled (``serve``)
        #: Work started off the actor's turn (claims, releases) and not done yet;
        #: a shutdown waits for it before the store closes.
        self.background: set[asyncio.Task[None]] = set()
        self.mailbox: asyncio.Queue[Any] = asyncio.Queue()
        self.sockets: dict[str, Socket] = {}
        self.disconnected: set[str] = set()
        self.timers: dict[tuple[str, Any], asyncio.TimerHandle] = {}
        self.turn_deadline = 0.0  # loop time; see ``restart_turn_clock``
        #: The clock was restarted by the command being handled: its events say so.
        self.clock_changed = False
        self.finished = False
        #: Set by ``stop(drain=True)``: the actor stops once it reaches it.
        self.stopping: Stop | None = None
        self.task: asyncio.Task[None] | None = None
        #: Users being released from this match off the actor's turn, by id; a
        #: claim for one of them waits for it (``claim_off_turn``).
        self.releasing: dict[str, asyncio.Task[None]] = {}
        #: Joins whose claim is made off the actor's turn and not yet handled,
        #: by ``id`` of the join frame: (the claim's task, socket, frame, user
        #: id).  The end of the match settles them (``settle_joins``).
        self.joining: dict[int, tuple[asyncio.Task[None], Socket, dict[str, Any], str]] = {}
        #: Frames from a user whose join is being claimed, handled after it, in order.
        self.held: dict[str, list[Frame]] = {}
        self.batch: Batch | None = None
        #: After a restore (a takeover, a restart): the events sent since, by
        #: first ``seq``, encoded per view, so that a socket following the match
        #: from the node that handed it over gets each event it missed
        #: (``Attach.resume``) instead of a jump to a snapshot.  Kept for the
        #: grace period, within which such sockets come back.
        self.replay: list[tuple[int, dict[Seat | None, list[bytes]]]] | None = None
        self.replay_from = 0  # the seq the replay starts after
        self._spectators: tuple[list[str] | None, frozenset[str]] = (None, frozenset())
        #: user id -> (the user document it was made from, role, view)
        self._views: dict[str, tuple[dict[str, Any], str | None, dict[str, Any]]] = {}

    @property
    def id(self) -> int:
        return int(self.doc["id"])

    # -- life ----------------------------------------------------------------------

    def start(self, *, restored: bool = False) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"match-{self.id}")
        if restored:
            self.replay, self.replay_from = [], self.doc["seq"]
            self.set_timer("replay", None, self.config.grace_period)
            # After a restart everyone counts as dropped now: each has the grace period.
            for user_id in self.participants():
                self.disconnected.add(user_id)
                self.set_timer("grace", user_id, self.config.grace_period)
            if self.doc["is_started"]:
                self.doc = {**self.doc, "state": self.game.restored(self.doc["state"])}
                self.restart_turn_clock()
                self.start_ticking()
        if not self.doc["is_started"]:
            if self.matchmade:  # it starts by itself, or not at all
                self.set_timer("unstarted", None, self.config.grace_period)
            else:
                self.set_timer("idle", None, self.config.idle_timeout)

    @property
    def matchmade(self) -> bool:
        """Made by the matchmaker: both players seated from the start, which
        happens by itself once both are attached (``start_when_seated``)."""
        return bool(self.doc.get("matchmade"))

    @property
    def live(self) -> bool:
        """Whether the match is still being played or waited for (not over)."""
        return not self.finished

    @property
    def backlog(self) -> int:
        """Messages waiting in the mailbox (``arena_mailbox_depth``)."""
        return self.mailbox.qsize()

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
        self.cancel_timers()
        self.stop_ticking()

    def post(self, message: Any) -> None:
        if self.finished or self.stopping is not None:
            self.turn_away(message)
        else:
            self.mailbox.put_nowait(message)

    def turn_away(self, message: Any) -> None:
        """Answer a message that reached the actor after its match was over."""
        if isinstance(message, Claimed) and message.ok:
            self.release_off_turn(message.user["_id"])  # type: ignore[index]
            self.reply_error(message.socket, message.frame, "not_found", "The match is over.")
        elif isinstance(message, Cancel) and not message.reply.done():
            message.reply.set_exception(CommandError("not_found", "The match is over."))
        elif isinstance(message, Checkpoint) and not message.reply.done():
            message.reply.set_result(None)  # nothing left to keep
        elif isinstance(message, Attach):
            if self.stopping is not None:  # moving: the next owner has it
                message.socket.close(self.stopping.code, self.stopping.reason)
            else:
                message.socket.close(4404, "No such match")
        elif isinstance(message, Frame) and self.stopping is not None:
            self.reply_error(message.socket, message.message, "unavailable",
                             "The match is moving to another server; send that again.")

    async def run(self) -> None:
        try:
            await self.serve()
        finally:
            self.finished = True
            while not self.mailbox.empty():
                self.turn_away(self.mailbox.get_nowait())

    async def serve(self) -> None:
        held: Any = None  # a message taken while gathering a batch that cannot join it
        while not self.finished:
            message = held if held is not None else await self.mailbox.get()
            held = None
            if isinstance(message, Stop):
                self.halt(message.code, message.reason)  # what was ahead is answered
                break
            batch = [message]
            if self.batchable(message):
                while len(batch) < BATCH_LIMIT and not self.mailbox.empty():
                    queued = self.mailbox.get_nowait()
                    if not self.batchable(queued):
                        held = queued
                        break
                    batch.append(queued)
            self.busy = True
            try:
                if len(batch) > 1:
                    await self.handle_batch(batch)
                else:
                    await self.handle(message)
            finally:
                self.busy = False
        self.cancel_timers()

    async def handle(self, message: Any) -> None:
        try:
            await self.dispatch(message)
            if self.finished:  # after the last event and the sender's ack
                for socket in list(self.sockets.values()):
                    socket.close(4410, "The match is over")
                self.sockets.clear()
        except Exception:
            log.exception("match %s: command %r failed", self.id, type(message).__name__)
            self.answer_failure(message)

    def answer_failure(self, message: Any) -> None:
        if isinstance(message, Frame):
            self.reply_error(message.socket, message.message, "internal_error",
                             "The server could not apply that; nothing changed.")
        elif isinstance(message, Claimed):
            self.release_off_turn(message.socket.user_id or "")
            self.reply_error(message.socket, message.frame, "internal_error",
                             "The server could not apply that; nothing changed.")
        elif isinstance(message, (Cancel, Checkpoint)) and not message.reply.done():
            message.reply.set_exception(CommandError("internal_error", "failed"))

    def batchable(self, message: Any) -> bool:
        """Whether a message may share a journal append with its neighbours: the
        commands a crowd sends (spectators coming and going, pings) and none
        that can end the match, start it or set a player's clock."""
        if isinstance(message, Claimed):
            return True
        if isinstance(message, Detach):
            user_id = message.socket.user_id
            return user_id is not None and user_id in self.doc["spectator_ids"]
        if not isinstance(message, Frame):
            return False
        kind = message.message.get("type")
        if kind in ("ping", "join"):
            return True
        user_id = message.socket.user_id
        return kind == "leave" and user_id is not None and (
            user_id in self.doc["spectator_ids"]
            or (user_id == self.doc["challenger_id"] and not self.doc["is_started"]
                and not self.matchmade))

    async def handle_batch(self, messages: list[Any]) -> None:
        """Handle ``messages`` in order against one draft of the match, store the
        result with one append, then send what each of them sends, in order.
        If the append fails, the match stays as it was before the batch and
        every sender is told nothing changed."""
        batch = self.batch = Batch(before=self.doc)
        try:
            for message in messages:
                await self.handle(message)  # its replies wait in the batch (``emit``)
        finally:
            self.batch = None
        if self.doc is not batch.before:
            started = time.perf_counter()
            try:
                await self.store.journal.append(self.doc)
            except Exception:
                log.exception("match %s: storing a batch of %d failed", self.id, len(messages))
                self.doc = batch.before
                for user_id, done in batch.releases:  # they stay in: nothing to wait for
                    self.forget_release(user_id, done, called_off=True)
                for user_id in batch.claimed:
                    self.release_off_turn(user_id)
                for message in messages:
                    if isinstance(message, Frame) and message.message.get("type") == "ping":
                        self.do_ping_now(message.socket, message.message)
                    else:
                        self.answer_failure(message)
                return
            self.metrics.observe_write(time.perf_counter() - started)
        for send in batch.sends:
            send()
        for step in batch.after:
            step()

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

    async def dispatch(self, message: Any) -> None:
        if isinstance(message, Frame):
            await self.on_frame(message)
        elif isinstance(message, Attach):
            await self.on_attach(message)
        elif isinstance(message, Detach):
            await self.on_detach(message)
        elif isinstance(message, Cancel):
            await self.on_cancel(message)
        elif isinstance(message, Tick):
            await self.on_tick()
        elif isinstance(message, Timeout):
            await self.on_timeout(message)
        elif isinstance(message, Claimed):
            await self.on_claimed(message)
        elif isinstance(message, Checkpoint):
            await self.store.journal.append(self.doc)
            message.reply.set_result(None)

    # -- who is who ---------------------------------------------------------------------

    def participants(self) -> list[str]:
        ids = [self.doc["host_id"]]
        if self.doc["challenger_id"]:
            ids.append(self.doc["challenger_id"])
        return ids + list(self.doc["spectator_ids"])

    def role_of(self, doc: dict[str, Any], user_id: str) -> str | None:
        if user_id == doc["host_id"]:
            return "host"
        if user_id == doc["challenger_id"]:
            return "challenger"
        if user_id in self.spectator_set(doc["spectator_ids"]):
            return "spectator"
        return None

    def spectator_set(self, ids: list[str]) -> frozenset[str]:
        """``ids`` as a set, kept while the list is the same object (a command
        replaces the list, never changes it), so a lookup is O(1) however many
        watch."""
        if self._spectators[0] is not ids:
            self._spectators = (ids, frozenset(ids))
        return self._spectators[1]

    def seat_of(self, user_id: str) -> Seat | None:
        """The user's seat, if they are a player (no list to search)."""
        if user_id == self.doc["host_id"]:
            return "host"
        if user_id == self.doc["challenger_id"]:
            return "challenger"
        return None

    # -- representations ---------------------------------------------------------------

    def member_view(self, user_id: str | None, doc: dict[str, Any] | None = None,
                    role: str | None = None) -> Any:
        """The user as the REST API shows them in this match (``role``: theirs,
        when the caller knows it).  Cached per user document and role: a
        snapshot shows every spectator, and most of them do not change."""
        doc = doc or self.doc
        if user_id is None or user_id not in self.users:
            return None
        role = role or self.role_of(doc, user_id)
        user = self.users[user_id]
        cached = self._views.get(user_id)
        if cached is not None and cached[0] is user and cached[1] == role:
            return cached[2]
        view = user_view({**user, "ongoing_match": self.id, "role": ROLE_CODES.get(role or "")})
        self._views[user_id] = (user, role, view)
        return view

    def representation(self, doc: dict[str, Any] | None = None) -> dict[str, Any]:
        doc = doc or self.doc
        return {
            "id": self.id,
            "game": doc["game"],
            "target_score": doc["target_score"],
            "host": self.member_view(doc["host_id"], doc),
            "challenger": self.member_view(doc["challenger_id"], doc),
            "spectators": [self.member_view(s, doc, "spectator") for s in doc["spectator_ids"]],
            "creation_timestamp": doc["creation_timestamp"],
            "start_timestamp": doc["start_timestamp"],
            "is_started": doc["is_started"],
            "is_challenger_ready": doc["is_challenger_ready"],
            "score": self.game.score(doc["state"]),
        }

    def snapshot(self, user_id: str) -> bytes:
        return orjson.dumps({
            "type": "snapshot", "seq": self.doc["seq"], "you": self.role_of(self.doc, user_id),
            "match": self.representation(),
            "state": self.game.view(self.doc["state"], self.seat_of(user_id)),
            "clock": self.clock(),
        })

    def clock(self) -> dict[str, Any] | None:
        """The turn clock as clients see it: the seconds left in the turn in
        play (``left``: a client counts down from when it got them, whatever
        its own clock says), when that is on the server's clock
        (``deadline``, ISO) and how long a turn is (``seconds``); ``None``
        when no clock runs (not started, over, or a game without one)."""
        if not (self.game.turn_clock and self.doc["is_started"] and not self.finished):
            return None
        left = max(0.0, self.turn_deadline - asyncio.get_running_loop().time())
        return {"left": round(left, 3),
                "deadline": format_timestamp(datetime.now(UTC) + timedelta(seconds=left)),
                "seconds": self.config.turn_timeout}

    # -- the transaction -------------------------------------------------------------------

    def draft(self) -> Draft:
        """A shallow copy: a command replaces what it changes, never mutates in
        place (the rules return new states), so the adopted state stays intact
        until the draft is stored; a deep copy of every state cost more than
        the rules themselves."""
        return Draft(dict(self.doc))

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
                  doc: dict[str, Any] | None = None) -> None:
        """Send each event to every socket, encoded once per view of the state
        (of ``doc``, the state the events led to; the adopted one by default).
        An event addressed to some seats shows its fields to those only."""
        if not self.sockets and self.replay is None:
            self.clock_changed = False
            return
        doc = doc or self.doc
        # a restarted turn clock goes with the events that restarted it
        clock = {"clock": self.clock()} if self.clock_changed else {}
        self.clock_changed = False
        views: dict[Seat | None, list[bytes]] = {}
        for viewer in (None, *PLAYER_SEATS):
            state = self.game.view(doc["state"], viewer)
            views[viewer] = [
                orjson.dumps({"type": "event", "seq": first_seq + n, "kind": event.kind,
                              **(event.fields if event.to is None or viewer in event.to
                                 else {}),
                              "state": state, **clock})
                for n, event in enumerate(events)
            ]
        for user_id, socket in list(self.sockets.items()):
            for text in views[self.seat_of(user_id)]:
                socket.send(text)
        self.metrics.frames_out += len(events) * len(self.sockets)
        if self.replay is not None:
            self.replay.append((first_seq, views))
            if first_seq - self.replay_from > REPLAY_LIMIT:
                self.replay = None

    def missed(self, after: int | None, seat: Seat | None) -> list[bytes] | None:
        """The events after ``after`` as ``seat`` sees them, in order, if
        they are all in the replay; ``None`` if some are not (or no resume
        point was given: the socket gets a snapshot)."""
        if after is None or self.replay is None or after < self.replay_from:
            return None
        return [text for first, views in self.replay for n, text in enumerate(views[seat])
                if first + n > after]

    @staticmethod
    def play(draft: Draft, outcome: tuple[dict[str, Any], list[Event]]) -> None:
        """Take a game hook's outcome into the draft: its state and its events."""
        state, events = outcome
        draft.doc["state"] = state
        draft.events.extend(events)

    # -- realtime games --------------------------------------------------------------

    def start_ticking(self) -> None:
        if self.game.realtime and not self.finished:
            self.registry.ticker(self.tick_rate).add(self)

    def stop_ticking(self) -> None:
        if self.game.realtime:
            self.registry.ticker(self.tick_rate).discard(self)

    def post_tick(self) -> None:
        """Called by the ticker: a tick is due.

        An actor with nothing to do (no message being handled, none waiting)
        runs a tick that shows no event at once, here: nothing can interleave
        with it, as it neither awaits nor stores anything, and it saves a
        mailbox round trip for nearly every tick.  Otherwise the tick goes
        through the mailbox like any command, at most one waiting (a match
        that falls behind skips ticks rather than queueing them).
        """
        if self.finished or self.tick_queued:
            return
        if not self.busy and self.mailbox.empty() and self.tick_at_once():
            return
        self.tick_queued = True
        self.mailbox.put_nowait(Tick())

    def tick_at_once(self) -> bool:
        """Run the tick now if it shows no event (the rules are pure, so the
        mailbox's ``on_tick`` computes the same step again if not)."""
        if not self.in_play():
            return True
        try:
            state, events = self.game.tick(self.doc["state"], self.tick_dt)
            if events or self.game.winner(state) is not None:
                return False
            self.doc = {**self.doc, "state": state}
            self.send_state()
        except Exception:
            log.exception("match %s: a tick failed", self.id)
        return True

    def in_play(self) -> bool:
        """Started, not over, and both players attached: the simulation runs."""
        doc = self.doc
        return (doc["is_started"] and not self.finished
                and doc["host_id"] in self.sockets and doc["challenger_id"] in self.sockets)

    async def on_tick(self) -> None:
        """One step of the simulation; what it scores is stored before it is
        shown, then every socket gets the newest state."""
        self.tick_queued = False
        if not self.in_play():
            return
        draft = self.draft()
        self.play(draft, self.game.tick(self.doc["state"], self.tick_dt))
        winner = self.game.winner(draft.doc["state"])
        if winner is not None:
            await self.end(draft, winner, "score")
            return
        await self.commit(draft)
        self.send_state()

    def send_state(self) -> None:
        """A state frame to every socket, encoded once per view; a socket that
        is behind keeps only the newest (``Socket.send_state``)."""
        doc = self.doc
        tick = self.game.ticks(doc["state"])
        frames: dict[Seat | None, bytes] = {}
        public = self.game.public_view
        for user_id, socket in self.sockets.items():
            seat = None if public else self.seat_of(user_id)
            data = frames.get(seat)
            if data is None:
                data = frames[seat] = orjson.dumps({
                    "type": "state", "seq": doc["seq"], "tick": tick,
                    "state": self.game.view(doc["state"], seat)})
            socket.send_state(data)
        self.metrics.state_frames += len(self.sockets)

    # -- sockets -----------------------------------------------------------------------

    async def on_attach(self, message: Attach) -> None:
        user_id = message.user["_id"]
        previous = self.sockets.get(user_id)
        if previous is not None and previous is not message.socket:
            previous.close(4409, "Replaced by a newer socket")
        self.sockets[user_id] = message.socket
        if user_id in self.disconnected:
            self.disconnected.discard(user_id)
            self.clear_timer("grace", user_id)
            self.users[user_id] = message.user
            draft = self.draft()
            draft.events.append(Event("reconnected", {"user": self.member_view(user_id),
                                                       "role": self.role_of(self.doc, user_id)}))
            seat = self.seat_of(user_id)
            if seat is not None and self.doc["is_started"]:
                self.play(draft, self.game.returned(draft.doc["state"], seat))
            # the reconnected event goes to the others; the returner gets the snapshot
            del self.sockets[user_id]
            await self.commit(draft)
            self.sockets[user_id] = message.socket
        if user_id == self.doc["host_id"]:
            self.clear_timer("idle", None)
        missed = self.missed(message.resume, self.seat_of(user_id))
        if missed is None:
            message.socket.send(self.snapshot(user_id))
        for text in missed or ():
            message.socket.send(text)
        await self.start_when_seated()

    async def on_detach(self, message: Detach) -> None:
        user_id = message.socket.user_id
        if user_id is None or self.sockets.get(user_id) is not message.socket:
            return  # an observer that never authenticated, or a replaced socket
        del self.sockets[user_id]
        role = self.role_of(self.doc, user_id)
        if role is None:
            return
        if user_id == self.doc["host_id"] and not self.doc["is_started"] and not self.matchmade:
            self.set_timer("idle", None, self.config.idle_timeout)
        if role == "spectator":
            await self.let_go(user_id, role)
            return
        draft = self.draft()
        self.disconnected.add(user_id)
        self.set_timer("grace", user_id, self.config.grace_period)
        draft.events.append(Event("disconnected", {"user": self.member_view(user_id),
                                                    "role": role}))
        seat = self.seat_of(user_id)
        if seat is not None and self.doc["is_started"]:
            self.play(draft, self.game.dropped(draft.doc["state"], seat))
        await self.commit(draft)

    # -- frames ------------------------------------------------------------------------

    def reply_error(self, socket: Socket, frame: dict[str, Any], code: str,
                    message: str) -> None:
        self.emit(socket, error_frame(frame.get("id"), code, message))

    async def on_frame(self, message: Frame) -> None:
        frame, socket = message.message, message.socket
        user_id = socket.user_id
        if user_id is None or self.sockets.get(user_id) is not socket:
            return  # replaced meanwhile
        if user_id in self.held:  # the user's join is still being claimed: after it
            self.held[user_id].append(message)
            return
        handler = self.FRAME_HANDLERS.get(frame.get("type"))  # type: ignore[arg-type]
        if handler is None:
            self.reply_error(socket, frame, "unknown_type", f"Unknown type {frame.get('type')!r}.")
            return
        try:
            seq = await handler(self, user_id, frame, socket)
        except (CommandError, IllegalMove) as error:
            self.reply_error(socket, frame, error.code, error.message)
            return
        if seq is not None:
            self.emit(socket, orjson.dumps({"type": "ack", "id": frame.get("id"), "seq": seq}))

    async def do_join(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        role = frame.get("role")
        if role not in ("challenger", "spectator"):
            raise CommandError("bad_message", 'join needs "role": "challenger" or "spectator".')
        if self.role_of(self.doc, user_id) is not None:
            raise CommandError("already_in_match", "You are already in this match.")
        self.check_seat_free(role)
        self.game.admit(self.doc["state"], role)
        task = self.in_background(
            self.claim_off_turn(socket, frame, user_id, role))
        self.joining[id(frame)] = (task, socket, frame, user_id)
        self.held[user_id] = []
        return None  # answered when the claim comes back (``on_claimed``)

    async def settle_joins(self) -> None:
        """Before the match closes: wait for the claims still being made, take
        their users out again and tell their sockets (the ``Claimed`` messages
        that follow are turned away, and releasing twice changes nothing)."""
        pending = list(self.joining.values())
        self.joining.clear()
        for held in self.held.values():
            for message in held:
                self.reply_error(message.socket, message.message, "not_found",
                                 "The match is over.")
        self.held.clear()
        if not pending:
            return
        await asyncio.wait([task for task, *_ in pending])
        for _, socket, frame, user_id in pending:
            await self.store.users.release(user_id, self.id)
            self.reply_error(socket, frame, "not_found", "The match is over.")

    def check_seat_free(self, role: str) -> None:
        if role == "challenger":
            if self.doc["is_started"]:
                raise CommandError("already_started", "The match has started.")
            if self.doc["challenger_id"] is not None:
                raise CommandError("match_full", "The match already has a challenger.")

    async def claim_off_turn(self, socket: Socket, frame: dict[str, Any], user_id: str,
                             role: str) -> None:
        """Put the user in this match in the database (the users' one-match rule),
        then hand the outcome back to the mailbox: the actor goes on with other
        commands meanwhile instead of waiting for the round trips."""
        try:
            releasing = self.releasing.get(user_id)
            if releasing is not None:  # a leave of this match still being stored
                await asyncio.wait([releasing])
            user = await self.store.users.by_id(user_id)
            ok = user is not None and await self.store.users.claim(user_id, self.id,
                                                                     ROLE_CODES[role])
            if ok:  # in a match another way than the matchmaker's: out of its queue
                await self.store.tickets.discard_waiting(user_id)
            self.post(Claimed(socket, frame, user, ok))
        except Exception:
            log.exception("match %s: claiming %s failed", self.id, user_id)
            self.post(Claimed(socket, frame, None, False, failed=True))

    async def on_claimed(self, message: Claimed) -> None:
        """The join's claim is back: finish the join, then handle what the
        user sent meanwhile, in order."""
        entry = self.joining.pop(id(message.frame), None)
        held = self.held.pop(entry[3], []) if entry is not None else []
        await self.finish_join(message)
        for later in held:
            await self.on_frame(later)

    async def finish_join(self, message: Claimed) -> None:
        socket, frame, user = message.socket, message.frame, message.user
        if message.failed:
            self.reply_error(socket, frame, "internal_error",
                             "The server could not apply that; nothing changed.")
            return
        if not message.ok or user is None:
            name = user["username"] if user else socket.user_id
            self.reply_error(socket, frame, "already_in_match",
                             f"User {name} is already in a match")
            return
        user_id, role = user["_id"], frame["role"]
        try:
            if self.sockets.get(user_id) is not socket:
                raise CommandError("gone", "")  # the socket left while the claim was made
            if self.role_of(self.doc, user_id) is not None:
                raise CommandError("already_in_match", "You are already in this match.")
            self.check_seat_free(role)  # the seat may have gone meanwhile
        except CommandError as error:
            self.release_off_turn(user_id)
            if error.code != "gone":
                self.reply_error(socket, frame, error.code, error.message)
            return
        self.users[user_id] = user
        draft = self.draft()
        draft.claimed.append(user_id)
        if role == "challenger":
            draft.doc["challenger_id"] = user_id
            draft.doc["is_challenger_ready"] = False
        else:
            draft.doc["spectator_ids"] = [*draft.doc["spectator_ids"], user_id]
        draft.events.append(Event("joined", {"user": self.member_view(user_id, draft.doc),
                                             "role": role}))
        self.play(draft, self.game.joined(draft.doc["state"], role))
        seq = await self.commit(draft)
        self.emit(socket, orjson.dumps({"type": "ack", "id": frame.get("id"), "seq": seq}))

    def require_role(self, user_id: str, *roles: str) -> str:
        role = self.role_of(self.doc, user_id)
        if role not in roles:
            raise CommandError("forbidden", f"Your role ({role}) may not send that.")
        return role  # type: ignore[return-value]

    def require_not_started(self) -> None:
        if self.doc["is_started"]:
            raise CommandError("already_started", "The match has started.")

    def require_started(self) -> None:
        if not self.doc["is_started"]:
            raise CommandError("not_started", "The match has not started.")

    async def do_ready(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        self.require_role(user_id, "challenger")
        self.require_not_started()
        ready = frame["type"] == "ready"
        draft = self.draft()
        draft.doc["is_challenger_ready"] = ready
        draft.events.append(Event(frame["type"], {"user": self.member_view(user_id)}))
        seq = await self.commit(draft)
        return await self.start_when_seated() or seq

    async def do_start(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        self.require_role(user_id, "host")
        self.require_not_started()
        if self.doc["challenger_id"] is None or not self.doc["is_challenger_ready"]:
            raise CommandError("not_ready", "The challenger must be present and ready.")
        return await self.begin()

    async def start_when_seated(self) -> int | None:
        """Start a matchmade match once both players are attached and the
        challenger is ready; the ``started`` event's seq if it did."""
        doc = self.doc
        if (self.matchmade and not doc["is_started"] and not self.finished
                and doc["is_challenger_ready"] and doc["host_id"] in self.sockets
                and doc["challenger_id"] in self.sockets):
            return await self.begin()
        return None

    async def begin(self) -> int:
        """Start the match: a fresh game state, ``started``, the clocks."""
        draft = self.draft()
        draft.doc["is_started"] = True
        draft.doc["start_timestamp"] = now()
        draft.doc["state"] = self.game.create(draft.doc["target_score"], random.getrandbits(32))
        draft.events.append(Event("started", {"start_timestamp": draft.doc["start_timestamp"]}))
        self.restart_turn_clock(started=True)  # before: ``started`` shows the clock
        seq = await self.commit(draft)
        self.clear_timer("idle", None)
        self.clear_timer("unstarted", None)
        self.start_ticking()
        return seq

    async def do_move(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        seat = self.require_role(user_id, *PLAYER_SEATS)
        self.require_started()
        if "move" not in frame:
            raise CommandError("bad_message", 'move needs a "move" object.')
        turn_before = self.game.turn_number(self.doc["state"])
        draft = self.draft()
        self.play(draft, self.game.apply(self.doc["state"], seat, frame["move"]))  # type: ignore[arg-type]
        self.metrics.moves += 1
        winner = self.game.winner(draft.doc["state"])
        if winner is not None:
            return await self.end(draft, winner, "score")
        if self.game.turn_number(draft.doc["state"]) != turn_before:
            self.restart_turn_clock()  # before the commit: its events show the new clock
        return await self.commit(draft)

    async def do_resign(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        seat = self.require_role(user_id, *PLAYER_SEATS)
        self.require_started()
        return await self.end(self.draft(), other(seat), "resign")  # type: ignore[arg-type]

    async def do_leave(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        role = self.role_of(self.doc, user_id)
        if role is None:
            return self.doc["seq"]
        if self.doc["is_started"] and role != "spectator":
            return await self.end(self.draft(), other(role), "resign")  # type: ignore[arg-type]
        if role == "host" or (role == "challenger" and self.matchmade):
            return await self.cancel(self.draft())  # a matchmade pair plays or nothing
        # acked once the user is free again, so a client may act on the ack at once
        await self.let_go(user_id, role, socket=socket, frame=frame)
        return None

    async def do_ping(self, user_id: str, frame: dict[str, Any], socket: Socket) -> None:
        self.do_ping_now(socket, frame)

    @staticmethod
    def do_ping_now(socket: Socket, frame: dict[str, Any]) -> None:
        """The pong is the reply: at once, even inside a batch (it shows no state)."""
        socket.send(orjson.dumps({"type": "pong", "id": frame.get("id")}))

    async def do_auth(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        raise CommandError("bad_message", "This socket is already authenticated.")

    FRAME_HANDLERS: dict[str, Callable[..., Any]] = {
        "join": do_join, "ready": do_ready, "unready": do_ready, "start": do_start,
        "move": do_move, "resign": do_resign, "leave": do_leave, "auth": do_auth,
        "ping": do_ping,
    }

    async def let_go(self, user_id: str, role: str, *, socket: Socket | None = None,
                     frame: dict[str, Any] | None = None) -> int:
        """A spectator, or a challenger before the start, leaves: ``left``, then
        release, off the actor's turn; ``frame``, the ``leave`` that asked for
        it, is acked on ``socket`` once the user is released."""
        draft = self.draft()
        draft.events.append(Event("left", {"user": self.member_view(user_id), "role": role}))
        self.play(draft, self.game.left(draft.doc["state"], role))  # type: ignore[arg-type]
        if role == "spectator":
            draft.doc["spectator_ids"] = [s for s in draft.doc["spectator_ids"] if s != user_id]
        else:
            draft.doc["challenger_id"] = None
            draft.doc["is_challenger_ready"] = False
        self.disconnected.discard(user_id)
        self.clear_timer("grace", user_id)
        seq = await self.commit(draft)
        done = self.reserve_release(user_id)  # a claim for the user waits from now
        if socket is not None and frame is not None:
            ack = orjson.dumps({"type": "ack", "id": frame.get("id"), "seq": seq})
            done.add_done_callback(lambda f: None if f.cancelled() else socket.send(ack))

        def release() -> None:
            if self.role_of(self.doc, user_id) is None:  # (not back in meanwhile)
                self.users.pop(user_id, None)  # a crowd that comes and goes leaves nothing
                self._views.pop(user_id, None)
            self.release_off_turn(user_id, done)

        self.once_stored(release)
        if self.batch is not None:
            self.batch.releases.append((user_id, done))
        return seq

    def reserve_release(self, user_id: str) -> asyncio.Future[None]:
        """A future that is done when the user's release from this match is
        (``release_off_turn``); a claim for the user waits for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.releasing[user_id] = done
        return done

    def forget_release(self, user_id: str, done: asyncio.Future[None], *,
                       called_off: bool = False) -> None:
        """The release is over (or, ``called_off``, will not happen: no ack)."""
        if not done.done():
            if called_off:
                done.cancel()
            else:
                done.set_result(None)
        if self.releasing.get(user_id) is done:
            del self.releasing[user_id]

    def release_off_turn(self, user_id: str,
                         done: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        """Take the user out of this match in the database without holding up
        the actor; a later claim for the same user waits for it."""
        done = done if done is not None else self.reserve_release(user_id)

        async def release() -> None:
            try:
                await self.store.users.release(user_id, self.id)
            except Exception:  # the next start reconciles (``Registry.restore``)
                log.exception("match %s: releasing %s failed", self.id, user_id)
            finally:
                self.forget_release(user_id, done)

        self.in_background(release())
        return done

    def in_background(self, work: Any) -> asyncio.Task[None]:
        """Run the coroutine ``work`` beside the actor, kept in ``background``."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    # -- REST ------------------------------------------------------------------------

    async def on_cancel(self, message: Cancel) -> None:
        if message.reply.done():
            return
        if message.user_id != self.doc["host_id"]:
            message.reply.set_exception(CommandError("forbidden", "Only the host can delete."))
            return
        if self.doc["is_started"]:
            message.reply.set_exception(CommandError("already_started", "The match started."))
            return
        await self.cancel(self.draft())
        message.reply.set_result(None)

    # -- clocks ----------------------------------------------------------------------

    def set_timer(self, kind: str, key: Any, delay: float) -> None:
        self.clear_timer(kind, key)
        loop = asyncio.get_running_loop()
        self.timers[(kind, key)] = loop.call_later(delay, self.post, Timeout(kind, key))

    def clear_timer(self, kind: str, key: Any) -> None:
        handle = self.timers.pop((kind, key), None)
        if handle is not None:
            handle.cancel()

    def cancel_timers(self) -> None:
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()

    def restart_turn_clock(self, *, started: bool = False) -> None:
        """Give the turn in play the whole ``turn_timeout`` from now (the
        events of the command being handled then carry the clock; ``started``:
        the match is starting, so counts as started already).

        Each round of rps restarts the clock, so a restart only moves the
        deadline; the timer already set stays, and when it fires before the
        deadline ``on_timeout`` sets it again for the rest (one timer per
        ``turn_timeout`` instead of a cancel and a new timer per round).
        """
        if not self.game.turn_clock:
            return
        self.clock_changed = started or self.doc["is_started"]
        self.turn_deadline = asyncio.get_running_loop().time() + self.config.turn_timeout
        if ("turn", None) not in self.timers:
            self.set_timer("turn", None, self.config.turn_timeout)

    async def on_timeout(self, timeout: Timeout) -> None:
        if self.timers.pop((timeout.kind, timeout.key), None) is None:
            return  # cleared or replaced after it fired
        if timeout.kind == "replay":
            self.replay = None
        elif timeout.kind == "idle":
            if not self.doc["is_started"] and self.doc["host_id"] not in self.sockets:
                await self.cancel(self.draft())
        elif timeout.kind == "unstarted":
            if not self.doc["is_started"]:
                await self.cancel(self.draft())
        elif timeout.kind == "grace":
            await self.grace_expired(timeout.key)
        elif timeout.kind == "turn":
            if not self.doc["is_started"]:
                return
            left = self.turn_deadline - asyncio.get_running_loop().time()
            if left > 0:  # the clock was restarted since this timer was set
                self.set_timer("turn", None, left)
                return
            owing = self.game.owing(self.doc["state"])
            if len(owing) == 2:
                await self.cancel(self.draft())
            elif owing:
                await self.end(self.draft(), other(owing[0]), "forfeit")

    async def grace_expired(self, user_id: str) -> None:
        if user_id not in self.disconnected:
            return
        self.disconnected.discard(user_id)
        role = self.role_of(self.doc, user_id)
        if role in PLAYER_SEATS and self.doc["is_started"]:
            await self.end(self.draft(), other(role), "forfeit")  # type: ignore[arg-type]
        elif role == "spectator" or (role == "challenger" and not self.matchmade):
            await self.let_go(user_id, role)
        # a host before the start: the idle timeout decides (a matchmade match's
        # players: its start deadline, ``unstarted``)

    # -- the end -----------------------------------------------------------------------

    async def end(self, draft: Draft, winner: Seat, reason: str) -> int:
        """Decide the result, store the decision, then finish it (see the module doc)."""
        result = decide_result(draft.doc, self.users, self.game, winner, reason,
                               self.config.elo_k)
        draft.doc["phase"] = "ending"
        draft.doc["result"] = result
        draft.doc["seq"] = self.doc["seq"] + len(draft.events)  # seq of the events so far
        await self.record_decision(draft)
        fault_point("ending_recorded")
        await finish_ending(self.store, draft.doc)
        await self.settle_joins()
        draft.events.append(Event("ended", {"result": completed_view(result)}))
        return self.close_out(draft)

    async def cancel(self, draft: Draft) -> int:
        draft.doc["phase"] = "cancelling"
        draft.doc["seq"] = self.doc["seq"] + len(draft.events)
        await self.record_decision(draft)
        await finish_cancelling(self.store, draft.doc)
        await self.settle_joins()
        draft.events.append(Event("cancelled", {}))
        return self.close_out(draft)

    async def record_decision(self, draft: Draft) -> None:
        """Store the ending's (or cancelling's) decision in the match document,
        if this node still holds the match.  If another node has taken it over
        (this one was taken for dead), this actor stops where it stands: its
        sockets are closed with 1012 and reconnect to the match's new home."""
        if await self.store.matches.save(draft.doc):
            return
        log.warning("match %s: held by another node now; stopping here", self.id)
        self.stop(1012, "The match moved to another server")
        self.registry.drop(self)
        raise CommandError("moved", "The match moved to another server; reconnect.")

    def close_out(self, draft: Draft) -> int:
        """Adopt the final state and send the last events; ``serve`` then closes the
        sockets with 4410."""
        first_seq = self.doc["seq"] + 1
        draft.doc["seq"] = self.doc["seq"] + len(draft.events)
        self.doc = draft.doc
        self.broadcast(draft.events, first_seq)
        self.finished = True
        self.cancel_timers()
        self.stop_ticking()
        self.registry.drop(self)
        return self.doc["seq"]
