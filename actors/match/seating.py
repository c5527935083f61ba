"""Who comes and goes: sockets attaching and dropping, joining, leaving,
and the grace period of a participant whose socket dropped.

Joining claims the user in the database off the actor's turn
(``actors.match.claims``); leaving releases them once the leave is stored,
and the leave is acked only then, so a client may act on the ack at once.
"""

from __future__ import annotations

from typing import Any

from actors.games import Event, Player, Seat
from actors.match import wire
from actors.match.core import Draft, MatchCore
from actors.match.document import seats_of, sit
from actors.match.ending import Ending
from actors.match.messages import Attach, Claimed, CommandError, Detach, Frame, Socket
from actors.match.play import Play


class Seating:
    __slots__ = ('core', 'ending', 'play')

    def __init__(self, core: MatchCore, ending: Ending, play: Play) -> None:
        self.core = core
        self.ending = ending
        self.play = play

    # -- sockets ---------------------------------------------------------------------

    async def attach(self, message: Attach) -> None:
        core = self.core
        user_id = message.user["_id"]
        previous = core.sockets.get(user_id)
        if previous is not None and previous is not message.socket:
            previous.close(4409, "Replaced by a newer socket")
        core.sockets[user_id] = message.socket
        core.users.setdefault(user_id, message.user)  # who may join: ``player``
        if user_id in core.disconnected:
            core.disconnected.discard(user_id)
            core.timers.clear("grace", user_id)
            core.users[user_id] = message.user
            draft = await self.presence(user_id, "reconnected", core.role_of(user_id))
            if draft is None:
                return
            # the reconnected event goes to the others; the returner gets the snapshot
            del core.sockets[user_id]
            await core.commit(draft)
            core.sockets[user_id] = message.socket
        if user_id == core.doc["host_id"]:
            core.timers.clear("idle", None)
        missed = core.missed(message.resume, core.seat_of(user_id))
        if missed is None:
            message.socket.send(core.snapshot(user_id))
        for text in missed or ():
            message.socket.send(text)
        await self.play.start_when_seated()

    async def detach(self, message: Detach) -> None:
        core = self.core
        user_id = message.socket.user_id
        if user_id is None or core.sockets.get(user_id) is not message.socket:
            return  # an observer that never authenticated, or a replaced socket
        del core.sockets[user_id]
        role = core.role_of(user_id)
        if role is None:
            core.roster.forget(user_id)  # an observer leaves nothing behind
            return
        if user_id == core.doc["host_id"] and not core.doc["is_started"] and not core.matchmade:
            core.timers.set("idle", None, core.config.idle_timeout)
        if role == "spectator":
            await self.let_go(user_id, role)
            return
        core.disconnected.add(user_id)
        core.timers.set("grace", user_id, core.config.grace_period)
        draft = await self.presence(user_id, "disconnected", role)
        if draft is not None:
            await core.commit(draft)

    async def presence(self, user_id: str, kind: str, role: str | None) -> Draft | None:
        """The draft of a participant's socket going (``disconnected``) or
        coming back (``reconnected``): the event, and what the game makes of
        it (``dropped``, ``returned``); ``None`` if the game failed there (the
        match is cancelled)."""
        core = self.core
        draft = core.draft()
        seat = core.seat_of(user_id)
        draft.events.append(Event(kind, {"user": core.member_view(user_id), "role": role,
                                         "seat": seat}))
        if seat is not None and core.doc["is_started"] and seat not in (core.doc.get("out")
                                                                         or ()):
            hook = core.game.returned if kind == "reconnected" else core.game.dropped
            try:
                draft.play(hook(draft.doc["state"], seat))
            except Exception:
                await self.ending.game_failed(hook.__name__)
                return None
        return draft

    async def grace_expired(self, user_id: str) -> None:
        core = self.core
        if user_id not in core.disconnected:
            return
        core.disconnected.discard(user_id)
        role = core.role_of(user_id)
        seat = core.seat_of(user_id)
        if seat is not None and core.doc["is_started"]:
            await self.ending.lose(core.draft(), [seat], "forfeit")
        elif role == "spectator" or (role == "challenger" and not core.matchmade):
            await self.let_go(user_id, role)
        # a host before the start: the idle timeout decides (a matchmade match's
        # players: its start deadline, ``unstarted``)

    # -- joining ---------------------------------------------------------------------

    def player(self, user_id: str) -> Player:
        """The user as a game may know them (an attached user, or a participant)."""
        user = self.core.users[user_id]
        return Player(str(user["username"]), int(user["elo"]))

    def free_seat(self, frame: dict[str, Any]) -> Seat | None:
        """The seat a ``join`` takes: the one it names, or the first free one
        after the host's (``None``: to watch).  ``match_full`` if that seat is
        taken or none is free; ``bad_message`` for a seat the match lacks."""
        if frame["role"] == "spectator":
            return None
        doc = self.core.doc
        if doc["is_started"]:
            raise CommandError("already_started", "The match has started.")
        seats, wanted = seats_of(doc), frame.get("seat")
        if isinstance(wanted, str):
            if wanted not in seats[1:]:
                raise CommandError("bad_message", f"This match's seats to join are: "
                                                  f"{', '.join(seats[1:])}.")
            if doc["seat_ids"][seats.index(wanted)] is not None:
                raise CommandError("match_full", f"The seat {wanted} is taken.")
            return wanted
        for seat, user_id in zip(seats, doc["seat_ids"], strict=True):
            if user_id is None:
                return seat
        raise CommandError("match_full", "The match already has a challenger."
                           if len(seats) == 2 else "Every seat of the match is taken.")

    async def join(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int | None:
        core = self.core
        role = frame.get("role")
        if role == "player":
            frame = {**frame, "role": "challenger"}
        elif role not in ("challenger", "spectator"):
            raise CommandError("bad_message",
                               'join needs "role": "challenger" (or "player") or "spectator".')
        if "seat" in frame and not isinstance(frame["seat"], str):
            raise CommandError("bad_message", '"seat" is the name of a seat, e.g. "p3".')
        if core.role_of(user_id) is not None:
            raise CommandError("already_in_match", "You are already in this match.")
        seat = self.free_seat(frame)
        core.game.admit(core.doc["state"], seat, self.player(user_id))
        core.claims.claim(socket, frame, user_id, frame["role"])
        return None  # answered when the claim comes back (``claimed``)

    async def claimed(self, message: Claimed) -> list[Frame]:
        """The join's claim is back: finish the join; what the user sent
        meanwhile, to be handled next, in order."""
        held = self.core.claims.claimed(message)
        await self.finish_join(message)
        return held

    async def finish_join(self, message: Claimed) -> None:
        core = self.core
        socket, frame, user = message.socket, message.frame, message.user
        if message.failed:
            core.reply_error(socket, frame, "internal_error",
                             "The server could not apply that; nothing changed.")
            return
        if not message.ok or user is None:
            name = user["username"] if user else socket.user_id
            core.reply_error(socket, frame, "already_in_match",
                             f"User {name} is already in a match")
            return
        user_id, role = user["_id"], frame["role"]
        try:
            if core.sockets.get(user_id) is not socket:
                raise CommandError("gone", "")  # the socket left while the claim was made
            if core.role_of(user_id) is not None:
                raise CommandError("already_in_match", "You are already in this match.")
            seat = self.free_seat(frame)  # the seat may have gone meanwhile
        except CommandError as error:
            core.claims.release(user_id)
            if error.code != "gone":
                core.reply_error(socket, frame, error.code, error.message)
            return
        core.users[user_id] = user
        draft = core.draft()
        draft.claimed.append(user_id)
        if seat is not None:
            sit(draft.doc, seat, user_id)
        else:
            draft.doc["spectator_ids"] = [*draft.doc["spectator_ids"], user_id]
        draft.events.append(Event("joined", {"user": core.member_view(user_id, draft.doc),
                                             "role": role, "seat": seat}))
        draft.play(core.game.joined(draft.doc["state"], seat, self.player(user_id)))
        seq = await core.commit(draft)
        core.emit(socket, wire.ack(frame.get("id"), seq))

    # -- leaving ---------------------------------------------------------------------

    async def leave(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int | None:
        core = self.core
        role = core.role_of(user_id)
        seat = core.seat_of(user_id)
        if role is None:
            return core.doc["seq"]
        if core.doc["is_started"] and seat is not None:
            if seat in (core.doc.get("out") or ()):
                return core.doc["seq"]  # out already: released with the others at the end
            return await self.ending.lose(core.draft(), [seat], "resign")
        if role == "host" or (role == "challenger" and core.matchmade):
            return await self.ending.cancel(core.draft())  # a matchmade pair plays or nothing
        # acked once the user is free again, so a client may act on the ack at once
        await self.let_go(user_id, role, socket=socket, frame=frame)
        return None

    async def let_go(self, user_id: str, role: str, *, socket: Socket | None = None,
                     frame: dict[str, Any] | None = None) -> int:
        """A spectator, or a challenger before the start, leaves: ``left``, then
        release, off the actor's turn; ``frame``, the ``leave`` that asked for
        it, is acked on ``socket`` once the user is released."""
        core = self.core
        draft = core.draft()
        seat = core.seat_of(user_id)
        draft.events.append(Event("left", {"user": core.member_view(user_id), "role": role,
                                           "seat": seat}))
        draft.play(core.game.left(draft.doc["state"], seat, self.player(user_id)))
        if seat is None:
            draft.doc["spectator_ids"] = [s for s in draft.doc["spectator_ids"] if s != user_id]
        else:
            sit(draft.doc, seat, None)
        core.disconnected.discard(user_id)
        core.timers.clear("grace", user_id)
        seq = await core.commit(draft)
        done = core.claims.reserve(user_id)  # a claim for the user waits from now
        if socket is not None and frame is not None:
            ack = wire.ack(frame.get("id"), seq)
            done.add_done_callback(lambda f: None if f.cancelled() else socket.send(ack))

        def release() -> None:
            if core.role_of(user_id) is None and user_id not in core.sockets:
                core.roster.forget(user_id)  # gone: a crowd that comes and goes leaves nothing
            core.claims.release(user_id, done)

        core.once_stored(release)
        if core.batch is not None:
            core.batch.releases.append((user_id, done))
        return seq

