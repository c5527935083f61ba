"""A socket that never reads is closed with 1008; the match goes on without waiting."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from pathlib import Path

import pytest

from config import Config
from tests.support.client import Api
from tests.support.play import table, throw

LIMIT = 4


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path, bcrypt_rounds=4, outgoing_limit=LIMIT,
                  socket_send_buffer=4096)


def stalled_socket(base_url: str, match_id: int, token: str) -> socket.socket:
    """A real WebSocket handshake from a client with a tiny receive buffer that never reads."""
    host, port = base_url.split("//", 1)[1].split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    raw.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall((f"GET /ws/matches/{match_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                 f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Sec-WebSocket-Version: 13\r\nAuthorization: Token {token}\r\n\r\n").encode())
    return raw


@pytest.mark.gen_test(timeout=120)
async def test_a_reader_that_falls_behind_is_closed_and_nobody_waits(
    api: Api, base_url: str
) -> None:
    game = await table(api, base_url, target=99, spectator=False)
    _, token = await api.new_user()
    raw = stalled_socket(base_url, game.match_id, token)
    await asyncio.sleep(0.2)
    rounds = 0
    while rounds < 300:
        await throw(game.host, "rock")
        await throw(game.challenger, "rock")  # a tie: the match goes on forever
        rounds += 1
        metrics = (await api.get("/metrics")).body.decode()
        if "\narena_slow_reader_closes_total 1" in metrics:
            break
    assert "\narena_slow_reader_closes_total 1" in metrics, f"never closed after {rounds} rounds"
    # the players were never slowed: their last command was acknowledged at once
    started = asyncio.get_running_loop().time()
    await throw(game.host, "paper")
    assert asyncio.get_running_loop().time() - started < 1.0
    raw.close()
