"""A realtime game's clock: the ticker's calls, each tick, and the state frames."""

from __future__ import annotations

from actors.games import Seat
from actors.match import wire
from actors.match.core import MatchCore
from actors.match.document import still_in
from actors.match.ending import Ending
from actors.match.messages import Tick


class Ticking:
    """Steps the simulation of a realtime match ``rate`` times a second."""

    __slots__ = ('core', 'dt', 'ending', 'owed', 'queued', 'share')

    def __init__(self, core: MatchCore, ending: Ending) -> None:
        self.core = core
        self.ending = ending
        rate = core.tick_rate
        #: The seconds of play each tick advances.
        self.dt = 1.0 / rate if rate else 0.0
        self.queued = False  # a Tick waits in the mailbox: do not post another
        #: State frames owed per tick (``send_rate`` over the tick rate; 1: every
        #: tick), and what has built up towards the next one.
        send_rate = core.game.send_rate
        self.share = min(1.0, send_rate / rate) if send_rate and rate else 1.0
        self.owed = 0.0

    def post_tick(self) -> None:
        """Called by the ticker: a tick is due.

        An actor with nothing to do (no message being handled, none waiting)
        runs a tick that shows no event at once, here: nothing can interleave
        with it, as it neither awaits nor stores anything, and it saves a
        mailbox round trip for nearly every tick.  Otherwise the tick goes
        through the mailbox like any command, at most one waiting (a match
        that falls behind skips ticks rather than queueing them).
        """
        core = self.core
        if core.finished or self.queued:
            return
        if not core.busy and core.mailbox.empty() and self.tick_at_once():
            return
        self.queued = True
        core.mailbox.put_nowait(Tick())

    def tick_at_once(self) -> bool:
        """Run the tick now if it shows no event (the rules are pure, so the
        mailbox's ``on_tick`` computes the same step again if not)."""
        core = self.core
        if not self.in_play():
            return True
        try:
            state, events = core.game.tick(core.doc["state"], self.dt)
            if events or core.game.standings(state) is not None:
                return False
        except Exception:
            return False  # the mailbox's ``on_tick`` meets it again and cancels
        doc = core.doc.copy()
        doc["state"] = state
        core.doc = doc
        self.send_due_state()
        return True

    def in_play(self) -> bool:
        """Started, not over, and (a game that pauses while a player is away)
        every player still in attached: the simulation runs."""
        core, doc = self.core, self.core.doc
        if not doc["is_started"] or core.finished:
            return False
        if not core.game.pause_when_away:
            return True
        sockets = core.sockets
        players = still_in(doc).values() if doc.get("out") else doc["seat_ids"]
        return all(user_id in sockets for user_id in players)

    def send_due_state(self) -> None:
        """The state frame of this tick, if one is due at ``send_rate``."""
        self.owed += self.share
        if self.owed >= 1.0 - 1e-9:
            self.owed -= 1.0
            self.send_state()

    async def on_tick(self, message: Tick) -> None:
        """One step of the simulation; what it scores is stored before it is
        shown, then every socket gets the newest state."""
        core = self.core
        self.queued = False
        if not self.in_play():
            return
        draft = core.draft()
        try:
            draft.play(core.game.tick(core.doc["state"], self.dt))
            standings = core.game.standings(draft.doc["state"])
        except Exception:
            await self.ending.game_failed("tick")
            return
        if standings is not None:
            await self.ending.end(draft, standings, "score")
            return
        await core.commit(draft)
        self.send_due_state()

    def send_state(self) -> None:
        """A state frame to every socket, encoded once per view; a socket that
        is behind keeps only the newest (``Socket.send_state``)."""
        core, doc = self.core, self.core.doc
        tick = core.game.ticks(doc["state"])
        frames: dict[Seat | None, bytes] = {}
        public = core.game.public_view
        for user_id, socket in core.sockets.items():
            seat = None if public else core.seat_of(user_id)
            data = frames.get(seat)
            if data is None:
                data = frames[seat] = wire.state(doc["seq"], tick,
                                                 core.game.view(doc["state"], seat))
            socket.send_state(data)
        core.metrics.state_frames += len(core.sockets)
