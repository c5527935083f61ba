"""A match socket relayed to the node that holds the match.

A socket for a live match may reach any node; only the match's owner runs
its actor.  The node reached opens the same socket on the owner and copies
frames both ways, close codes included, following the match when it moves
(``Relay``).  It reads the owner's frames only as far as ``actors.match.wire``
says they can be read: which carry a ``seq``, which are state frames.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from tornado.httpclient import HTTPRequest
from tornado.httputil import HTTPServerRequest
from tornado.websocket import WebSocketClientConnection

from actors.cluster.node import HEARTBEAT, LEASE
from actors.match import wire
from handlers.cluster.owners import Owner, holder
from handlers.cluster.proof import RESUME, passed_headers
from handlers.context import AppContext
from handlers.websocket.frames import connect_upstream

log = logging.getLogger("arena.relay")


class Downstream(Protocol):
    """The client's socket, as the relay sees it (``handlers.socket.MatchSocket``)."""

    ctx: AppContext

    @property
    def request(self) -> HTTPServerRequest: ...

    def send(self, text: bytes | str) -> None: ...

    def send_state(self, text: bytes | str) -> None: ...

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...


#: How long a relayed socket whose match is being handed over waits for the
#: next owner before it gives up and closes with 1012.
HANDOVER_WAIT = LEASE + 2 * HEARTBEAT
class Relay:
    """One client socket copied to and from the same socket on the owner.

    When the owner hands the match over (it stops, closing with 1012), the
    relay stays open: it waits for the next owner (``HANDOVER_WAIT``),
    opens the socket there saying which event its client saw last
    (``RESUME``), sends again what the client sent before its first
    snapshot (an ``auth`` frame), and passes on what the client sent
    meanwhile.  The new owner sends the events the client missed, in order
    (a snapshot instead, newer than what the client saw, if it no longer has
    them); a frame with a ``seq`` the client has seen is not passed twice.
    The client's socket stays open, every command it sent is answered, and
    its events go on one ``seq`` after another."""

    def __init__(self, client: Downstream, owner: Owner) -> None:
        self.client = client
        self.owner = owner
        self.upstream: WebSocketClientConnection | None = None
        self.pending: list[str | bytes] | None = []  # what the client sent while unconnected
        self.preamble: list[str | bytes] = []  # what it sent before its first snapshot
        self.seq: int | None = None  # of the last sequenced frame passed to the client
        self.ended: asyncio.Future[None] | None = None  # the upstream closed
        self.closed = False

    async def run(self, match_id: int) -> None:
        client = self.client
        while True:
            url = self.owner.url.replace("http", "ws", 1)
            self.ended = asyncio.get_running_loop().create_future()
            again = self.seq is not None
            headers = passed_headers(client.ctx.secret, client.request, socket=True)
            if again:
                headers[RESUME] = str(self.seq)
            try:
                upstream = await connect_upstream(HTTPRequest(
                    f"{url}/ws/matches/{match_id}", headers=headers,
                    connect_timeout=5, request_timeout=10), self.on_upstream)
            except Exception as error:
                log.warning("relay of match %s to %s failed: %r", match_id, url, error)
                client.close(1012, "The match's server is unreachable; reconnect")
                return
            if self.closed:  # the client left meanwhile
                upstream.close()
                return
            for message in (self.preamble if again else []) + (self.pending or []):
                upstream.write_message(message, binary=isinstance(message, bytes))
            self.upstream, self.pending = upstream, None
            await self.ended
            self.upstream, self.pending = None, []
            if upstream.close_code == 1012 and not self.closed and await self.moved(match_id):
                client.ctx.sockets.moved += 1
                continue
            client.close(upstream.close_code or 1012, upstream.close_reason or "")
            return

    def on_upstream(self, message: str | bytes | None) -> None:
        """What the owner sent: passed to the client (``None``: it closed)."""
        if message is None:
            if self.ended is not None and not self.ended.done():
                self.ended.set_result(None)
            return
        client = self.client
        if isinstance(message, str):
            if wire.is_state(message):
                client.send_state(message)  # the newest only, for a reader behind
                return
            seq = wire.seq_of(message)
            if seq is not None:
                if self.seq is not None and seq <= self.seq:
                    return  # seen already (through the node that handed it over)
                self.seq = seq
        client.send(message)

    async def moved(self, match_id: int) -> bool:
        """Wait for the match to be held anew (by another node, or this one,
        or its owner come back); whether it was, within ``HANDOVER_WAIT``."""
        ctx = self.client.ctx
        deadline = time.monotonic() + HANDOVER_WAIT
        while time.monotonic() < deadline and not self.closed:
            owner = await holder(ctx, match_id)  # taken over here, if need be
            if owner is not None and owner.holding != self.owner.holding:
                self.owner = owner
                return True
            if owner is None and await ctx.store.matches.holding(match_id) is None:
                return False  # over: a fresh socket finds out why
            await asyncio.sleep(0.05)
        return False

    def forward(self, message: str | bytes) -> None:
        if self.seq is None:
            self.preamble.append(message)
        if self.pending is not None:
            self.pending.append(message)
        elif self.upstream is not None:
            self.upstream.write_message(message, binary=isinstance(message, bytes))

    def close(self) -> None:
        self.closed = True
        if self.upstream is not None:
            self.upstream.close()
