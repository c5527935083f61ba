"""The match socket reads client frames itself (``handlers.websocket.frames``): RFC 6455 holds.

Well-formed traffic is driven by a real client library (``websockets``):
fragmented messages, pings, the close handshake, the size limit.  What no
client library will send (unmasked frames, reserved bits, bad UTF-8, broken
control frames, frames split at every byte or packed many to a write) is
written by hand on a raw TCP connection, after a real upgrade.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.client import Api
from tests.support.play import create_match
from tests.support.rfc6455_cases import FRAME_LIMIT, HUGE_HEADER, VIOLATIONS, client_frame


async def new_match(api: Api) -> tuple[int, str]:
    _, token = await api.new_user()
    match = await create_match(api, token)
    return match["id"], token


def ws_url(base_url: str, match_id: int) -> str:
    return base_url.replace("http://", "ws://") + f"/ws/matches/{match_id}"


async def library_client(base_url: str, api: Api) -> ClientConnection:
    match_id, token = await new_match(api)
    client = await connect(ws_url(base_url, match_id),
                           additional_headers={"Authorization": f"Token {token}"})
    assert json.loads(await client.recv())["type"] == "snapshot"
    return client


async def reply_to(client: ClientConnection, frame_id: int) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(client.recv(), 5))
        if frame.get("id") == frame_id:
            return frame


# -- a real client library -------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_a_fragmented_message_is_reassembled(api: Api, base_url: str) -> None:
    client = await library_client(base_url, api)
    text = json.dumps({"type": "ping", "id": 7, "pad": "é" * 600})
    await client.send([text[:5], text[5:333], text[333:]])
    assert await reply_to(client, 7) == {"type": "pong", "id": 7}
    await client.close()


@pytest.mark.gen_test(timeout=30)
async def test_ping_is_answered_with_its_payload(api: Api, base_url: str) -> None:
    client = await library_client(base_url, api)
    latency = await asyncio.wait_for(await client.ping(b"are you there"), 5)
    assert latency >= 0
    await client.close()


@pytest.mark.gen_test(timeout=30)
async def test_the_close_handshake_echoes_the_code(api: Api, base_url: str) -> None:
    client = await library_client(base_url, api)
    await client.close(4000, "done")
    assert client.close_code == 4000


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("pieces", [1, 3])
async def test_a_message_over_the_limit_closes_with_1009(
        api: Api, base_url: str, pieces: int) -> None:
    client = await library_client(base_url, api)
    text = json.dumps({"type": "ping", "id": 1, "pad": "x" * FRAME_LIMIT})
    step = len(text) // pieces + 1
    await client.send(text if pieces == 1 else [text[i:i + step]
                                                 for i in range(0, len(text), step)])
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(client.recv(), 5)
    assert client.close_code == 1009


# -- hand-made frames ------------------------------------------------------------------


def text(data: dict[str, Any]) -> bytes:
    return client_frame(0x1, json.dumps(data).encode())


class RawSocket:
    """A TCP connection upgraded by hand; frames are written and read as bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base_url: str, match_id: int, token: str) -> RawSocket:
        parts = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws/matches/{match_id} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Authorization: Token {token}\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101"), head
        raw = cls(reader, writer)
        opcode, payload = await raw.read_frame()
        assert opcode == 0x1 and json.loads(payload)["type"] == "snapshot"
        return raw

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def read_frame(self) -> tuple[int, bytes]:
        """The next server frame as (opcode, payload); (-1, b"") once the server hangs up."""
        try:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), 5)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            assert not second & 0x80, "server frames are never masked"
            return first & 0x0F, await self.reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return -1, b""

    async def next_json(self) -> dict[str, Any]:
        while True:
            opcode, payload = await self.read_frame()
            assert opcode != -1, "closed while waiting for a message"
            if opcode == 0x1:
                return json.loads(payload)

    async def close_code(self) -> int:
        """Read to the server's close frame; return its code, and check the TCP close."""
        while True:
            opcode, payload = await self.read_frame()
            assert opcode != -1, "the connection ended without a close frame"
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0]
                assert await self.read_frame() == (-1, b""), "still open after the close"
                return code


async def raw_socket(api: Api, base_url: str) -> RawSocket:
    match_id, token = await new_match(api)
    return await RawSocket.open(base_url, match_id, token)


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize(("frames", "code"), VIOLATIONS)
async def test_a_broken_frame_fails_the_connection_with_its_code(
        api: Api, base_url: str, frames: list[bytes], code: int) -> None:
    raw = await raw_socket(api, base_url)
    raw.write(b"".join(frames))
    assert await raw.close_code() == code


@pytest.mark.gen_test(timeout=30)
async def test_an_oversized_frame_is_refused_on_its_header(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    # Only the header of a 1 GiB frame is sent: the server must not wait for the payload.
    raw.write(HUGE_HEADER)
    assert await raw.close_code() == 1009


@pytest.mark.gen_test(timeout=30)
async def test_many_frames_in_one_write_are_all_answered_in_order(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    raw.write(b"".join(text({"type": "ping", "id": i}) for i in range(30)))
    assert [(await raw.next_json())["id"] for _ in range(30)] == list(range(30))


@pytest.mark.gen_test(timeout=30)
async def test_a_frame_dripped_byte_by_byte_is_read(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    frame = client_frame(0x1, json.dumps({"type": "ping", "id": 5, "pad": "y" * 300}).encode())
    for i in range(len(frame)):
        raw.write(frame[i:i + 1])
        await raw.writer.drain()
        if i % 50 == 0:
            await asyncio.sleep(0.001)
    assert await raw.next_json() == {"type": "pong", "id": 5}


@pytest.mark.gen_test(timeout=30)
async def test_fragments_may_split_a_character(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    payload = json.dumps({"type": "ping", "id": 4, "pad": "é"}, ensure_ascii=False).encode()
    cut = payload.index("é".encode()) + 1  # between the two bytes of "é"
    raw.write(client_frame(0x1, payload[:cut], fin=False) + client_frame(0x0, payload[cut:]))
    assert await raw.next_json() == {"type": "pong", "id": 4}


@pytest.mark.gen_test(timeout=30)
async def test_a_ping_between_fragments_is_answered_first(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    raw.write(client_frame(0x1, b'{"type":"pi', fin=False) + client_frame(0x9, b"hello")
              + client_frame(0x0, b'ng","id":3}'))
    assert await raw.read_frame() == (0xA, b"hello")
    assert await raw.next_json() == {"type": "pong", "id": 3}


@pytest.mark.gen_test(timeout=30)
async def test_a_close_frame_is_echoed_and_the_socket_closed(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    raw.write(client_frame(0x8, struct.pack("!H", 1000) + b"bye"))
    assert await raw.close_code() == 1000


@pytest.mark.gen_test(timeout=30)
async def test_frames_after_a_close_are_ignored(api: Api, base_url: str) -> None:
    raw = await raw_socket(api, base_url)
    raw.write(client_frame(0x8, struct.pack("!H", 1001)) + text({"type": "ping", "id": 1}))
    opcode, payload = await raw.read_frame()
    assert (opcode, struct.unpack("!H", payload[:2])[0]) == (0x8, 1001)
    assert await raw.read_frame() == (-1, b"")
