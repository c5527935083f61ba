"""RFC 6455 frames below Tornado's stock path, for the match socket.

Tornado keeps the upgrade handshake, the handler API (``open``,
``on_message``, ``on_close``), pings and pongs, and the close handshake.
What a busy match socket does thousands of times a second is done here:

- **Frames in** (``FrameProtocol._receive_frame_loop``).  Tornado's reader
  awaits the stream three or four times per frame (header, length, mask,
  payload).  This one awaits whatever the socket holds (up to ``READ_SIZE``)
  and parses every complete frame in it; only a frame whose payload is still
  on its way is awaited whole, in one read however slowly it drips in, so a
  slow sender costs no quadratic copying.  A message is handed to the
  handler's ``on_message`` as Tornado does, and when ``on_message`` returns
  a coroutine the next frame waits for it.

  The checks are RFC 6455's, and a violation fails the connection with a
  close frame naming it, then closes the TCP connection: client frames must
  be masked, carry no reserved bits (no extension is negotiated) and no
  unknown opcode, control frames must be final and at most 125 bytes, a
  continuation must follow a fragment and a new message must not interrupt
  one, a close frame's code must be one a peer may send (all 1002); text
  must be UTF-8, a close reason too (1007); a message over the size limit
  gets 1009 before its payload is read.

- **Frames out** (``text_frame``, ``FrameProtocol.queue``).  A broadcast
  hands the same text to many sockets.  Each text is framed once (server
  frames are unmasked and, without compression, the same bytes for every
  socket), and the frames a socket is given during one turn of the event
  loop (an event and its ack, say) go out in one write.  Tornado's
  ``write_message`` frames the text again for each socket and makes a
  future and a task per frame.

``FrameProtocol`` is a ``WebSocketProtocol13`` that overrides its frame
loop, a private method: the tests drive it with a real client library and
with hand-made malformed frames, so a Tornado release that moves it fails
them rather than the server.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.util import _websocket_mask  # type: ignore[attr-defined]
from tornado.websocket import WebSocketProtocol13

#: The most one read takes from the stream's buffer.
READ_SIZE = 65536
#: After this many bytes parsed without the loop turning, let it turn
#: (a flood on one socket must not starve the others).
YIELD_AFTER = 65536

PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009

#: Close codes a peer may put in a close frame (RFC 6455 section 7.4; 1004-1006
#: and 1015 are reserved for local use and must not appear on the wire).
SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  1012, 1013, 1014}) | frozenset(range(3000, 5000))


@functools.lru_cache(maxsize=1024)
def text_frame(text: bytes | str) -> bytes:
    """``text`` (UTF-8 bytes or a string) as one unmasked, unfragmented text
    frame (FIN, opcode 1).

    Cached: a broadcast sends the same object to every socket of a view, and
    bytes and strings cache their own hash, so each later lookup is cheap.
    """
    payload = text.encode() if isinstance(text, str) else text
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class ProtocolViolation(Exception):
    """A client frame breaks RFC 6455: fail the connection with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class FrameProtocol(WebSocketProtocol13):
    """Tornado's RFC 6455 protocol with batched frame reading and pre-framed writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fragments: bytearray | None = None  # the message being reassembled
        self.fragments_opcode = 0
        self.outbox: list[bytes] = []  # frames queued this turn of the loop
        #: frames queued or handed to the stream and not yet written
        self.pending = 0

    # -- frames in ---------------------------------------------------------------------

    async def _receive_frame_loop(self) -> None:
        stream = self.stream
        rest = b""  # the start of a frame whose header is incomplete
        unyielded = 0
        try:
            while not self.client_terminated:
                data = await stream.read_bytes(READ_SIZE, partial=True)
                if rest:
                    data, rest = rest + data, b""
                position, end = 0, len(data)
                while end - position >= 2 and not self.client_terminated:
                    header, second = data[position], data[position + 1]
                    self.check_start(header, second)
                    length = second & 0x7F
                    start = position + 6  # after the 2 header bytes and the 4 mask bytes
                    if length == 126:
                        start += 2
                        if end < start:
                            break
                        length = int.from_bytes(data[position + 2:position + 4], "big")
                    elif length == 127:
                        start += 8
                        if end < start:
                            break
                        length = int.from_bytes(data[position + 2:position + 10], "big")
                    elif end < start:
                        break
                    self.check_size(header, length)
                    stop = start + length
                    if stop > end:  # the payload is still arriving: wait for all of it
                        data = data[position:] + await stream.read_bytes(stop - end)
                        start, stop, position = start - position, stop - position, 0
                        end = len(data)
                    payload = _websocket_mask(data[start - 4:start], data[start:stop])
                    position = stop
                    handled = self.handle_frame(header, payload)
                    if handled is not None:
                        await handled
                    unyielded += length + 64
                if position < end:
                    rest = data[position:]
                if unyielded >= YIELD_AFTER:
                    unyielded = 0
                    await asyncio.sleep(0)
        except ProtocolViolation as violation:
            self.fail(violation.code, violation.reason)
        except StreamClosedError:
            self._abort()
        finally:
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)

    def check_start(self, header: int, second: int) -> None:
        """Refuse a frame on its first two bytes, before waiting for any more."""
        opcode = header & 0x0F
        if not second & 0x80:
            raise ProtocolViolation(PROTOCOL_ERROR, "Client frames must be masked")
        if header & 0x70:
            raise ProtocolViolation(PROTOCOL_ERROR, "Reserved bits set")
        if opcode & 0x08:
            if opcode > 0x0A:
                raise ProtocolViolation(PROTOCOL_ERROR, "Unknown opcode")
            if not header & 0x80 or second & 0x7F > 125:
                raise ProtocolViolation(PROTOCOL_ERROR, "Bad control frame")
            return
        if opcode > 0x02:
            raise ProtocolViolation(PROTOCOL_ERROR, "Unknown opcode")
        if opcode == 0 and self.fragments is None:
            raise ProtocolViolation(PROTOCOL_ERROR, "Continuation without a message")
        if opcode != 0 and self.fragments is not None:
            raise ProtocolViolation(PROTOCOL_ERROR, "New message inside a fragmented one")

    def check_size(self, header: int, length: int) -> None:
        """Refuse a data frame that would take its message over the limit, before its
        payload is read."""
        if header & 0x08:
            return  # a control frame: at most 125 bytes, checked above
        if length + (len(self.fragments) if self.fragments else 0) > self.params.max_message_size:
            raise ProtocolViolation(TOO_BIG, "Message too big")

    def handle_frame(self, header: int, payload: bytes) -> Any:
        """Act on one checked, unmasked frame; a future when ``on_message`` is a coroutine."""
        opcode = header & 0x0F
        if opcode & 0x08:
            if opcode == 0x08:
                check_close_payload(payload)
            return self._handle_message(opcode, payload)  # Tornado's close, ping and pong
        if not header & 0x80:  # a fragment, and not the last
            if self.fragments is None:
                self.fragments, self.fragments_opcode = bytearray(payload), opcode
            else:
                self.fragments += payload
            return None
        if opcode == 0:  # the last fragment
            assert self.fragments is not None
            self.fragments += payload
            opcode, payload = self.fragments_opcode, bytes(self.fragments)
            self.fragments = None
        if opcode == 0x01:
            try:
                message: str | bytes = payload.decode()
            except UnicodeDecodeError:
                raise ProtocolViolation(INVALID_DATA, "Text is not UTF-8") from None
        else:
            message = payload
        return self._run_callback(self.handler.on_message, message)

    def fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): a close frame, then the TCP close."""
        self.close(code, reason)
        self._abort()

    # -- frames out ----------------------------------------------------------------------

    def queue(self, frame: bytes) -> None:
        """Send ``frame`` (a whole frame's bytes) with the others of this loop turn."""
        if not self.outbox:
            asyncio.get_running_loop().call_soon(self.flush)
        self.outbox.append(frame)
        self.pending += 1

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
        stream = self.stream
        if self.server_terminated or stream.closed():
            self.pending -= len(frames)
            return
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        if not stream.writing():
            try:
                sent = stream.socket.send(data)
            except OSError:  # BlockingIOError, or an error the stream's write below meets
                sent = 0
            if sent == len(data):
                self.pending -= len(frames)
                return
            data = data[sent:]
        try:
            written = stream.write(data)
        except StreamClosedError:
            self.pending -= len(frames)
            return
        written.add_done_callback(functools.partial(self._written, len(frames)))

    def _written(self, count: int, future: Any) -> None:
        self.pending -= count
        if not future.cancelled():
            future.exception()  # a closed stream: nothing to do, but do not log it

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.flush()  # what was queued before the close goes out before it
        super().close(code, reason)


def check_close_payload(payload: bytes) -> None:
    """A close frame's body is empty, or a code a peer may send and a UTF-8 reason."""
    if not payload:
        return
    if len(payload) == 1:
        raise ProtocolViolation(PROTOCOL_ERROR, "Truncated close code")
    if int.from_bytes(payload[:2], "big") not in SENDABLE_CLOSE_CODES:
        raise ProtocolViolation(PROTOCOL_ERROR, "Invalid close code")
    try:
        payload[2:].decode()
    except UnicodeDecodeError:
        raise ProtocolViolation(INVALID_DATA, "Close reason is not UTF-8") from None
