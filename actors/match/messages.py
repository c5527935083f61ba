"""The mailbox vocabulary of a match actor, and what it needs of a socket.

Each message answers for itself what differs by kind: whether it may share
a journal append with its neighbours (``batchable``), how its sender is told
that it failed (``refuse``), and how it is answered once the match is over
or moving (``turned_away``).  The actor's loop asks; it never tests types.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from actors.match import wire
from actors.match.document import MatchDoc


class Socket(Protocol):
    """What the actor needs of a connection; the socket handler provides it."""

    user_id: str | None

    def send(self, text: bytes | str) -> None:
        """Queue a text frame (UTF-8 JSON); never blocks (a socket too far behind
        closes itself)."""

    def send_state(self, text: bytes | str) -> None:
        """Queue a realtime state frame: on a socket that is behind it replaces
        the state frame still waiting there (state frames are the newest-only
        kind), and it never counts toward closing a slow reader."""

    def close(self, code: int, reason: str) -> None: ...


class CommandError(Exception):
    """A refused command: the protocol ``error`` code and message for its sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: What a failure tells the sender of a command that was not applied.
FAILED = CommandError("internal_error", "The server could not apply that; nothing changed.")
OVER = CommandError("not_found", "The match is over.")

#: Sends a frame to a socket, now or with the open batch (``MatchCore.emit``).
Emit = Callable[["Socket", bytes], None]


class Message:
    """A command in the mailbox.  By default it is handled alone, and a
    failure or a turn-away has no one to tell."""

    __slots__ = ()

    def batchable(self, doc: MatchDoc) -> bool:
        """Whether it may share a journal append with its neighbours: the
        commands a crowd sends (spectators coming and going, pings) and none
        that can end the match, start it or set a player's clock."""
        return False

    def refuse(self, error: CommandError, emit: Emit) -> None:
        """Tell the sender the command failed and nothing changed."""

    def turned_away(self, moving: Stop | None) -> None:
        """Answer it after the match is over (``moving``: handed to another node)."""


@dataclass(slots=True)
class Stop(Message):
    """Handle what is ahead in the mailbox, then stop, closing the sockets with
    ``code`` (a handover to another node: ``MatchActor.stop``)."""

    code: int
    reason: str


@dataclass(slots=True)
class Attach(Message):
    socket: Socket
    user: dict[str, Any]
    #: the last event this socket's client saw, when it follows the match from
    #: the node that handed it over: it gets the events after it, not a snapshot
    resume: int | None = None

    def turned_away(self, moving: Stop | None) -> None:
        if moving is not None:  # the next owner has it
            self.socket.close(moving.code, moving.reason)
        else:
            self.socket.close(4404, "No such match")


@dataclass(slots=True)
class Detach(Message):
    socket: Socket

    def batchable(self, doc: MatchDoc) -> bool:
        user_id = self.socket.user_id
        return user_id is not None and user_id in doc["spectator_ids"]


@dataclass(slots=True)
class Frame(Message):
    socket: Socket
    message: dict[str, Any]

    def batchable(self, doc: MatchDoc) -> bool:
        kind = self.message.get("type")
        if kind in ("ping", "join"):
            return True
        user_id = self.socket.user_id
        return kind == "leave" and user_id is not None and (
            user_id in doc["spectator_ids"]
            or (user_id != doc["host_id"] and user_id in doc["seat_ids"]
                and not doc["is_started"]
                and not doc.get("matchmade")))

    def refuse(self, error: CommandError, emit: Emit) -> None:
        emit(self.socket, wire.error(self.message.get("id"), error.code, error.message))

    def turned_away(self, moving: Stop | None) -> None:
        if moving is not None:  # after the match is over its sockets close anyway
            self.socket.send(wire.error(
                self.message.get("id"), "unavailable",
                "The match is moving to another server; send that again."))


@dataclass(slots=True)
class Claimed(Message):
    """A ``join``'s claim on its user, made off the actor's turn (``ok``: the user
    was in no match and is now in this one, ``user`` their document; ``failed``:
    the database could not be asked).  ``undo`` takes the user out again."""

    socket: Socket
    frame: dict[str, Any]
    user: dict[str, Any] | None
    ok: bool
    undo: Callable[[], object]
    failed: bool = False

    def batchable(self, doc: MatchDoc) -> bool:
        return True

    def refuse(self, error: CommandError, emit: Emit) -> None:
        self.undo()
        emit(self.socket, wire.error(self.frame.get("id"), error.code, error.message))

    def turned_away(self, moving: Stop | None) -> None:
        if self.ok:
            self.undo()
            self.socket.send(wire.error(self.frame.get("id"), OVER.code, OVER.message))


@dataclass(slots=True)
class Request(Message):
    """A command whose sender awaits ``reply``: the outcome, or the refusal."""

    reply: asyncio.Future[None]

    def refuse(self, error: CommandError, emit: Emit) -> None:
        if not self.reply.done():
            self.reply.set_exception(CommandError(error.code, "failed"))


@dataclass(slots=True)
class Cancel(Request):
    """REST ``DELETE``: only the host, only before the start."""

    user_id: str

    def turned_away(self, moving: Stop | None) -> None:
        if not self.reply.done():
            self.reply.set_exception(CommandError(OVER.code, OVER.message))


@dataclass(slots=True)
class Checkpoint(Request):
    """Re-append the adopted state to the journal's newest segment (older ones then go)."""

    def turned_away(self, moving: Stop | None) -> None:
        if not self.reply.done():
            self.reply.set_result(None)  # nothing left to keep


class Tick(Message):
    """A realtime game's next simulation step is due (``actors.ticker``)."""

    __slots__ = ()


@dataclass(slots=True)
class Timeout(Message):
    """A clock ran out: ``kind`` "grace" (``key``: the user), "turn", "idle",
    "unstarted" or "replay" (no key)."""

    kind: str
    key: Any


@dataclass(slots=True)
class GameFault(Message):
    """The game's ``hook`` raised off any command (a restore): the match is
    cancelled with ``reason: "game_error"`` (``Ending.game_failed``)."""

    hook: str


@dataclass(slots=True)
class AdminCancel(Message):
    """An administrator cancels the match (``admin cancel-match``), started or not."""
