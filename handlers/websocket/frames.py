"""The Tornado adapter for ``handlers.websocket.rfc6455``: the match socket's frames in and out.

Tornado keeps the upgrade handshake, the handler API (``open``,
``on_message``, ``on_close``), pings and pongs, and the close handshake.
What a busy match socket does thousands of times a second goes through the
sans-I/O core instead:

- **Frames in.**  Tornado's own reader awaits the stream three or four times
  per frame (header, length, mask, payload).  ``FrameProtocol`` awaits
  whatever the socket holds (up to ``READ_SIZE``) and gives it to a
  ``Parser``, which returns every message it completes; a frame whose
  payload is still on its way is awaited whole, in one read.  Messages go to
  the handler's ``on_message`` as Tornado would hand them, and when that
  returns a coroutine the next message waits for it.  A violation fails the
  connection: a close frame with the parser's code, then the TCP close.
- **Frames out** (``FrameProtocol.queue``).  Each text is framed once
  (``rfc6455.text_frame``) however many sockets receive it, and the frames a
  socket is given during one turn of the event loop (an event and its ack,
  say) go out in one write, every such socket flushed from one callback
  (``Flusher``).  Tornado's ``write_message`` frames the text again
  for each socket and makes a future and a task per frame.

A relay's socket to another node (``handlers.cluster.relay``) reads its server's
frames the same way (``UpstreamProtocol``: the parser in its unmasked,
server-frames mode, messages handed to a callback), and writes them masked
through Tornado, as a client must: it reads every event of its match and
writes only what its one client sends.

This module is the only one that touches Tornado's internals: it overrides
``WebSocketProtocol13._receive_frame_loop`` and calls ``_handle_message``,
``_run_callback``, ``_abort`` and ``tornado.util._websocket_mask`` (the
native unmasking), and builds a client connection as ``websocket_connect``
does (``_RequestProxy``).  The tests drive it with a real client library and with
hand-made malformed frames, so a Tornado release that moves them fails the
tests rather than the server.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from typing import Any

from tornado.httpclient import HTTPRequest, _RequestProxy
from tornado.httputil import HTTPHeaders
from tornado.iostream import StreamClosedError
from tornado.util import _websocket_mask
from tornado.websocket import WebSocketClientConnection, WebSocketProtocol, WebSocketProtocol13

from handlers.websocket.rfc6455 import Control, Event, Parser

#: The most one read takes from the stream's buffer.
READ_SIZE = 65536
#: After this many bytes read without the loop turning, let it turn
#: (a flood on one socket must not starve the others).
YIELD_AFTER = 65536


class Flusher:
    """Flushes, from one callback at the end of a turn of the loop, every
    socket that was given frames during it.

    One callback per turn rather than one per socket: each ``call_soon``
    costs a handle, and on Python 3.11 finding the running loop costs a
    ``getpid`` system call (the check was dropped in 3.12), which a profile
    of rps under load found in a fifth of the loop's samples.
    """

    __slots__ = ("dirty", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.dirty: list[FrameProtocol] = []

    def add(self, protocol: FrameProtocol) -> None:
        if not self.dirty:
            self.loop.call_soon(self.run)
        self.dirty.append(protocol)

    def run(self) -> None:
        dirty, self.dirty = self.dirty, []
        for protocol in dirty:
            protocol.flush()


#: Each running loop's flusher (a test suite runs many loops in turn).
FLUSHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Flusher] = (
    weakref.WeakKeyDictionary())


def flusher() -> Flusher:
    """The running loop's ``Flusher``."""
    loop = asyncio.get_running_loop()
    found = FLUSHERS.get(loop)
    if found is None:
        found = FLUSHERS[loop] = Flusher(loop)
    return found


class FrameProtocol(WebSocketProtocol13):
    """Tornado's RFC 6455 protocol, reading through ``Parser`` and writing pre-framed bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser = Parser(self.params.max_message_size, _websocket_mask)
        self.outbox: list[bytes] = []  # frames queued this turn of the loop
        #: where in ``outbox`` this turn's state frame is (at most one)
        self.state_at: int | None = None
        #: the newest state frame, kept while the stream is still writing
        self.held_state: bytes | None = None
        #: event frames queued or handed to the stream and not yet written
        #: (state frames never count: they are replaced, not queued up)
        self.pending = 0
        #: the loop's ``Flusher``, found on the first frame out
        self.flusher: Flusher | None = None

    # -- frames in ---------------------------------------------------------------------

    async def _receive_frame_loop(self) -> None:
        stream, parser = self.stream, self.parser
        unyielded = 0
        try:
            while not self.client_terminated:
                if parser.needed:
                    data = await stream.read_bytes(parser.needed)
                else:
                    data = await stream.read_bytes(READ_SIZE, partial=True)
                for event in parser.receive(data):
                    handled = self.deliver(event)
                    if handled is not None:
                        await handled
                if parser.violation is not None:
                    self.fail(parser.violation.code, parser.violation.reason)
                    break
                unyielded += len(data)
                if unyielded >= YIELD_AFTER:
                    unyielded = 0
                    await asyncio.sleep(0)
        except StreamClosedError:
            self._abort()
        finally:
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)

    def deliver(self, event: Event) -> Any:
        """Hand one event to Tornado; a future when ``on_message`` is a coroutine."""
        if isinstance(event, Control):
            return self._handle_message(event.opcode, event.payload)  # close, ping, pong
        return self._run_callback(self.handler.on_message, event)

    def fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): a close frame, then the TCP close."""
        self.close(code, reason)
        self._abort()

    # -- frames out ----------------------------------------------------------------------

    def queue(self, frame: bytes) -> None:
        """Send ``frame`` (a whole frame's bytes) with the others of this loop turn."""
        if not self.outbox:
            (self.flusher or self.find_flusher()).add(self)
        self.outbox.append(frame)
        self.pending += 1

    def find_flusher(self) -> Flusher:
        self.flusher = flusher()
        return self.flusher

    def queue_state(self, frame: bytes) -> None:
        """Send a realtime state frame, newest only: it replaces a state frame
        not yet written (this turn's, or the one kept while the stream is
        busy), so a reader that is behind skips states, never events, and a
        slow reader is never closed for state frames."""
        if self.stream.writing():
            self.held_state = frame  # sent when the stream has written what it has
            return
        self.held_state = None  # this one is newer
        if self.state_at is not None:
            self.outbox[self.state_at] = frame
            return
        if not self.outbox:  # nothing else to go with it this turn: now, in one send
            self.write(frame, 0)
            return
        self.state_at = len(self.outbox)
        self.outbox.append(frame)

    def flush(self) -> None:
        """Write the frames queued this turn of the loop in one go.

        When the stream has nothing queued (the usual case: a reader keeping
        up), the bytes go straight to the socket, and only what the kernel
        does not take is handed to the stream, which then owns the ordering
        (while it is writing, everything goes through it: pongs and close
        frames too).
        """
        frames, self.outbox = self.outbox, []
        if not frames:
            return
        events = len(frames) - (self.state_at is not None)
        self.state_at = None
        self.write(frames[0] if len(frames) == 1 else b"".join(frames), events)

    def write(self, data: bytes, events: int) -> None:
        """Write ``data`` (``events`` of its frames count in ``pending`` until written)."""
        stream = self.stream
        if self.server_terminated or stream.closed():
            self.pending -= events
            return
        if not stream.writing():
            try:
                sent = stream.socket.send(data)
            except OSError:  # BlockingIOError, or an error the stream's write below meets
                sent = 0
            if sent == len(data):
                self.pending -= events
                return
            data = data[sent:]
        try:
            written = stream.write(data)
        except StreamClosedError:
            self.pending -= events
            return
        written.add_done_callback(functools.partial(self._written, events))

    def _written(self, count: int, future: Any) -> None:
        self.pending -= count
        if not future.cancelled():
            future.exception()  # a closed stream: nothing to do, but do not log it
        held = self.held_state
        if held is not None and not self.stream.writing() and not self.stream.closed():
            self.held_state = None
            self.queue_state(held)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.flush()  # what was queued before the close goes out before it
        super().close(code, reason)



class UpstreamProtocol(FrameProtocol):
    """The client end of a socket to another server: its unmasked frames read
    through ``Parser``; what it writes is masked by Tornado's ``write_message``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser = Parser(self.params.max_message_size, _websocket_mask, masked=False)


class UpstreamConnection(WebSocketClientConnection):
    def get_websocket_protocol(self) -> WebSocketProtocol:
        return UpstreamProtocol(self, mask_outgoing=True, params=self.params)


async def connect_upstream(request: HTTPRequest,
                           on_message: Callable[[str | bytes | None], None]
                           ) -> WebSocketClientConnection:
    """``tornado.websocket.websocket_connect`` reading through ``UpstreamProtocol``;
    every message goes to ``on_message``, then ``None`` once the socket closes."""
    request.headers = HTTPHeaders(request.headers)  # as websocket_connect does
    with_defaults = _RequestProxy(request, HTTPRequest._DEFAULTS)
    connection = UpstreamConnection(with_defaults, on_message_callback=on_message)  # type: ignore[arg-type]
    return await connection.connect_future
