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

What is passed on carries ``X-Arena-Relay``, a signed timestamp: the owner
then skips the browser Origin check (the node reached has made it) and never
passes the request on again.
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
#: How old a relay's signature may be (clocks of one cluster agree closer than this).
PROOF_AGE = 60.0
#: The client's headers that go with what is passed on.
PASSED = ("Authorization", "Cookie", "Origin", "X-CSRFToken", "Content-Type")


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


async def find_owner(ctx: AppContext, handler: RequestHandler, match_id: int) -> Owner | None:
    """The node holding live match ``match_id``, when it is another live node
    and the request was not passed on already.  A match whose node is gone
    is taken over here first (``holder``)."""
    if relayed(ctx.secret, handler.request.headers.get(HEADER)):
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


def passed_headers(ctx: AppContext, handler: RequestHandler) -> dict[str, str]:
    headers = {name: value for name in PASSED
               if (value := handler.request.headers.get(name)) is not None}
    headers[HEADER] = proof(ctx.secret)
    return headers


async def forward(ctx: AppContext, handler: RequestHandler, url: str) -> None:
    """Send the REST request on to ``url`` (the owner) and answer with its answer."""
    request = handler.request
    response = await AsyncHTTPClient().fetch(HTTPRequest(
        url + request.uri, request.method, headers=passed_headers(ctx, handler),
        body=request.body if request.method in ("POST", "PUT", "PATCH") else None,
        allow_nonstandard_methods=True, connect_timeout=5, request_timeout=10,
        follow_redirects=False), raise_error=False)
    if response.code == 599:  # the owner did not answer: it is being taken over
        raise errors.unavailable("The server holding this match does not answer; "
                                 "try again in a moment.")
    ctx.sockets.forwarded += 1
    handler.set_status(response.code)
    if response.headers.get("Content-Type"):
        handler.set_header("Content-Type", response.headers["Content-Type"])
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
    opens the socket there, sends again what the client sent before its
    first snapshot (an ``auth`` frame), and passes on what the client sent
    meanwhile.  Of what the new owner says up to its snapshot, only the
    snapshot goes through, and only when it is newer than the client's last
    event (as it is when the return made an event: ``reconnected``): the
    client's socket stays open, every command it sent is answered, and its
    frames go on in ``seq`` order, a snapshot standing in for the events of
    the move."""

    def __init__(self, client: MatchSocket, owner: Owner) -> None:
        self.client = client
        self.owner = owner
        self.upstream: WebSocketClientConnection | None = None
        self.pending: list[str | bytes] | None = []  # what the client sent while unconnected
        self.preamble: list[str | bytes] = []  # what it sent before its first snapshot
        self.seen: str | None = None  # the last frame with a ``seq`` passed to the client
        #: the new owner's greeting is being read: only a snapshot may pass
        self.greeting = False
        self.ended: asyncio.Future[None] | None = None  # the upstream closed
        self.closed = False

    async def run(self, match_id: str) -> None:
        client = self.client
        while True:
            url = self.owner.url.replace("http", "ws", 1)
            self.ended = asyncio.get_running_loop().create_future()
            self.greeting = again = self.seen is not None
            try:
                upstream = await connect_upstream(HTTPRequest(
                    f"{url}/ws/matches/{match_id}", headers=passed_headers(client.ctx, client),
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
        if isinstance(message, str) and message.startswith('{"type":"state"'):
            client.send_state(message)  # the newest only, for a reader behind
            return
        if self.greeting:  # from a new owner: only a snapshot the client lacks
            if not (isinstance(message, str) and message.startswith(SEQUENCED[1])):
                return
            self.greeting = False
            assert self.seen is not None
            if seq_of(message) <= seq_of(self.seen):
                return
        if isinstance(message, str) and message.startswith(SEQUENCED):
            self.seen = message
        client.send(message)

    async def moved(self, match_id: str) -> bool:
        """Wait for the match to be held anew (by another node, or this one,
        or its owner come back); whether it was, within ``HANDOVER_WAIT``."""
        ctx = self.client.ctx
        deadline = time.monotonic() + HANDOVER_WAIT
        while time.monotonic() < deadline and not self.closed:
            owner = await holder(ctx, int(match_id))  # taken over here, if need be
            if owner is not None and owner.holding != self.owner.holding:
                self.owner = owner
                return True
            if owner is None and await ctx.store.matches.holding(int(match_id)) is None:
                return False  # over: a fresh socket finds out why
            await asyncio.sleep(0.05)
        return False

    def forward(self, message: str | bytes) -> None:
        if self.seen is None:
            self.preamble.append(message)
        if self.pending is not None:
            self.pending.append(message)
        elif self.upstream is not None:
            self.upstream.write_message(message, binary=isinstance(message, bytes))

    def close(self) -> None:
        self.closed = True
        if self.upstream is not None:
            self.upstream.close()
