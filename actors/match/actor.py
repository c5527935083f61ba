"""One live match: a coroutine with a mailbox that owns the match's state.

Every command for the match (a socket attaching, detaching or sending a
frame, a REST delete, a timer firing) is a message in the mailbox, handled one
at a time in arrival order, each a transaction (``actors.match.core``).  This
module is the loop and the one dispatch; the work lives in collaborators:

- ``Seating``: sockets attaching and dropping, joins, leaves, grace periods;
- ``Play``: readiness, the start, moves, resigning;
- ``Ticking``: a realtime game's ticks and state frames;
- ``Ending``: the result or the cancelling, exactly once.

Commands a crowd sends (spectators coming and going, pings) are handled in
batches that share one journal append (``handle_batch``).  A command that
fails (a refused move, a database error, a bug) leaves the adopted state as it
was and answers its sender with an error; the actor lives on.

The end of a match is made exactly-once without transactions: the decision
is stored first, then each step is idempotent and replayed at start-up if
the process died in between (``actors.match.ending``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from actors.games import IllegalMove
from actors.match import wire
from actors.match.core import Batch, MatchCore
from actors.match.document import MatchDoc, still_in
from actors.match.ending import Ending
from actors.match.host import Host
from actors.match.messages import (
    FAILED,
    AdminCancel,
    Attach,
    Cancel,
    Checkpoint,
    Claimed,
    CommandError,
    Detach,
    Frame,
    GameFault,
    Message,
    Socket,
    Stop,
    Tick,
    Timeout,
)
from actors.match.play import Play
from actors.match.replay import Replay
from actors.match.seating import Seating
from actors.match.ticking import Ticking

log = logging.getLogger("arena.match")

#: Most queued commands handled in one batch.
BATCH_LIMIT = 64

#: A client frame's handler: (its part of the actor, user id, frame, socket)
#: -> the seq to ack, or ``None`` when the answer comes later (or is not an ack).
FrameHandler = Callable[[Any, str, dict[str, Any], Socket], Awaitable[int | None]]


class MatchActor(MatchCore):
    __slots__ = ('ending', 'frame_handlers', 'handlers', 'play', 'seating', 'tickable', 'ticking')

    def __init__(self, doc: MatchDoc, users: dict[str, dict[str, Any]], host: Host) -> None:
        super().__init__(doc, users, host)
        self.ending = Ending(self)
        self.play = Play(self, self.ending)
        self.seating = Seating(self, self.ending, self.play)
        self.ticking = Ticking(self, self.ending) if self.game.realtime else None
        self.tickable = self.ticking

    # -- life ------------------------------------------------------------------------

    def start(self, *, restored: bool = False) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run(), name=f"match-{self.id}")
        config = self.config
        if restored:
            self.replay = Replay(self.doc["seq"])
            self.timers.set("replay", None, config.grace_period)
            # After a restart everyone counts as dropped now: each has the grace period.
            for user_id in self.participants():
                self.disconnected.add(user_id)
                self.timers.set("grace", user_id, config.grace_period)
            if self.doc["is_started"]:
                try:
                    state = self.game.restored(self.doc["state"])
                except Exception:
                    log.exception("match %s: game %r failed in restored; cancelling the match",
                                  self.id, self.doc["game"])
                    self.post(GameFault("restored"))
                    return
                doc = self.doc.copy()
                doc["state"] = state
                self.doc = doc
                self.restart_turn_clock()
                self.start_ticking()
        if not self.doc["is_started"]:
            if self.matchmade:  # it starts by itself, or not at all
                self.timers.set("unstarted", None, config.grace_period)
            else:
                self.timers.set("idle", None, config.idle_timeout)

    @property
    def backlog(self) -> int:
        """Messages waiting in the mailbox (``arena_mailbox_depth``)."""
        return self.mailbox.qsize()

    async def run(self) -> None:
        try:
            await self.serve()
        finally:
            self.finished = True
            while not self.mailbox.empty():
                self.mailbox.get_nowait().turned_away(self.stopping)

    async def serve(self) -> None:
        held: Message | None = None  # taken while gathering a batch that it cannot join
        while not self.finished:
            message = held if held is not None else await self.mailbox.get()
            held = None
            if isinstance(message, Stop):
                self.halt(message.code, message.reason)  # what was ahead is answered
                break
            batch = [message]
            if message.batchable(self.doc):
                while len(batch) < BATCH_LIMIT and not self.mailbox.empty():
                    queued = self.mailbox.get_nowait()
                    if not queued.batchable(self.doc):
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
        self.timers.cancel_all()

    async def handle(self, message: Message) -> None:
        try:
            await HANDLERS[type(message)](self, message)
            if self.finished:  # after the last event and the sender's ack
                for socket in list(self.sockets.values()):
                    socket.close(4410, "The match is over")
                self.sockets.clear()
        except Exception:
            log.exception("match %s: command %r failed", self.id, type(message).__name__)
            message.refuse(FAILED, self.emit)

    async def handle_batch(self, messages: list[Message]) -> None:
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
                    self.claims.forget(user_id, done, called_off=True)
                for user_id in batch.claimed:
                    self.claims.release(user_id)
                for message in messages:
                    if isinstance(message, Frame) and message.message.get("type") == "ping":
                        message.socket.send(wire.pong(message.message.get("id")))
                    else:
                        message.refuse(FAILED, self.emit)
                return
            self.metrics.observe_write(time.perf_counter() - started)
        for send in batch.sends:
            send()
        for step in batch.after:
            step()

    # -- commands --------------------------------------------------------------------

    async def on_frame(self, message: Frame) -> None:
        frame, socket = message.message, message.socket
        user_id = socket.user_id
        if user_id is None or self.sockets.get(user_id) is not socket:
            return  # replaced meanwhile
        if self.claims.hold(message):  # the user's join is still being claimed: after it
            return
        kind = frame.get("type")
        entry = FRAME_HANDLERS.get(kind) if isinstance(kind, str) else None
        if entry is None:
            self.reply_error(socket, frame, "unknown_type", f"Unknown type {kind!r}.")
            return
        part, handler = entry
        try:
            seq = await handler(self if part is None else getattr(self, part),
                                user_id, frame, socket)
        except (CommandError, IllegalMove) as error:
            self.reply_error(socket, frame, error.code, error.message)
            return
        if seq is not None:
            self.emit(socket, wire.ack(frame.get("id"), seq))

    async def on_claimed(self, message: Claimed) -> None:
        """A join's claim is back: finish the join, then handle what the user
        sent meanwhile, in order."""
        for later in await self.seating.claimed(message):
            await self.on_frame(later)

    async def on_attach(self, message: Attach) -> None:
        await self.seating.attach(message)

    async def on_detach(self, message: Detach) -> None:
        await self.seating.detach(message)

    async def on_tick(self, message: Tick) -> None:
        if self.ticking is not None:
            await self.ticking.on_tick(message)

    async def ping(self, user_id: str, frame: dict[str, Any], socket: Socket) -> None:
        """The pong is the reply: at once, even inside a batch (it shows no state)."""
        socket.send(wire.pong(frame.get("id")))

    async def authenticated(self, user_id: str, frame: dict[str, Any], socket: Socket) -> None:
        raise CommandError("bad_message", "This socket is already authenticated.")

    async def on_cancel(self, message: Cancel) -> None:
        """REST ``DELETE``: only the host, only before the start."""
        if message.reply.done():
            return
        if message.user_id != self.doc["host_id"]:
            message.reply.set_exception(CommandError("forbidden", "Only the host can delete."))
            return
        if self.doc["is_started"]:
            message.reply.set_exception(CommandError("already_started", "The match started."))
            return
        await self.ending.cancel(self.draft())
        message.reply.set_result(None)

    async def on_admin_cancel(self, message: AdminCancel) -> None:
        await self.ending.cancel(self.draft())

    async def on_game_fault(self, message: GameFault) -> None:
        await self.ending.cancel(self.draft(), reason="game_error")

    async def on_checkpoint(self, message: Checkpoint) -> None:
        await self.store.journal.append(self.doc)
        message.reply.set_result(None)

    async def on_timeout(self, timeout: Timeout) -> None:
        if not self.timers.fired(timeout):
            return  # cleared or replaced after it fired
        if timeout.kind == "replay":
            self.replay = None
        elif timeout.kind == "idle":
            if not self.doc["is_started"] and self.doc["host_id"] not in self.sockets:
                await self.ending.cancel(self.draft())
        elif timeout.kind == "unstarted":
            if not self.doc["is_started"]:
                await self.ending.cancel(self.draft())
        elif timeout.kind == "grace":
            await self.seating.grace_expired(timeout.key)
        elif timeout.kind == "turn":
            await self.turn_over()

    async def turn_over(self) -> None:
        """The turn clock ran out: whoever owes a move forfeits (loses a match
        of two, goes out of a larger one); if every player still in owes, the
        match is cancelled."""
        if not self.doc["is_started"] or not self.turn_clock.run_out():
            return
        playing = still_in(self.doc)
        owing = [seat for seat in self.game.owing(self.doc["state"]) if seat in playing]
        if owing and len(set(owing)) == len(playing):
            await self.ending.cancel(self.draft())
        elif owing:
            await self.ending.lose(self.draft(), owing, "forfeit")


#: The one dispatch, by message type (class-wide: an actor holds no table of
#: its own, which thousands of live matches would each carry).
HANDLERS: dict[type[Message], Callable[[MatchActor, Any], Awaitable[None]]] = {
    Frame: MatchActor.on_frame, Attach: MatchActor.on_attach, Detach: MatchActor.on_detach,
    Claimed: MatchActor.on_claimed, Cancel: MatchActor.on_cancel,
    Timeout: MatchActor.on_timeout, Checkpoint: MatchActor.on_checkpoint, Tick: MatchActor.on_tick,
    GameFault: MatchActor.on_game_fault, AdminCancel: MatchActor.on_admin_cancel,
}

#: Each client frame type: the part of the actor that handles it (``None``:
#: the actor itself), and how.
FRAME_HANDLERS: dict[str, tuple[str | None, FrameHandler]] = {
    "join": ("seating", Seating.join), "leave": ("seating", Seating.leave),
    "ready": ("play", Play.ready), "unready": ("play", Play.ready),
    "start": ("play", Play.start), "move": ("play", Play.move), "resign": ("play", Play.resign),
    "auth": (None, MatchActor.authenticated), "ping": (None, MatchActor.ping),
}
