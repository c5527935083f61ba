"""Limits enforced below the handlers: request bodies and connections.

- ``BodyLimit`` refuses a request body over the configured limit with the
  contract's 400, answered *before* the body is read and then drained, so the
  client reads the answer instead of a reset connection (closing a socket
  that still has unread data makes the kernel send RST, which destroys a
  reply the client has not read yet).  The body is never buffered past the
  limit.
- ``ArenaHTTPServer`` closes connections that do not finish their request
  headers within ``header_timeout`` (Tornado's idle-connection timeout, which
  also bounds the wait for the next request on a kept-alive connection) and
  holds at most ``per_address`` connections still speaking HTTP from one
  client address; a connection over the bound is closed at once.  Sockets
  that were upgraded to WebSocket no longer count: they are authenticated
  and bounded by the match.  Behind a trusted proxy the client address is
  the one the proxy names (``ForwardedClient``, ``handlers.security.proxy``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from tornado.iostream import IOStream

from handlers.security.proxy import TrustedProxies

#: Bodies up to this many times the limit are read and dropped after the 400,
#: so the client sees the answer; a larger one has its connection closed
#: without being read (``HTTPServer``'s ``max_body_size``).
DRAIN_FACTOR = 256
DRAIN_MINIMUM = 16 * 1024 * 1024


def drain_limit(body_limit: int) -> int:
    return max(body_limit * DRAIN_FACTOR, DRAIN_MINIMUM)


class BodyLimit(HTTPMessageDelegate):
    """Wraps the application's delegate for one request; refuses a long body.

    ``refusal(path)`` gives the JSON body of the 400 for a request path (the
    two response shapes differ by path family); ``counted(method, status)``
    records the answered request for ``/metrics``.
    """

    def __init__(
        self, inner: HTTPMessageDelegate, connection: HTTPConnection, limit: int,
        refusal: Callable[[str], bytes], counted: Callable[[str, int], None],
    ) -> None:
        self.inner = inner
        self.connection = connection
        self.limit = limit
        self.refusal = refusal
        self.counted = counted
        self.drain = drain_limit(limit)
        self.received = 0
        self.refused = False
        self.finished = False
        self.path = "/"
        self.method = ""

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        assert isinstance(start_line, RequestStartLine)
        self.path = start_line.path.split("?", 1)[0]
        self.method = start_line.method
        declared = headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.limit:
            # A client waiting for "100 Continue" sends nothing more once it has
            # the answer; a body past the drain limit is not worth reading.
            waiting = headers.get("Expect", "").lower() == "100-continue"
            self.refuse(finish=waiting or int(declared) > self.drain)
            return None
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.refused:
            return None  # drained
        self.received += len(chunk)
        if self.received > self.limit:  # a chunked body that grew past the limit
            self.inner.on_connection_close()  # drops what it buffered
            self.refuse(finish=False)
            return None
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        if not self.refused:
            self.inner.finish()
        elif not self.finished:
            self.finished = True
            self.connection.finish()  # the whole body is read: the connection stays usable

    def on_connection_close(self) -> None:
        if not self.refused:
            self.inner.on_connection_close()

    def refuse(self, *, finish: bool) -> None:
        """Send the 400 now.  With ``finish`` the request ends here and Tornado
        closes the connection once the answer is out (it cannot be reused with
        a body unread); without, the body is read and dropped first, and the
        request ends in ``finish`` (Tornado hands the body to the delegate
        until then)."""
        self.refused = True
        body = self.refusal(self.path)
        headers = HTTPHeaders({
            "Content-Type": "application/json; charset=UTF-8",
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
        })
        self.connection.write_headers(ResponseStartLine("HTTP/1.1", 400, "Bad Request"),
                                      headers, body)
        self.counted(self.method, 400)
        if finish:
            self.finished = True
            self.connection.finish()


class ArenaHTTPServer(HTTPServer):
    """Tornado's server with a bound on HTTP connections per client address,
    and the client's address and scheme read from a trusted proxy's headers.

    A connection from a trusted proxy (``handlers.security.proxy``) carries many
    clients, so it is counted against the client of the request it is
    serving, from that request's headers until the next request on it or
    its close; a request whose client is at the bound has its connection
    closed at once, as a direct connection over the bound is."""

    def initialize(self, *args: Any, per_address: int = 0,
                   proxies: TrustedProxies | None = None, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.per_address = per_address
        self.proxies = proxies or TrustedProxies()
        self.by_address: Counter[str] = Counter()
        self.host_of: dict[IOStream, str] = {}

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.proxies.trusts(host):
            super().handle_stream(stream, address)  # counted by request: ``attribute``
            return
        if self.per_address and self.by_address[host] >= self.per_address:
            stream.close()
            return
        self.by_address[host] += 1
        self.host_of[stream] = host
        super().handle_stream(stream, address)

    def start_request(self, server_conn: object,
                      request_conn: HTTPConnection) -> HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        address = getattr(getattr(request_conn, "context", None), "address", None)
        if isinstance(address, tuple) and self.proxies.trusts(address[0]):
            return ForwardedClient(delegate, request_conn, self, address[0])
        return delegate

    def attribute(self, stream: IOStream, client: str) -> bool:
        """Count the proxied connection ``stream`` against ``client`` from now;
        ``False`` (and counted against nobody new) if ``client`` is at the bound."""
        if not self.per_address:
            return True
        before = self.host_of.get(stream)
        if before == client:
            return True
        if self.by_address[client] >= self.per_address:
            return False
        self.uncount(stream)
        self.by_address[client] += 1
        self.host_of[stream] = client
        return True

    def uncount(self, stream: IOStream | None) -> None:
        host = self.host_of.pop(stream, None)  # type: ignore[arg-type]
        if host is not None:
            self.by_address[host] -= 1
            if self.by_address[host] <= 0:
                del self.by_address[host]

    def on_close(self, server_conn: object) -> None:
        """The connection stopped speaking HTTP: closed, or upgraded to a WebSocket."""
        self.uncount(getattr(server_conn, "stream", None))
        super().on_close(server_conn)


class ForwardedClient(HTTPMessageDelegate):
    """One request from a connection of this server: when it came through a
    trusted proxy, its ``remote_ip`` and ``protocol`` become the client's
    (``handlers.security.proxy``), and its connection counts against that client."""

    def __init__(self, inner: HTTPMessageDelegate, connection: HTTPConnection,
                 server: ArenaHTTPServer, proxy: str) -> None:
        self.inner = inner
        self.connection = connection
        self.server = server
        self.proxy = proxy  # the trusted peer
        self.passed = False  # the headers went on to ``inner``

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        context = getattr(self.connection, "context", None)
        stream = getattr(self.connection, "stream", None)
        if context is not None and stream is not None:
            client, https = self.server.proxies.client(
                self.proxy, headers.get_list("X-Forwarded-For"),
                headers.get_list("X-Forwarded-Proto"))
            context.remote_ip = client
            context.protocol = "https" if https else "http"
            if client == self.proxy:  # the proxy itself: not bounded
                self.server.uncount(stream)
            elif not self.server.attribute(stream, client):
                stream.close()
                return None
        self.passed = True
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.inner.data_received(chunk) if self.passed else None

    def finish(self) -> None:
        if self.passed:
            self.inner.finish()

    def on_connection_close(self) -> None:
        if self.passed:
            self.inner.on_connection_close()
