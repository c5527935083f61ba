"""Pong over the wire: the simulation, state frames, pauses, restarts, slow readers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import socket
import struct
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from config import Config
from handlers.context import AppContext
from tests.support.client import Api
from tests.support.play import Seat, attach, table
from tests.support.pong_bots import follow, park
from tests.support.process import ServerProcess, new_user, seat
from tests.support.rfc6455_cases import client_frame
from tests.support.ws import Peer

TICK_RATE = 30
SEND_BUFFER = 4096  # small, so that a socket that stops reading is behind at once


@pytest.fixture
def config(tmp_path: Path, database_name: str) -> Config:
    return Config(data_dir=tmp_path, database=database_name, bcrypt_rounds=4,
                  cookie_secret="arena-test-secret", socket_send_buffer=SEND_BUFFER)


async def states(peer: Peer, seconds: float) -> list[dict[str, Any]]:
    """The state frames ``peer`` receives during ``seconds``."""
    found: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            frame = await peer.read(timeout=left)
        except TimeoutError:
            break
        if frame is not None and frame["type"] == "state":
            found.append(frame)
    return found


@pytest.mark.gen_test(timeout=30)
async def test_pong_is_listed_with_its_tick_rate(api: Api) -> None:
    response = await api.get("/api/game_types/")
    assert response.status == 200
    games = {g["name"]: g for g in response.json}
    assert [g["name"] for g in response.json] == sorted(games)
    pong = games["pong"]
    assert (pong["realtime"], pong["tick_rate"], pong["turn_clock"]) == (True, TICK_RATE, False)
    assert (pong["default_target_score"], pong["max_target_score"]) == (5, 99)
    assert games["rps"]["realtime"] is False and games["rps"]["tick_rate"] is None


@pytest.mark.gen_test(timeout=60)
async def test_a_bot_that_follows_the_ball_beats_one_that_parks_five_nil(
        api: Api, base_url: str) -> None:
    match = await table(api, base_url, game="pong")
    ended, _ = await asyncio.gather(follow(match.host.peer, "host"), park(match.challenger.peer))
    assert ended is not None
    result = ended["result"]
    assert (result["winner"], result["loser"]) == (match.host.user["username"],
                                                   match.challenger.user["username"])
    assert (result["winner_score"], result["loser_score"], result["reason"]) == (5, 0, "score")
    assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
    stored = (await api.get(f"/api/completed_matches/{match.match_id}/")).json
    assert stored == result and stored["game"] == "pong"
    points = [e for e in match.host.peer.events() if e["kind"] == "point"]
    assert [p["score"]["host"] for p in points] == [1, 2, 3, 4, 5]
    assert match.spectator is not None
    assert await match.spectator.peer.next("event", "ended") == ended


@pytest.mark.gen_test(timeout=30)
async def test_state_frames_come_at_the_tick_rate_to_players_and_spectators(
        api: Api, base_url: str) -> None:
    match = await table(api, base_url, game="pong")
    assert match.spectator is not None
    seats = [match.host, match.challenger, match.spectator]
    counted = await asyncio.gather(*(states(s.peer, 3.0) for s in seats))
    for frames in counted:
        assert 0.8 * 3 * TICK_RATE <= len(frames) <= 1.2 * 3 * TICK_RATE, len(frames)
        ticks = [f["tick"] for f in frames]
        assert ticks == list(range(ticks[0], ticks[0] + len(ticks)))  # none skipped
        seqs = [f["seq"] for f in frames]  # the last event's: "started" (4), then points
        assert seqs == sorted(seqs) and seqs[0] == 4
    last = counted[0][-1]["state"]
    assert set(last) == {"tick", "ball", "paddles", "score", "target_score", "serve_in"}


@pytest.mark.gen_test(timeout=30)
async def test_the_ball_stands_still_while_a_player_is_away(api: Api, base_url: str) -> None:
    match = await table(api, base_url, game="pong")
    await states(match.host.peer, 1.5)  # the serve is under way
    match.challenger.peer.close()
    away = await match.host.peer.next("event", "disconnected")
    assert away["role"] == "challenger"
    await states(match.host.peer, 0.2)  # what was already on its way
    assert await states(match.host.peer, 1.0) == []  # paused: no ticks, no frames
    back = Seat(match.challenger.user, match.challenger.token,
                await attach(base_url, match.match_id, match.challenger.token))
    await match.host.peer.next("event", "reconnected")
    resumed = await states(back.peer, 2.0)
    assert resumed and resumed[0]["state"]["serve_in"] > 0.9  # a second before it moves on
    first, last = resumed[0]["state"]["ball"], resumed[-1]["state"]["ball"]
    assert (first["x"], first["y"]) != (last["x"], last["y"])


@pytest.mark.gen_test(timeout=30)
async def test_inputs_are_acked_and_checked(api: Api, base_url: str) -> None:
    match = await table(api, base_url, game="pong", start=False)
    early = await match.host.peer.command("move", move={"paddle": "up"})
    assert (early["type"], early["code"]) == ("error", "not_started")
    assert (await match.host.peer.command("start"))["type"] == "ack"
    ack = await match.host.peer.command("move", move={"paddle": "down"})
    assert ack["type"] == "ack" and ack["seq"] == 4  # "started"'s: no event of its own
    bad = await match.host.peer.command("move", move={"paddle": "sideways"})
    assert bad["code"] == "illegal_move"
    assert match.spectator is not None
    watcher = await match.spectator.peer.command("move", move={"paddle": "up"})
    assert watcher["code"] == "forbidden"
    moving = await states(match.host.peer, 0.5)
    assert moving[-1]["state"]["paddles"]["host"]["dir"] == "down"


class RawReader:
    """A spectator's socket that can stop reading: a small receive buffer,
    frames read by hand (the server's are unmasked)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base_url: str, match_id: int, token: str) -> RawReader:
        parts = urlsplit(base_url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        writer.write((f"GET /ws/matches/{match_id} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      f"Sec-WebSocket-Version: 13\r\nAuthorization: Token {token}\r\n\r\n"
                      ).encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, frame: dict[str, Any]) -> None:
        self.writer.write(client_frame(0x1, json.dumps(frame).encode()))

    async def read(self, timeout: float = 5.0) -> dict[str, Any] | None:
        try:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        except (TimeoutError, asyncio.IncompleteReadError):
            return None
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        payload = await self.reader.readexactly(size)
        return json.loads(payload) if first & 0x0F == 0x1 else {"type": f"opcode {first & 15}"}


@pytest.mark.gen_test(timeout=60)
async def test_a_socket_that_stops_reading_gets_every_event_and_then_the_newest_state(
        api: Api, base_url: str, context: AppContext) -> None:
    match = await table(api, base_url, game="pong", spectator=False)
    _, token = await api.new_user()
    slow = await RawReader.open(base_url, match.match_id, token)
    slow.send({"type": "join", "role": "spectator", "id": 1})
    frames: list[dict[str, Any]] = []
    while not any(f.get("id") == 1 for f in frames):
        frame = await slow.read()
        assert frame is not None
        frames.append(frame)
    players = asyncio.gather(follow(match.host.peer, "host"), park(match.challenger.peer))
    await asyncio.sleep(6.0)  # it reads nothing; points are scored meanwhile
    await first_point(match.host.peer, timeout=30.0)  # (at least one, however long a rally)
    points_meanwhile = [e["seq"] for e in match.host.peer.events() if e["kind"] == "point"]
    assert points_meanwhile, "no point was scored while the socket was not reading"
    assert context.sockets.slow_closes == 0
    while (frame := await slow.read(timeout=10)) is not None:
        frames.append(frame)
        if frame["type"] == "event" and frame["kind"] == "ended":
            break
    await players
    events = [f for f in frames if f["type"] == "event"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # every event, in order
    assert set(points_meanwhile) <= set(seqs) and events[-1]["kind"] == "ended"
    ticks = [f["tick"] for f in frames if f["type"] == "state"]
    assert ticks == sorted(ticks)
    skipped = sum(b - a - 1 for a, b in itertools.pairwise(ticks))
    assert skipped > TICK_RATE  # it was behind, and skipped states rather than queueing them
    # once reading again it was brought up to the newest state: the last frames
    # before the end are consecutive ticks
    assert ticks[-3:] == list(range(ticks[-3], ticks[-3] + 3))
    slow.writer.close()


async def first_point(peer: Peer, timeout: float = 15.0) -> dict[str, Any]:
    """The first ``point`` event among what ``peer`` received (read by a bot)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        points = [e for e in peer.events() if e["kind"] == "point"]
        if points:
            return points[0]
        await asyncio.sleep(0.02)
    raise AssertionError("no point scored")


@pytest.mark.gen_test(timeout=120)
async def test_a_killed_server_keeps_the_score_and_serves_again(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        tokens = {role: new_user(server, f"pong_{role}") for role in ("host", "challenger")}
        status, match = server.request("POST", "/api/ongoing_matches/", {"game": "pong"},
                                       token=tokens["host"])
        assert status == 201
        host, _ = await seat(server, match["id"], tokens["host"])
        challenger, _ = await seat(server, match["id"], tokens["challenger"])
        assert (await challenger.command("join", role="challenger"))["type"] == "ack"
        assert (await challenger.command("ready"))["type"] == "ack"
        assert (await host.command("start"))["type"] == "ack"
        playing = asyncio.ensure_future(asyncio.gather(follow(host, "host"), park(challenger)))
        point = await first_point(host)
        playing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await playing
    finally:
        server.stop(signal.SIGKILL)
    again = ServerProcess(tmp_path).start()
    try:
        host, snapshot = await seat(again, match["id"], tokens["host"])
        assert snapshot["match"]["score"] == point["score"]
        assert snapshot["state"]["ball"] == {"x": 0.5, "y": 0.5, "vx": 0.0, "vy": 0.0}
        assert await states(host, 0.5) == []  # the challenger is not back yet
        challenger, _ = await seat(again, match["id"], tokens["challenger"])
        resumed = await states(host, 2.0)
        assert resumed and resumed[0]["state"]["score"] == point["score"]
        assert any(f["state"]["ball"]["vx"] != 0 for f in resumed)  # served again
        assert challenger
    finally:
        again.stop()
