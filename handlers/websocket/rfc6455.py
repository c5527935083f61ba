"""RFC 6455 framing without I/O: bytes in, messages out; text in, frame bytes out.

This module knows nothing of sockets, Tornado or asyncio (the shape
python-websockets gives its protocol core).  ``handlers.websocket.frames`` is the thin
adapter that feeds it what the connection reads and writes what it frames.

- ``Parser`` takes the bytes a server reads from one client (or, with
  ``masked=False``, a client from its server), in pieces of
  any size, and returns each complete message (``str`` for text, ``bytes``
  for binary, fragments reassembled) and each control frame (``Control``).
  It checks what RFC 6455 asks of a client: frames masked, no reserved bits
  (no extension is negotiated), no unknown opcode, control frames final and
  at most 125 bytes, a continuation only inside a fragmented message and a
  new message never inside one, a close code a peer may send (all 1002);
  text and close reasons in UTF-8 (1007); no message over the size limit
  (1009), refused on the frame's header, before its payload is awaited.  The
  first violation stops the parser: what came before it is returned, then
  ``violation`` says how to fail the connection.  Nothing is read after a
  close frame.
- ``text_frame`` and ``frame`` build server frames (unmasked, so the same
  bytes serve every socket a broadcast reaches).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import NamedTuple

PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

#: Close codes a peer may put in a close frame (RFC 6455 section 7.4; 1004-1006
#: and 1015 are reserved for local use and must not appear on the wire).
SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                  1012, 1013, 1014}) | frozenset(range(3000, 5000))


class ProtocolViolation(Exception):
    """A client frame breaks RFC 6455: fail the connection with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Control(NamedTuple):
    """A checked control frame: ``CLOSE``, ``PING`` or ``PONG`` and its payload."""

    opcode: int
    payload: bytes


#: What ``Parser.receive`` returns: a text message, a binary one, or a control frame.
Event = str | bytes | Control


def apply_mask(mask: bytes, data: bytes) -> bytes:
    """``data`` XORed with the 4-byte ``mask`` repeated (RFC 6455 section 5.3).

    Pure Python, one big-integer XOR for the whole payload; the adapter may
    pass a native implementation with the same signature to ``Parser``.
    """
    size = len(data)
    if not size:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


class Parser:
    """The frames one client sends, checked and reassembled (see the module's docstring).

    ``receive`` parses every complete frame in what it is given and keeps the
    rest.  ``needed`` is how many more bytes the frame in progress lacks once
    its header has arrived (0 when it is not known yet): a reader may wait for
    that many in one read, so a large frame dripping in costs one copy, not
    one per piece.
    """

    __slots__ = (
        "buffer",
        "closed",
        "fragments",
        "fragments_opcode",
        "limit",
        "mask_size",
        "needed",
        "unmask",
        "violation",
    )

    def __init__(self, max_message_size: int,
                 unmask: Callable[[bytes, bytes], bytes] = apply_mask, *,
                 masked: bool = True) -> None:
        """``masked``: the frames come from a client, masked, as RFC 6455 has
        them (``False``: from a server, never masked)."""
        self.limit = max_message_size
        self.unmask = unmask
        self.mask_size = 4 if masked else 0
        self.buffer = b""  # the start of a frame that has not fully arrived
        self.fragments: bytearray | None = None  # the message being reassembled
        self.fragments_opcode = TEXT
        self.needed = 0
        self.violation: ProtocolViolation | None = None
        self.closed = False  # a close frame was received

    def receive(self, data: bytes) -> list[Event]:
        """The messages and control frames completed by ``data``, in order."""
        if self.violation is not None or self.closed:
            return []
        if self.buffer:
            data, self.buffer = self.buffer + data, b""
        events: list[Event] = []
        position, end = 0, len(data)
        self.needed = 0
        try:
            while end - position >= 2:
                header, second = data[position], data[position + 1]
                self._check_start(header, second)
                length = second & 0x7F
                start = position + 2 + self.mask_size  # after the header and the mask
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
                self._check_size(header, length)
                stop = start + length
                if stop > end:
                    self.needed = stop - end
                    break
                payload = (self.unmask(data[start - 4:start], data[start:stop])
                           if self.mask_size else data[start:stop])
                position = stop
                event = self._frame(header, payload)
                if event is not None:
                    events.append(event)
                    if self.closed:
                        return events
        except ProtocolViolation as violation:
            self.violation = violation
            return events
        if position < end:
            self.buffer = data[position:]
        return events

    def _check_start(self, header: int, second: int) -> None:
        """Refuse a frame on its first two bytes, before waiting for any more."""
        opcode = header & 0x0F
        if bool(second & 0x80) != bool(self.mask_size):
            raise ProtocolViolation(PROTOCOL_ERROR, "Client frames must be masked"
                                    if self.mask_size else "Server frames must not be masked")
        if header & 0x70:
            raise ProtocolViolation(PROTOCOL_ERROR, "Reserved bits set")
        if opcode & 0x08:
            if opcode > PONG:
                raise ProtocolViolation(PROTOCOL_ERROR, "Unknown opcode")
            if not header & 0x80 or second & 0x7F > 125:
                raise ProtocolViolation(PROTOCOL_ERROR, "Bad control frame")
            return
        if opcode > BINARY:
            raise ProtocolViolation(PROTOCOL_ERROR, "Unknown opcode")
        if opcode == CONTINUATION and self.fragments is None:
            raise ProtocolViolation(PROTOCOL_ERROR, "Continuation without a message")
        if opcode != CONTINUATION and self.fragments is not None:
            raise ProtocolViolation(PROTOCOL_ERROR, "New message inside a fragmented one")

    def _check_size(self, header: int, length: int) -> None:
        """Refuse a data frame that would take its message over the limit."""
        if header & 0x08:
            return  # a control frame: at most 125 bytes, checked on its start
        if length + (len(self.fragments) if self.fragments else 0) > self.limit:
            raise ProtocolViolation(TOO_BIG, "Message too big")

    def _frame(self, header: int, payload: bytes) -> Event | None:
        """One checked, unmasked frame: its event, or None for a fragment kept."""
        opcode = header & 0x0F
        if opcode & 0x08:
            if opcode == CLOSE:
                check_close_payload(payload)
                self.closed = True
            return Control(opcode, payload)
        if not header & 0x80:  # a fragment, and not the last
            if self.fragments is None:
                self.fragments, self.fragments_opcode = bytearray(payload), opcode
            else:
                self.fragments += payload
            return None
        if opcode == CONTINUATION:  # the last fragment
            assert self.fragments is not None
            self.fragments += payload
            opcode, payload = self.fragments_opcode, bytes(self.fragments)
            self.fragments = None
        if opcode == TEXT:
            try:
                return payload.decode()
            except UnicodeDecodeError:
                raise ProtocolViolation(INVALID_DATA, "Text is not UTF-8") from None
        return payload


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


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked server frame of ``opcode`` carrying ``payload``."""
    size = len(payload)
    first = 0x80 | opcode
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


@functools.lru_cache(maxsize=1024)
def text_frame(text: bytes | str) -> bytes:
    """``text`` (UTF-8 bytes or a string) as one unmasked, unfragmented text frame.

    Cached: a broadcast sends the same object to every socket of a view, and
    bytes and strings cache their own hash, so each later lookup is cheap.
    """
    return frame(TEXT, text.encode() if isinstance(text, str) else text)
