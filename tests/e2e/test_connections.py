"""Connections that never finish a request, too many from one address, and
sockets that vanish during their handshake."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest

from config import Config
from tests.support.client import Api
from tests.support.play import create_match

HEADER_TIMEOUT = 0.5
PER_ADDRESS = 20


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path, bcrypt_rounds=4, header_timeout=HEADER_TIMEOUT,
                  connections_per_address=PER_ADDRESS)


async def half_open(base_url: str, count: int) -> list[tuple[asyncio.StreamReader,
                                                            asyncio.StreamWriter]]:
    """``count`` connections that send the start of a request and stop."""
    port = int(base_url.rsplit(":", 1)[1])
    connections = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: arena\r\n")
        connections.append((reader, writer))
    return connections


async def closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), timeout) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.gen_test(timeout=20)
async def test_a_connection_that_never_finishes_its_headers_is_closed(
    api: Api, base_url: str
) -> None:
    connections = await half_open(base_url, 10)
    results = await asyncio.gather(*(closed_by_server(r, HEADER_TIMEOUT * 6)
                                     for r, _ in connections))
    assert all(results)
    assert (await api.get("/healthz")).status == 200  # the server itself is fine


@pytest.mark.gen_test(timeout=20)
async def test_one_address_holds_a_bounded_number_of_connections(
    api: Api, base_url: str
) -> None:
    connections = await half_open(base_url, PER_ADDRESS + 10)
    await asyncio.sleep(0.1)
    closed_at_once = await asyncio.gather(*(closed_by_server(r, 0.2) for r, _ in connections))
    assert sum(closed_at_once) >= 10  # those over the bound went at once
    assert not any(closed_at_once[:PER_ADDRESS - 1])  # those within it were kept
    for _, writer in connections:
        writer.close()
    await asyncio.sleep(0.2)
    assert (await api.get("/healthz")).status == 200  # closing frees the slots


@pytest.mark.gen_test(timeout=30)
async def test_sockets_reset_during_their_upgrade_leave_the_gauge_at_zero(
    api: Api, base_url: str
) -> None:
    _, token = await api.new_user()
    match = await create_match(api, token)
    port = int(base_url.rsplit(":", 1)[1])
    upgrade = (f"GET /ws/matches/{match['id']} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Token {token}"
               "\r\n\r\n").encode()
    gauges = []

    async def reset_one(delay: float) -> None:
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.sendall(upgrade)
        await asyncio.sleep(delay)
        raw.close()  # RST: the upgrade is cut off wherever it has got to

    async def watch() -> None:
        for _ in range(40):
            gauges.append(await sockets_gauge(api))
            await asyncio.sleep(0.01)

    await asyncio.gather(watch(), *(reset_one(n % 7 * 0.0005) for n in range(60)))
    await asyncio.sleep(0.3)
    assert min(gauges) >= 0
    assert await sockets_gauge(api) == 0
    match_view = (await api.get(f"/api/ongoing_matches/{match['id']}/")).json
    assert match_view["host"]["username"]  # the match is still there, nobody attached


async def sockets_gauge(api: Api) -> int:
    text = (await api.get("/metrics")).body.decode()
    return int(next(line.split()[1] for line in text.splitlines()
                    if line.startswith("arena_sockets ")))
