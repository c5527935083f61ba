"""Passing a match's sockets and requests to the node that holds it.

A socket or REST request for a live match may reach any node; only the
match's owner runs its actor (``actors.registry``).  The node reached looks
the owner up (the match document names it, the owner's ``nodes`` document
says where it listens) and passes the request on with the client's own
credentials, which every node can check (they share the database and the
secret):

- a socket is *relayed*: this node opens the same socket on the owner and
  copies frames both ways, close codes included (``Relay``);
- a REST request is sent on and its answer returned as it is (``forward``);
- the list of ongoing matches is each node's own, put together by the node
  asked (``gather``).

What is passed on carries every end-to-end header the client sent, and
``X-Arena-Relay``, a signed timestamp: the owner then skips the browser
Origin check (the node reached has made it, against the address the browser
used).  A request carrying that header, signed or not, is never passed on
again: a node whose secret differs from its peers' (which ``Arena.open``
refuses to start) could otherwise bounce one request between them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders
from tornado.websocket import WebSocketClientConnection

from actors.node import HEARTBEAT, LEASE
from handlers import errors
from handlers.context import AppContext
from handlers.frames import connect_upstream
from store.nodes import heard_from

if TYPE_CHECKING:
    from tornado.web import RequestHandler

    from handlers.socket import MatchSocket

log = logging.getLogger("arena.relay")

HEADER = "X-Arena-Relay"
#: On a relayed socket following its match to a new owner: the ``seq`` of the
#: last event its client saw (the owner sends the events after it).
RESUME = "X-Arena-Resume"
#: How old a relay's signature may be (clocks of one cluster agree closer than this).
PROOF_AGE = 60.0
#: Headers that concern one connection, not the request (RFC 9110 7.6.1), or
#: that the client of the next hop writes itself: never passed on.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "host", "content-length", HEADER.lower(),
    RESUME.lower()})
#: Of the owner's answer, what the node reached does not pass back (its own
#: server writes these; the body arrives decompressed).
NOT_RETURNED = frozenset({
    "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
    "date", "server"})


def proof(secret: bytes, moment: float | None = None) -> str:
    stamp = f"{moment if moment is not None else time.time():.3f}"
    return f"{stamp}:{hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()}"


def relayed(secret: bytes, value: str | None) -> bool:
    """Whether ``value`` (the ``X-Arena-Relay`` header) is a node's recent signature."""
    if not value or ":" not in value:
        return False
    stamp, signature = value.split(":", 1)
    try:
        fresh = abs(time.time() - float(stamp)) < PROOF_AGE
    except ValueError:
        return False
    expected = hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()
    return fresh and hmac.compare_digest(signature, expected)


@dataclass(frozen=True)
class Owner:
    """Another live node holding a match: where it listens, and the match's
    ``(owner, tenure)`` when it was looked up (which holding of it this is)."""

    url: str
    holding: tuple[str, str]


def passed_on(handler: RequestHandler) -> bool:
    """Whether this request came from another node (or says it did): it is
    answered here, never passed on again."""
    return HEADER in handler.request.headers


async def find_owner(ctx: AppContext, handler: RequestHandler, match_id: int) -> Owner | None:
    """The node holding live match ``match_id``, when it is another live node
    and the request was not passed on already.  A match whose node is gone
    is taken over here first (``holder``)."""
    if passed_on(handler):
        return None
    assert ctx.registry is not None
    owner = await holder(ctx, match_id)
    return owner if owner is not None and owner.holding[0] != ctx.registry.owner else None


async def holder(ctx: AppContext, match_id: int) -> Owner | None:
    """Where live match ``match_id`` is held (this node included); ``None``
    when there is no such match or its node cannot be reached.  A match whose
    node is gone is taken over first, so that whoever asks need not wait for
    the watcher's next look (``Registry.adopt``); it is then this node's, or
    another's that took it first."""
    assert ctx.registry is not None
    for _ in range(2):
        holding = await ctx.store.matches.holding(match_id)
        if holding is None or not holding[0]:
            return None
        node = await ctx.store.nodes.of(holding[0])
        if heard_from(node, LEASE):
            assert node is not None
            return Owner(node["url"], holding) if node.get("url") else None  # none: starting
        if holding[0] == ctx.registry.owner:
            return None
        await ctx.registry.adopt(holding[0])
    return None


def passed_headers(ctx: AppContext, handler: RequestHandler, *,
                   socket: bool = False) -> HTTPHeaders:
    """The client's end-to-end headers, as they came, and this node's proof;
    for a ``socket``, without the client's own WebSocket handshake (the
    relay makes its own)."""
    request = handler.request
    named = {part.strip().lower() for value in request.headers.get_list("Connection")
             for part in value.split(",")}
    headers = HTTPHeaders()
    for name, value in request.headers.get_all():
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in named or (socket and lower.startswith("sec-websocket-")):
            continue
        headers.add(name, value)
    headers[HEADER] = proof(ctx.secret)
    return headers


async def forward(ctx: AppContext, handler: RequestHandler, url: str) -> None:
    """Send the REST request on to ``url`` (the owner) and answer with its answer."""
    request = handler.request
    response = await AsyncHTTPClient().fetch(HTTPRequest(
        url + request.uri, request.method, headers=passed_headers(ctx, handler),
        body=request.body if request.body or request.method in ("POST", "PUT", "PATCH")
        else None,
        allow_nonstandard_methods=True, connect_timeout=5, request_timeout=10,
        follow_redirects=False), raise_error=False)
    if response.code == 599:  # the owner did not answer: it is being taken over
        raise errors.unavailable("The server holding this match does not answer; "
                                 "try again in a moment.")
    ctx.sockets.forwarded += 1
    handler.set_status(response.code)
    handler.clear_header("Content-Type")
    handler.clear_header("Cache-Control")
    for name, value in response.headers.get_all():
        if name.lower() not in NOT_RETURNED:
            handler.add_header(name, value)
    handler.finish(response.body or None)


async def gather(ctx: AppContext, handler: RequestHandler) -> list[Any]:
    """The answers of every other live node to this GET (a list each), for a
    list that each node holds part of (the ongoing matches); a node that does
    not answer is left out."""
    assert ctx.registry is not None
    urls = [node["url"] for node in await ctx.store.nodes.live(LEASE)
            if node["_id"] != ctx.registry.owner and node.get("url")]
    client = AsyncHTTPClient()
    answers = await asyncio.gather(*(client.fetch(HTTPRequest(
        url + handler.request.uri, headers=passed_headers(ctx, handler), connect_timeout=2,
        request_timeout=5), raise_error=False) for url in urls))
    items: list[Any] = []
    for url, answer in zip(urls, answers, strict=True):
        if answer.code != 200:
            log.warning("node at %s did not give its part of %s (%s)", url,
                        handler.request.path, answer.code)
            continue
        ctx.sockets.forwarded += 1
        items.extend(json.loads(answer.body))
    return items


#: How long a relayed socket whose match is being handed over waits for the
#: next owner before it gives up and closes with 1012.
HANDOVER_WAIT = LEASE + 2 * HEARTBEAT
#: The frames that carry a ``seq`` right after their type.
SEQUENCED = ('{"type":"event","seq":', '{"type":"snapshot","seq":')


def seq_of(frame: str) -> int:
    return int(frame.partition('"seq":')[2].partition(",")[0])


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

    def __init__(self, client: MatchSocket, owner: Owner) -> None:
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
            headers = passed_headers(client.ctx, client, socket=True)
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
            if message.startswith('{"type":"state"'):
                client.send_state(message)  # the newest only, for a reader behind
                return
            if message.startswith(SEQUENCED):
                seq = seq_of(message)
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
