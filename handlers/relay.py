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
from typing import TYPE_CHECKING, Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from actors.node import LEASE
from handlers import errors
from handlers.context import AppContext

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


async def owner_url(ctx: AppContext, handler: RequestHandler, match_id: int) -> str | None:
    """Where the node holding live match ``match_id`` listens, when it is
    another live node and the request was not passed on already."""
    if relayed(ctx.secret, handler.request.headers.get(HEADER)):
        return None
    assert ctx.registry is not None
    owner = await ctx.store.matches.owner_of(match_id)
    if not owner or owner == ctx.registry.owner:
        return None
    return await ctx.store.nodes.url_of(owner, LEASE)


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


class Relay:
    """One client socket copied to and from the same socket on the owner."""

    def __init__(self, client: MatchSocket, url: str) -> None:
        self.client = client
        self.url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self.upstream: WebSocketClientConnection | None = None
        self.pending: list[str | bytes] | None = []  # what the client sent before it was open
        self.closed = False

    async def run(self, match_id: str) -> None:
        client = self.client
        try:
            self.upstream = await websocket_connect(HTTPRequest(
                f"{self.url}/ws/matches/{match_id}",
                headers=passed_headers(client.ctx, client), connect_timeout=5,
                request_timeout=10))
        except Exception as error:
            log.warning("relay of match %s to %s failed: %r", match_id, self.url, error)
            client.close(1012, "The match's server is unreachable; reconnect")
            return
        if self.closed:  # the client left meanwhile
            self.upstream.close()
            return
        for message in self.pending or ():
            self.upstream.write_message(message, binary=isinstance(message, bytes))
        self.pending = None
        while (message := await self.upstream.read_message()) is not None:
            if isinstance(message, str) and message.startswith('{"type":"state"'):
                client.send_state(message)  # the newest only, for a reader behind
            else:
                client.send(message)
        client.close(self.upstream.close_code or 1012, self.upstream.close_reason or "")

    def forward(self, message: str | bytes) -> None:
        if self.pending is not None:
            self.pending.append(message)
        elif self.upstream is not None:
            self.upstream.write_message(message, binary=isinstance(message, bytes))

    def close(self) -> None:
        self.closed = True
        if self.upstream is not None:
            self.upstream.close()

