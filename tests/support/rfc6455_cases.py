"""RFC 6455 frames a client might send, built by hand, and the violations the
server must refuse: shared by the parser's unit tests and the end-to-end ones."""

from __future__ import annotations

import os
import struct

import pytest

#: The ``frame_limit`` the test server runs with (``Config``'s default).
FRAME_LIMIT = 4096


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True,
                 rsv: int = 0, mask: bytes | None = None) -> bytes:
    first = (0x80 if fin else 0) | rsv | opcode
    size = len(payload)
    mask_bit = 0x80 if masked else 0
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if not masked:
        return header + payload
    key = mask if mask is not None else os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


#: Frames that break RFC 6455 and the close code each must fail the connection with.
VIOLATIONS = [
    pytest.param([client_frame(0x1, b'{"type":"ping"}', masked=False)], 1002, id="unmasked"),
    pytest.param([client_frame(0x9, b"", masked=False)], 1002, id="unmasked-empty-ping"),
    pytest.param([client_frame(0x1, b'{"type":"ping"}', rsv=0x40)], 1002, id="reserved-bits"),
    pytest.param([client_frame(0x3, b"")], 1002, id="opcode-3"),
    pytest.param([client_frame(0xB, b"")], 1002, id="opcode-11"),
    pytest.param([client_frame(0x9, b"x" * 126)], 1002, id="long-ping"),
    pytest.param([client_frame(0x9, b"x", fin=False)], 1002, id="fragmented-ping"),
    pytest.param([client_frame(0x0, b"orphan")], 1002, id="orphan-continuation"),
    pytest.param([client_frame(0x1, b'{"type":', fin=False), client_frame(0x1, b'"ping"}')],
                 1002, id="message-inside-fragments"),
    pytest.param([client_frame(0x1, b'{"type":"\xff"}')], 1007, id="bad-utf8"),
    pytest.param([client_frame(0x1, b'{"type":"\xc3', fin=False), client_frame(0x0, b'"}')],
                 1007, id="bad-utf8-across-fragments"),
    pytest.param([client_frame(0x8, b"\x03")], 1002, id="one-byte-close"),
    pytest.param([client_frame(0x8, struct.pack("!H", 1005))], 1002, id="close-1005"),
    pytest.param([client_frame(0x8, struct.pack("!H", 999))], 1002, id="close-999"),
    pytest.param([client_frame(0x8, struct.pack("!H", 1000) + b"\xff")], 1007,
                 id="close-reason-bad-utf8"),
    pytest.param([client_frame(0x1, b"x" * (FRAME_LIMIT + 1))], 1009, id="over-limit"),
]

#: Only the header (and mask) of a 1 GiB text frame: refused before any payload.
HUGE_HEADER = struct.pack("!BBQ", 0x81, 0xFF, 1 << 30) + os.urandom(4)
