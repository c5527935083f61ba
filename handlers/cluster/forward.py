"""REST requests for a match held elsewhere: sent on, and the owner's answer
returned as it is (``forward``); the lists each node holds part of, put
together by the node asked (``gather``)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.web import RequestHandler

from actors.cluster.node import LEASE
from handlers import errors
from handlers.cluster.proof import passed_headers
from handlers.context import AppContext

log = logging.getLogger("arena.relay")

#: Of the owner's answer, what the node reached does not pass back (its own
#: server writes these; the body arrives decompressed).
NOT_RETURNED = frozenset({
    "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
    "date", "server"})


async def forward(ctx: AppContext, handler: RequestHandler, url: str) -> None:
    """Send the REST request on to ``url`` (the owner) and answer with its answer."""
    request = handler.request
    response = await AsyncHTTPClient().fetch(HTTPRequest(
        url + request.uri, request.method, headers=passed_headers(ctx.secret, request),
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
    request = handler.request
    urls = [node["url"] for node in await ctx.store.nodes.live(LEASE)
            if node["_id"] != ctx.registry.owner and node.get("url")]
    client = AsyncHTTPClient()
    answers = await asyncio.gather(*(client.fetch(HTTPRequest(
        url + handler.request.uri, headers=passed_headers(ctx.secret, request), connect_timeout=2,
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
