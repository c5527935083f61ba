"""The sans-I/O frame parser and serializer, bytes in and out, no socket."""

from __future__ import annotations

import json
import os
import struct

import pytest

from handlers.websocket.rfc6455 import (
    CLOSE,
    PING,
    TEXT,
    Control,
    Event,
    Parser,
    apply_mask,
    frame,
    text_frame,
)
from tests.support.rfc6455_cases import FRAME_LIMIT, HUGE_HEADER, VIOLATIONS, client_frame


def feed(data: bytes, piece: int | None = None,
         limit: int = FRAME_LIMIT) -> tuple[Parser, list[Event]]:
    """A fresh parser given ``data`` whole, or ``piece`` bytes at a time."""
    parser = Parser(limit)
    step = piece or len(data) or 1
    events: list[Event] = []
    for i in range(0, len(data), step):
        events += parser.receive(data[i:i + step])
    return parser, events


def ping(frame_id: int, **extra: object) -> bytes:
    return client_frame(TEXT, json.dumps({"type": "ping", "id": frame_id, **extra}).encode())


@pytest.mark.parametrize(("frames", "code"), VIOLATIONS)
@pytest.mark.parametrize("piece", [None, 1], ids=["whole", "byte-by-byte"])
def test_a_violation_stops_the_parser_with_its_code(
        frames: list[bytes], code: int, piece: int | None) -> None:
    parser, events = feed(ping(1) + b"".join(frames) + ping(2), piece)
    assert parser.violation is not None and parser.violation.code == code
    assert events == ['{"type": "ping", "id": 1}']  # what came before; nothing after
    assert parser.receive(ping(3)) == []


def test_an_oversized_frame_is_refused_on_its_header() -> None:
    parser, events = feed(HUGE_HEADER)
    assert events == [] and parser.violation is not None and parser.violation.code == 1009


def test_every_frame_in_one_piece_comes_out_in_order() -> None:
    _, events = feed(b"".join(ping(i) for i in range(30)))
    assert [json.loads(e)["id"] for e in events] == list(range(30))  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_every_length_form_is_read_in_any_pieces(size: int) -> None:
    payload = os.urandom(size)
    for piece in (None, 1, 7):
        parser, events = feed(client_frame(0x2, payload), piece, limit=1 << 20)
        assert events == [payload] and parser.violation is None


def test_needed_says_what_the_frame_in_progress_lacks() -> None:
    data = ping(5, pad="y" * 300)
    parser = Parser(FRAME_LIMIT)
    assert parser.receive(data[:1]) == [] and parser.needed == 0  # header not complete
    assert parser.receive(data[1:20]) == []
    assert parser.needed == len(data) - 20
    assert parser.receive(data[20:]) == [json.dumps({"type": "ping", "id": 5, "pad": "y" * 300})]
    assert parser.needed == 0


def test_fragments_are_reassembled_even_inside_a_character() -> None:
    payload = json.dumps({"pad": "é"}, ensure_ascii=False).encode()
    cut = payload.index("é".encode()) + 1
    _, events = feed(client_frame(TEXT, payload[:cut], fin=False)
                     + client_frame(0x0, payload[cut:cut + 1], fin=False)
                     + client_frame(0x0, payload[cut + 1:]))
    assert events == [payload.decode()]


def test_a_control_frame_between_fragments_comes_out_first() -> None:
    _, events = feed(client_frame(TEXT, b'{"a":', fin=False) + client_frame(PING, b"hello")
                     + client_frame(0x0, b"1}"))
    assert events == [Control(PING, b"hello"), '{"a":1}']


def test_a_message_of_fragments_over_the_limit_is_refused() -> None:
    half = b"x" * (FRAME_LIMIT // 2 + 1)
    parser, _ = feed(client_frame(TEXT, half, fin=False) + client_frame(0x0, half))
    assert parser.violation is not None and parser.violation.code == 1009


def test_nothing_is_read_after_a_close_frame() -> None:
    close = struct.pack("!H", 1000) + b"bye"
    parser, events = feed(client_frame(CLOSE, close) + ping(1))
    assert events == [Control(CLOSE, close)] and parser.closed and parser.violation is None
    assert parser.receive(ping(2)) == []


def test_an_empty_close_frame_is_accepted() -> None:
    assert feed(client_frame(CLOSE, b""))[1] == [Control(CLOSE, b"")]


def test_apply_mask_is_the_xor_of_the_repeated_key() -> None:
    key = b"\x01\x80\xff\x10"
    for size in (0, 1, 3, 4, 5, 1000):
        data = os.urandom(size)
        assert apply_mask(key, data) == bytes(b ^ key[i % 4] for i, b in enumerate(data))


def test_a_native_unmask_gives_the_same_messages() -> None:
    tornado_util = pytest.importorskip("tornado.util")
    data = b"".join(ping(i, pad="z" * i) for i in range(50))
    native = Parser(FRAME_LIMIT, tornado_util._websocket_mask).receive(data)
    assert native == Parser(FRAME_LIMIT).receive(data) and len(native) == 50


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_layout(size: int) -> None:
    text = "é" * (size // 2) + "a" * (size % 2)  # multi-byte UTF-8 too
    payload = text.encode()
    framed = text_frame(text)
    assert framed == text_frame(payload)
    assert framed[0] == 0x81  # FIN, text, no reserved bits
    assert framed[1] & 0x80 == 0  # server frames are not masked
    length = framed[1] & 0x7F
    offset = 2
    if length == 126:
        length, offset = int.from_bytes(framed[2:4], "big"), 4
    elif length == 127:
        length, offset = int.from_bytes(framed[2:10], "big"), 10
    assert length == len(payload) and framed[offset:] == payload


def test_a_control_frame_is_final_and_unmasked() -> None:
    assert frame(PING, b"hi") == b"\x89\x02hi"


@pytest.mark.parametrize("size", [0, 125, 126, 65536])
def test_a_client_reads_the_unmasked_frames_a_server_sends(size: int) -> None:
    text = "é" * (size // 2)
    data = text_frame(text) + frame(PING, b"hi") + text_frame("last")
    for piece in (None, 1, 7):
        parser = Parser(1 << 20, masked=False)
        step = piece or len(data)
        events: list[Event] = []
        for i in range(0, len(data), step):
            events += parser.receive(data[i:i + step])
        assert events == [text, Control(PING, b"hi"), "last"] and parser.violation is None


def test_a_client_refuses_a_masked_frame_and_a_server_an_unmasked_one() -> None:
    client = Parser(FRAME_LIMIT, masked=False)
    assert client.receive(text_frame("fine") + ping(1)) == ["fine"]
    assert client.violation is not None and client.violation.code == 1002
    server = Parser(FRAME_LIMIT)
    assert server.receive(ping(1) + text_frame("unmasked")) == ['{"type": "ping", "id": 1}']
    assert server.violation is not None and server.violation.code == 1002
