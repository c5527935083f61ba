"""Live rps matches under load: throws per second, latency, lost events.

    python -m bench.matches [--matches 100] [--spectators 2] [--rate 1] [--seconds 20]
                            [--warmup 5] [--url http://127.0.0.1:8000]

Without ``--url`` it starts its own Arena (embedded database, write-ahead on).
It creates ``--matches`` matches over REST, attaches two players and
``--spectators`` spectators per match on their own sockets, joins, readies
and starts them over the protocol, then each player throws ``--rate`` times a
second (random phase; a player throws again once its round is over).  After
``--warmup`` seconds it measures for ``--seconds``:

- throws per second accepted (acks);
- latency from a throw being sent to the opponent receiving the event it
  caused (``moved``, or ``round_over`` for the round's second throw);
- events lost or out of order on any socket (a gap in ``seq``), and sockets
  closed unexpectedly: both must be 0.

Matches are played to 99 so none ends during a run.  The generator is one
Python process: at high rates it, not the server, can be the limit (its CPU
share is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from bench.server import ArenaProcess

PASSWORD = "bench-password-1"
THROWS = ("rock", "paper", "scissors")


@dataclass
class Stats:
    measuring: bool = False
    acks: int = 0
    latencies: list[float] = field(default_factory=list)
    gaps: int = 0
    unexpected_closes: int = 0
    errors: int = 0


@dataclass
class Sock:
    connection: WebSocketClientConnection
    name: str
    last_seq: int = 0


class Match:
    def __init__(self, match_id: int, stats: Stats) -> None:
        self.id = match_id
        self.stats = stats
        self.sent: dict[str, float] = {}  # seat → when its pending throw was sent
        self.thrown: dict[str, bool] = {"host": False, "challenger": False}

    def on_event(self, seat: str | None, frame: dict[str, Any]) -> None:
        """Record latency when the opponent of a thrower receives the throw's event."""
        kind = frame.get("kind")
        if kind == "moved" and seat is not None and frame["seat"] != seat:
            self.record(frame["seat"])
        elif kind == "round_over" and seat is not None:
            # the round's second throw caused it: the opponent's, if still pending
            self.record("challenger" if seat == "host" else "host")
            if seat == "host":
                self.thrown = {"host": False, "challenger": False}

    def record(self, thrower: str) -> None:
        sent = self.sent.pop(thrower, None)
        if sent is not None and self.stats.measuring:
            self.stats.latencies.append(time.perf_counter() - sent)


async def http_json(client: AsyncHTTPClient, url: str, body: Any = None,
                    token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    response = await client.fetch(HTTPRequest(
        url, "POST" if body is not None else "GET", headers=headers,
        body=json.dumps(body) if body is not None else None))
    return json.loads(response.body)


async def new_user(client: AsyncHTTPClient, url: str, name: str) -> str:
    credentials = {"username": name, "password": PASSWORD}
    await http_json(client, url + "/api/users/sign_up/", credentials)
    return (await http_json(client, url + "/api/token/", credentials))["token"]


async def reader(sock: Sock, seat: str | None, match: Match, stats: Stats,
                 done: asyncio.Event) -> None:
    while True:
        text = await sock.connection.read_message()
        if text is None:
            if not done.is_set():
                stats.unexpected_closes += 1
            return
        frame = json.loads(text)
        kind = frame["type"]
        if kind == "event":
            if sock.last_seq and frame["seq"] != sock.last_seq + 1:
                stats.gaps += 1
            sock.last_seq = frame["seq"]
            match.on_event(seat, frame)
        elif kind == "snapshot":
            sock.last_seq = frame["seq"]
        elif kind == "ack":
            if stats.measuring and seat is not None:
                stats.acks += 1
        elif kind == "error":
            stats.errors += 1


async def player(sock: Sock, seat: str, match: Match, rate: float, done: asyncio.Event) -> None:
    await asyncio.sleep(random.random() / rate)
    while not done.is_set():
        if not match.thrown[seat]:
            match.thrown[seat] = True
            match.sent[seat] = time.perf_counter()
            sock.connection.write_message(json.dumps(
                {"type": "move", "move": {"throw": random.choice(THROWS)}, "id": 1}))
        await asyncio.sleep(1.0 / rate)


async def connect(url: str, match_id: int, token: str, name: str) -> Sock:
    ws_url = url.replace("http://", "ws://") + f"/ws/matches/{match_id}"
    connection = await websocket_connect(HTTPRequest(
        ws_url, headers={"Authorization": f"Token {token}"}), max_message_size=1 << 20)
    return Sock(connection, name)


async def command(sock: Sock, frame: dict[str, Any]) -> None:
    sock.connection.write_message(json.dumps(frame))


async def setup_match(client: AsyncHTTPClient, url: str, index: int, spectators: int,
                      stats: Stats) -> tuple[Match, list[tuple[Sock, str | None]]]:
    tokens = [await new_user(client, url, f"b{index}_{n}") for n in range(2 + spectators)]
    created = await http_json(client, url + "/api/ongoing_matches/",
                              {"game": "rps", "target_score": 99}, tokens[0])
    match = Match(created["id"], stats)
    socks = [await connect(url, match.id, token, f"b{index}_{n}")
             for n, token in enumerate(tokens)]
    for sock in socks:  # the snapshot
        sock.last_seq = json.loads(await sock.connection.read_message())["seq"]
    steps = [(socks[1], {"type": "join", "role": "challenger"}), (socks[1], {"type": "ready"})]
    steps += [(s, {"type": "join", "role": "spectator"}) for s in socks[2:]]
    steps.append((socks[0], {"type": "start"}))
    for sock, frame in steps:
        await command(sock, frame)
        while True:  # wait for this command's ack, skipping events
            reply = json.loads(await sock.connection.read_message())
            if reply["type"] == "event":
                sock.last_seq = reply["seq"]
            if reply["type"] in ("ack", "error"):
                break
        for other in socks:  # everyone else drains the event it caused
            if other is not sock:
                other.last_seq = 0
    seats: list[str | None] = ["host", "challenger", *([None] * spectators)]
    return match, list(zip(socks, seats, strict=True))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    stats = Stats()
    client = AsyncHTTPClient(force_instance=True, max_clients=32)
    semaphore = asyncio.Semaphore(16)

    async def one(index: int) -> tuple[Match, list[tuple[Sock, str | None]]]:
        async with semaphore:
            return await setup_match(client, url, index, args.spectators, stats)

    started = time.perf_counter()
    tables = await asyncio.gather(*(one(i) for i in range(args.matches)))
    print(f"set up {args.matches} matches, {args.matches * (2 + args.spectators)} sockets "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    done = asyncio.Event()
    tasks = []
    for match, socks in tables:
        for sock, seat in socks:
            tasks.append(asyncio.create_task(reader(sock, seat, match, stats, done)))
            if seat is not None:
                tasks.append(asyncio.create_task(player(sock, seat, match, args.rate, done)))
    await asyncio.sleep(args.warmup)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    stats.measuring = True
    began = time.perf_counter()
    await asyncio.sleep(args.seconds)
    stats.measuring = False
    elapsed = time.perf_counter() - began
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    done.set()
    for _, socks in tables:
        for sock, _ in socks:
            sock.connection.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    client.close()
    generator_cpu = (cpu_after.ru_utime + cpu_after.ru_stime
                     - cpu_before.ru_utime - cpu_before.ru_stime) / elapsed
    lat = stats.latencies
    return {
        "throws/s": stats.acks / elapsed,
        "p50 ms": percentile(lat, 0.5) * 1000, "p99 ms": percentile(lat, 0.99) * 1000,
        "max ms": max(lat) * 1000 if lat else 0.0,
        "gaps": stats.gaps, "unexpected closes": stats.unexpected_closes,
        "errors": stats.errors, "generator CPU": generator_cpu,
        "mean ms": statistics.fmean(lat) * 1000 if lat else 0.0,
    }


async def main(args: argparse.Namespace) -> None:
    if args.url:
        result = await run(args.url.rstrip("/"), args)
    else:
        # Clocks long enough that matches set up first do not time out while the
        # rest are being set up.
        with ArenaProcess("--rate-limit", "1000", "--rate-burst", "1000",
                          "--turn-timeout", "3600", "--idle-timeout", "3600") as server:
            result = await run(server.url, args)
    print(f"M={args.matches} S={args.spectators} R={args.rate}")
    for name, value in result.items():
        print(f"  {name:18} {value:10.2f}" if isinstance(value, float) else
              f"  {name:18} {value:10}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matches", type=int, default=100)
    parser.add_argument("--spectators", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--url", default="")
    asyncio.run(main(parser.parse_args()))
