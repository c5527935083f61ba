"""What a relayed socket costs: the same matches played direct and through another node.

    python -m bench.cluster [--matches 200] [--rate 2] [--seconds 20] [--warmup 5] [--runs 2]

Starts the embedded database alone (``server.py database``) and two nodes on
it, ``A`` and ``B``, all three on CPU 0 (two nodes sharing one core: what a
cluster costs, not what it gains); the players run in one process on CPU 1.
``--matches`` rps matches (to 99, a score not reached) are created through
``A``, so ``A`` holds them all.  In the ``direct`` round both players of
every match attach to ``A``; in the ``relayed`` round they attach to ``B``,
which relays every frame to ``A`` and back.  Rounds alternate (direct,
relayed, direct, …), each on fresh matches.  Each player throws ``--rate``
times a second (a round at a random match: both players throw, so every
throw is a legal move, stored before its ack) and times each throw from
sending it to its ``ack``.

Reported per round: throws/s, the throw → ack latency (p50/p99), and the
server side's CPU (both nodes and the database) per 1,000 throws, and the
database's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from typing import Any

import uvloop
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import WebSocketClientConnection

from bench.idle import http_json, new_user
from bench.server import ClusterProcess, cpu_seconds
from bench.sockets import open_socket

THROWS = ("rock", "paper", "scissors")


async def event(connection: WebSocketClientConnection, kind: str) -> None:
    """Read until the event ``kind``."""
    while (message := await connection.read_message()) is not None:
        frame = json.loads(message)
        if frame["type"] == "event" and frame["kind"] == kind:
            return
    raise RuntimeError(f"closed before {kind}")


class Player:
    def __init__(self, connection: WebSocketClientConnection) -> None:
        self.connection = connection
        self.sent: dict[int, float] = {}
        self.latencies: list[float] = []
        self.errors = 0
        self.n = 0

    async def read(self) -> None:
        while (message := await self.connection.read_message()) is not None:
            frame = json.loads(message)
            if frame["type"] in ("ack", "error") and frame.get("id") in self.sent:
                self.latencies.append(time.perf_counter() - self.sent.pop(frame["id"]))
                self.errors += frame["type"] == "error"

    def throw(self) -> None:
        self.n += 1
        self.sent[self.n] = time.perf_counter()
        self.connection.write_message(json.dumps(
            {"type": "move", "id": self.n, "move": {"throw": random.choice(THROWS)}}))


async def seat(url_a: str, url_b: str, tokens: list[tuple[str, str]], relayed: bool
               ) -> list[Player]:
    """Create a match per pair through A, and seat its two players through A or B."""
    client = AsyncHTTPClient(force_instance=True, max_clients=32)
    url = url_b if relayed else url_a
    players = []
    for host_token, challenger_token in tokens:
        match = await http_json(client, url_a + "/api/ongoing_matches/",
                                {"game": "rps", "target_score": 99}, host_token)
        host, _ = await open_socket(url, match["id"], host_token)
        challenger, _ = await open_socket(url, match["id"], challenger_token)
        for frame in ({"type": "join", "role": "challenger"}, {"type": "ready"}):
            challenger.write_message(json.dumps({**frame, "id": 0}))
        await event(host, "ready")
        host.write_message(json.dumps({"type": "start", "id": 0}))
        await event(host, "started")
        players += [Player(host), Player(challenger)]
    await asyncio.sleep(1)
    return players


async def play(players: list[Player], rate: float, seconds: float) -> int:
    """Rounds at random matches, both players throwing (so every throw is a
    legal move, stored before its ack), ``rate`` throws per player per second."""
    readers = [asyncio.get_running_loop().create_task(p.read()) for p in players]
    pairs = list(zip(players[::2], players[1::2], strict=True))
    deadline = time.perf_counter() + seconds
    throws = 0
    step = 2 / (rate * len(players))
    next_at = time.perf_counter()
    while time.perf_counter() < deadline:
        for player in random.choice(pairs):
            player.throw()
        throws += 2
        next_at += step
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.sleep(1)
    for reader in readers:
        reader.cancel()
    return throws


async def round_of(url_a: str, url_b: str, pids: dict[str, list[int]],
                   tokens: list[tuple[str, str]], relayed: bool, args: argparse.Namespace
                   ) -> dict[str, Any]:
    players = await seat(url_a, url_b, tokens, relayed)
    await play(players, args.rate, args.warmup)
    for p in players:
        p.latencies.clear()
        p.errors = 0
    before = {part: cpu_seconds(ids) for part, ids in pids.items()}
    wall = time.perf_counter()
    throws = await play(players, args.rate, args.seconds)
    wall = time.perf_counter() - wall
    cpu = {part: cpu_seconds(ids) - before[part] for part, ids in pids.items()}
    for p in players:
        p.connection.close()
    latencies = sorted(x for p in players for x in p.latencies)
    return {"mode": "relayed" if relayed else "direct", "throws_per_s": round(throws / wall),
            "answered": len(latencies), "sent": throws,
            "errors": sum(p.errors for p in players),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 2),
            "cpu_s_per_1k": round(1000 * sum(cpu.values()) / throws, 3),
            "database_cpu_s_per_1k": round(1000 * cpu["database"] / throws, 3)}


async def main(args: argparse.Namespace) -> None:
    # a grace period past the bench: the matches of a round, left when it ends,
    # must not forfeit (and write) during the next
    with ClusterProcess(2, "--rate-limit", "1000", "--rate-burst", "1000", "--turn-timeout",
                        "3600", "--idle-timeout", "3600", "--grace-period", "3600",
                        cpu=0) as cluster:
        a, b = cluster.nodes
        pids = {"database": cluster.database.pids(),
                "nodes": [pid for node in cluster.nodes for pid in node.pids()]}
        client = AsyncHTTPClient(force_instance=True, max_clients=16)
        results = []
        for n in range(args.runs * 2):
            relayed = n % 2 == 1
            names = [f"r{n}_{k}" for k in range(2 * args.matches)]
            tokens = [await new_user(client, a.url, name) for name in names]
            pairs = list(zip(tokens[::2], tokens[1::2], strict=True))
            result = await round_of(a.url, b.url, pids, pairs, relayed, args)
            print(json.dumps(result), flush=True)
            results.append(result)
        for mode in ("direct", "relayed"):
            mine = [r for r in results if r["mode"] == mode]
            print(f"{mode:8} " + "  ".join(
                f"{key} {statistics.median(r[key] for r in mine)}"
                for key in ("throws_per_s", "p50_ms", "p99_ms", "cpu_s_per_1k",
                            "database_cpu_s_per_1k")))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=2)
    os.sched_setaffinity(0, {1})
    uvloop.run(main(parser.parse_args()))
