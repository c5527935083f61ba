"""The mailbox vocabulary of a match actor, and what it needs of a socket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

import orjson


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


def error_frame(frame_id: Any, code: str, message: str) -> bytes:
    """The protocol's ``error`` frame answering the client frame ``frame_id``."""
    return orjson.dumps({"type": "error", "id": frame_id, "code": code, "message": message})


class CommandError(Exception):
    """A refused command: the protocol ``error`` code and message for its sender."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- mailbox messages ----------------------------------------------------------------


@dataclass
class Attach:
    socket: Socket
    user: dict[str, Any]
    #: the last event this socket's client saw, when it follows the match from
    #: the node that handed it over: it gets the events after it, not a snapshot
    resume: int | None = None


@dataclass
class Detach:
    socket: Socket


@dataclass
class Frame:
    socket: Socket
    message: dict[str, Any]


@dataclass
class Stop:
    """Handle what is ahead in the mailbox, then stop, closing the sockets with
    ``code`` (a handover to another node: ``MatchActor.stop``)."""

    code: int
    reason: str


@dataclass
class Claimed:
    """A ``join``'s claim on its user, made off the actor's turn (``ok``: the user
    was in no match and is now in this one, ``user`` their document; ``failed``:
    the database could not be asked)."""

    socket: Socket
    frame: dict[str, Any]
    user: dict[str, Any] | None
    ok: bool
    failed: bool = False


@dataclass
class Cancel:
    """REST ``DELETE``: only the host, only before the start."""

    user_id: str
    reply: asyncio.Future[None]


@dataclass
class Checkpoint:
    """Re-append the adopted state to the journal's newest segment (older ones then go)."""

    reply: asyncio.Future[None]


class Tick:
    """A realtime game's next simulation step is due (``actors.ticker``)."""

    __slots__ = ()


@dataclass
class Timeout:
    """A clock ran out: ``kind`` "grace" (``key``: the user), "turn" or "idle" (no key)."""

    kind: str
    key: Any
