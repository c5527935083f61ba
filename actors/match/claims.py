"""Putting users in a match and taking them out, off the actor's turn.

The users' one-match rule lives in the database (``UserRepository.claim``):
a join claims its user there before it is applied, and a user who leaves is
released there once the leave is stored.  Each is a few round trips, made
beside the actor so that it goes on with other commands meanwhile:

- a join's claim comes back to the mailbox as ``Claimed``; what its user
  sends meanwhile is *held* and handled after it, in order;
- a release is *reserved* from the moment the leave is decided, so that a
  claim of the same user (back at once) waits for it instead of racing it;
- the end of the match *settles* the joins still being claimed: it waits for
  them, releases their users again and tells their sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from actors.match import wire
from actors.match.host import MatchStore
from actors.match.messages import OVER, Claimed, Emit, Frame, Message, Socket
from actors.match.roster import ROLE_CODES

log = logging.getLogger("arena.match")


class Claims:
    __slots__ = ('background', 'held', 'joining', 'match_id', 'post', 'releasing', 'store')

    def __init__(self, store: MatchStore, match_id: int,
                 post: Callable[[Message], None]) -> None:
        self.store = store
        self.match_id = match_id
        self.post = post
        #: Work started off the actor's turn and not done yet; a shutdown waits
        #: for it before the store closes.
        self.background: set[asyncio.Task[None]] = set()
        #: Users being released, by id; a claim for one of them waits for it.
        self.releasing: dict[str, asyncio.Future[None]] = {}
        #: Joins being claimed, by ``id`` of the join frame: (the claim's task,
        #: socket, frame, user id).
        self.joining: dict[int, tuple[asyncio.Task[None], Socket, dict[str, Any], str]] = {}
        #: Frames from a user whose join is being claimed, handled after it, in order.
        self.held: dict[str, list[Frame]] = {}

    # -- joins -----------------------------------------------------------------------

    def claim(self, socket: Socket, frame: dict[str, Any], user_id: str, role: str) -> None:
        """Claim ``user_id`` for this match as ``role``; ``Claimed`` comes back."""
        task = self.in_background(self._claim(socket, frame, user_id, role))
        self.joining[id(frame)] = (task, socket, frame, user_id)
        self.held[user_id] = []

    async def _claim(self, socket: Socket, frame: dict[str, Any], user_id: str,
                     role: str) -> None:
        def undo() -> object:
            return self.release(user_id)

        try:
            releasing = self.releasing.get(user_id)
            if releasing is not None:  # a leave of this match still being stored
                await asyncio.wait([releasing])
            user = await self.store.users.by_id(user_id)
            ok = user is not None and await self.store.users.claim(user_id, self.match_id,
                                                                     ROLE_CODES[role])
            if ok:  # in a match another way than the matchmaker's: out of its queue
                await self.store.tickets.discard_waiting(user_id)
            self.post(Claimed(socket, frame, user, ok, undo))
        except Exception:
            log.exception("match %s: claiming %s failed", self.match_id, user_id)
            self.post(Claimed(socket, frame, None, False, undo, failed=True))

    def hold(self, message: Frame) -> bool:
        """Keep ``message`` for after its user's join, if one is being claimed."""
        user_id = message.socket.user_id
        if user_id is None or user_id not in self.held:
            return False
        self.held[user_id].append(message)
        return True

    def claimed(self, message: Claimed) -> list[Frame]:
        """The join is back: what its user sent meanwhile, in order."""
        entry = self.joining.pop(id(message.frame), None)
        return self.held.pop(entry[3], []) if entry is not None else []

    async def settle(self, emit: Emit) -> None:
        """Before the match closes: wait for the claims still being made, take
        their users out again and tell their sockets (the ``Claimed`` messages
        that follow are turned away, and releasing twice changes nothing)."""
        pending = list(self.joining.values())
        self.joining.clear()
        for held in self.held.values():
            for message in held:
                message.refuse(OVER, emit)
        self.held.clear()
        if not pending:
            return
        await asyncio.wait([task for task, *_ in pending])
        for _, socket, frame, user_id in pending:
            await self.store.users.release(user_id, self.match_id)
            emit(socket, wire.error(frame.get("id"), OVER.code, OVER.message))

    # -- releases --------------------------------------------------------------------

    def reserve(self, user_id: str) -> asyncio.Future[None]:
        """A future that is done when the user's release from this match is
        (``release``); a claim for the user waits for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.releasing[user_id] = done
        return done

    def forget(self, user_id: str, done: asyncio.Future[None], *,
               called_off: bool = False) -> None:
        """The release is over (or, ``called_off``, will not happen: no ack)."""
        if not done.done():
            if called_off:
                done.cancel()
            else:
                done.set_result(None)
        if self.releasing.get(user_id) is done:
            del self.releasing[user_id]

    def release(self, user_id: str,
                done: asyncio.Future[None] | None = None) -> asyncio.Future[None]:
        """Take the user out of this match in the database without holding up
        the actor; a later claim for the same user waits for it."""
        reserved = done if done is not None else self.reserve(user_id)

        async def release() -> None:
            try:
                await self.store.users.release(user_id, self.match_id)
            except Exception:  # the next start reconciles (``Takeovers.reconcile_claims``)
                log.exception("match %s: releasing %s failed", self.match_id, user_id)
            finally:
                self.forget(user_id, reserved)

        self.in_background(release())
        return reserved

    def in_background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run the coroutine ``work`` beside the actor, kept in ``background``."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task
