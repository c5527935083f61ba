"""Live rps matches under load: throws per second, latency, lost events, cost.

    python -m bench.matches [--targets arena,relay] [--runs 3] [--matches 100]
                            [--spectators 2] [--rate 1] [--seconds 20] [--warmup 5]

For each target in turn (alternated ``--runs`` times: A B A B …, medians
reported) it starts the server pinned to CPU 0 (the generator runs on CPU 1):

- ``arena``: Arena on its embedded database, write-ahead on.  Matches are
  created over REST; two players and ``--spectators`` spectators per match
  attach on their own sockets, join, ready and start over the protocol.
- ``relay``: the bare Tornado relay of ``bench/relay.py`` (no actor, no
  database), the limit a Tornado server can reach.

Then each player throws ``--rate`` times a second (random phase; a player
throws again once its round is over).  After ``--warmup`` seconds it measures
for ``--seconds``:

- throws per second accepted (acks);
- latency from a throw being sent to the opponent receiving the event it
  caused (``moved``, or ``round_over`` for the round's second throw);
- events lost or out of order on any socket (a gap in ``seq``), and sockets
  closed unexpectedly: both must be 0;
- server CPU seconds per 1,000 throws (the embedded database counted too) and
  server RSS per socket;
- with ``--storm N``, a second window during N sign-ups a second (use
  ``--bcrypt-rounds 12`` for the real cost): bcrypt must stay off the loop.

Matches are played to 99 so none ends during a run.  The generator is one
Python process: at high rates it, not the server, can be the limit (its CPU
share is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from bench.server import ArenaProcess, RelayProcess, ServerProcess

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


async def setup_relay_match(url: str, index: int, spectators: int,
                            stats: Stats) -> tuple[Match, list[tuple[Sock, str | None]]]:
    match = Match(index, stats)
    seats: list[str | None] = ["host", "challenger", *([None] * spectators)]
    socks = []
    base = url.replace("http://", "ws://") + f"/relay/{index}?role="
    for seat in seats:
        connection = await websocket_connect(base + (seat or "spectator"))
        sock = Sock(connection, f"r{index}")
        sock.last_seq = json.loads(await connection.read_message())["seq"]
        socks.append(sock)
    return match, list(zip(socks, seats, strict=True))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def run(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    url = server.url
    stats = Stats()
    client = AsyncHTTPClient(force_instance=True, max_clients=32)
    semaphore = asyncio.Semaphore(16)

    async def one(index: int) -> tuple[Match, list[tuple[Sock, str | None]]]:
        async with semaphore:
            if server.name == "relay":
                return await setup_relay_match(url, index, args.spectators, stats)
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
    result = await measure(server, stats, args)
    if args.storm and server.name == "arena":
        storm = asyncio.create_task(sign_up_storm(client, url, args.storm, done))
        stormy = await measure(server, stats, args)
        result["p99 ms, sign-up storm"] = stormy["p99 ms"]
        result["throws/s, sign-up storm"] = stormy["throws/s"]
        tasks.append(storm)
    done.set()
    for _, socks in tables:
        for sock, _ in socks:
            sock.connection.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    client.close()
    return result


async def measure(server: ServerProcess, stats: Stats,
                  args: argparse.Namespace) -> dict[str, Any]:
    """One measuring window of ``args.seconds``."""
    stats.acks, stats.latencies = 0, []
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    server_cpu_before = server.cpu_seconds()
    stats.measuring = True
    began = time.perf_counter()
    await asyncio.sleep(args.seconds)
    stats.measuring = False
    elapsed = time.perf_counter() - began
    server_cpu = server.cpu_seconds() - server_cpu_before
    rss = server.rss_bytes()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    generator_cpu = (cpu_after.ru_utime + cpu_after.ru_stime
                     - cpu_before.ru_utime - cpu_before.ru_stime) / elapsed
    lat = stats.latencies
    return {
        "throws/s": stats.acks / elapsed,
        "p50 ms": percentile(lat, 0.5) * 1000, "p99 ms": percentile(lat, 0.99) * 1000,
        "max ms": max(lat) * 1000 if lat else 0.0,
        "gaps": stats.gaps, "unexpected closes": stats.unexpected_closes,
        "errors": stats.errors,
        "server CPU s/1k throws": server_cpu / max(1, stats.acks) * 1000,
        "server RSS KiB/socket": rss / 1024 / (args.matches * (2 + args.spectators)),
        "generator CPU": generator_cpu,
    }


async def sign_up_storm(client: AsyncHTTPClient, url: str, per_second: float,
                        done: asyncio.Event) -> None:
    """``per_second`` sign-ups a second (bcrypt at the server's cost) until done."""
    count = 0
    pending: set[asyncio.Task[Any]] = set()
    while not done.is_set():
        count += 1
        task = asyncio.create_task(http_json(client, url + "/api/users/sign_up/", {
            "username": f"storm{count}", "password": PASSWORD}))
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(1.0 / per_second)
    await asyncio.gather(*pending, return_exceptions=True)


def start(target: str, args: argparse.Namespace) -> ServerProcess:
    if target == "relay":
        return RelayProcess(cpu=0)
    # Clocks long enough that matches set up first do not time out while the
    # rest are being set up; the rate limit is the generator's, not the server's.
    return ArenaProcess("--rate-limit", "1000", "--rate-burst", "1000",
                        "--turn-timeout", "3600", "--idle-timeout", "3600",
                        "--bcrypt-rounds", str(args.bcrypt_rounds), cpu=0)


async def main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {1})
    targets = args.targets.split(",")
    results: dict[str, list[dict[str, Any]]] = {target: [] for target in targets}
    for run_number in range(args.runs):
        for target in targets:
            with start(target, args) as server:
                result = await run(server, args)
            results[target].append(result)
            print(f"run {run_number + 1} {target}: " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in result.items()), flush=True)
    nan = math.nan
    medians = {target: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for target, runs in results.items()}
    print(f"\nM={args.matches} S={args.spectators} R={args.rate}, medians of {args.runs} "
          f"alternated runs, {args.seconds:.0f} s each")
    header = f"{'':24}" + "".join(f"{t:>12}" for t in targets)
    if len(targets) > 1:
        header += "".join(f"{targets[0] + '/' + t:>16}" for t in targets[1:])
    print(header)
    for key in medians[targets[0]]:
        row = f"{key:24}" + "".join(f"{medians[t].get(key, nan):12.2f}" for t in targets)
        for t in targets[1:]:
            other = medians[t].get(key, nan)
            row += f"{(medians[targets[0]][key] / other) if other else nan:16.2f}"
        print(row)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matches", type=int, default=100)
    parser.add_argument("--spectators", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--targets", default="arena,relay")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--storm", type=float, default=0,
                        help="then measure again during this many sign-ups per second")
    parser.add_argument("--bcrypt-rounds", type=int, default=4,
                        help="Arena's bcrypt cost (12 is the server's default)")
    asyncio.run(main(parser.parse_args()))
