"""The proof one node gives another: a request passed on is signed.

What a node passes on carries every end-to-end header the client sent, and
``X-Arena-Relay``, a signed timestamp: the owner then skips the browser
Origin check (the node reached has made it, against the address the browser
used).  A request carrying that header, signed or not, is never passed on
again: a node whose secret differs from its peers' (which ``Arena.open``
refuses to start) could otherwise bounce one request between them.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from tornado.httputil import HTTPHeaders, HTTPServerRequest

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


def passed_on(request: HTTPServerRequest) -> bool:
    """Whether this request came from another node (or says it did): it is
    answered here, never passed on again."""
    return HEADER in request.headers


def passed_headers(secret: bytes, request: HTTPServerRequest, *,
                   socket: bool = False) -> HTTPHeaders:
    """The client's end-to-end headers, as they came, and this node's proof;
    for a ``socket``, without the client's own WebSocket handshake (the
    relay makes its own)."""
    named = {part.strip().lower() for value in request.headers.get_list("Connection")
             for part in value.split(",")}
    headers = HTTPHeaders()
    for name, value in request.headers.get_all():
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in named or (socket and lower.startswith("sec-websocket-")):
            continue
        headers.add(name, value)
    headers[HEADER] = proof(secret)
    return headers
