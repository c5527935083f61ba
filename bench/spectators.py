"""One popular match: many spectators, some joining and leaving every second.

    python -m bench.spectators [--spectators 1000] [--churn 50] [--rapid 0] [--seconds 30]

Starts its own Arena (embedded database, pinned to CPU 0).  A host creates a
match; ``--spectators`` users attach and join it as spectators; then, for
``--seconds``, ``--churn`` spectators a second come and go (half of them send
``leave`` and close, half attach and ``join``), while the host's socket sends
a ``ping`` every 100 ms from a process of its own.  With ``--rapid N``, N
more users each join and leave over one socket ten times a second (20 frames
a second, the default per-socket rate limit), awaiting each ack.  Reports:

- the ping's round trip (p50/p99/max): how long a command waits in the actor;
- the match's mailbox depth (``arena_mailbox_depth``, sampled every 100 ms);
- for every spectator socket, whether the events it received were gap-free
  and in order from its snapshot's ``seq``, and how many it got;
- the server's CPU over the churn.

The spectators run in one client process and the pinger in another, both on
CPU 1, so the figures are for comparison (the same run, another commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import statistics
import time
from typing import Any

import uvloop
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import WebSocketClientConnection

from bench.idle import http_json, new_user
from bench.server import ArenaProcess, cpu_seconds
from bench.sockets import EventOrder, open_socket


class Watcher:
    """One spectator socket: joins, then checks every event's seq follows the last."""

    def __init__(self, connection: WebSocketClientConnection, seq: int) -> None:
        self.connection = connection
        self.order = EventOrder(seq)
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def join(cls, url: str, match_id: int, token: str) -> Watcher:
        connection, snapshot = await open_socket(url, match_id, token)
        watcher = cls(connection, snapshot["seq"])
        connection.write_message(json.dumps({"type": "join", "role": "spectator", "id": 1}))
        watcher.reader = asyncio.get_running_loop().create_task(watcher.read())
        return watcher

    async def read(self) -> None:
        while (message := await self.connection.read_message()) is not None:
            self.order.see(message.encode() if isinstance(message, str) else message)

    async def leave(self) -> None:
        self.connection.write_message(json.dumps({"type": "leave", "id": 2}))
        await asyncio.sleep(0.2)
        self.connection.close()


async def flicker(url: str, match_id: int, token: str, seconds: float) -> int:
    """Join and leave as a spectator ten times a second over one socket; the pairs done."""
    connection, _ = await open_socket(url, match_id, token)
    loop = asyncio.get_running_loop()
    deadline, pairs, n = loop.time() + seconds, 0, 0
    next_at = loop.time()
    while loop.time() < deadline:
        for kind in ("join", "leave"):
            n += 1
            connection.write_message(json.dumps({"type": kind, "role": "spectator", "id": n}))
            while (message := await connection.read_message()) is not None:
                frame = json.loads(message)
                if frame.get("id") == n and frame["type"] in ("ack", "error"):
                    break
        pairs += 1
        next_at += 0.1
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    connection.close()
    return pairs


async def spectate(url: str, match_id: int, tokens: list[str], attached: int, churn: float,
                   seconds: float, ready: Any, go: Any, results: Any, rapid: int) -> None:
    watchers: dict[int, Watcher] = {}
    semaphore = asyncio.Semaphore(32)

    async def attach(n: int) -> None:
        async with semaphore:
            watchers[n] = await Watcher.join(url, match_id, tokens[n])

    await asyncio.gather(*(attach(n) for n in range(attached)))
    await asyncio.sleep(2)
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.01)
    flickers = [asyncio.get_running_loop().create_task(flicker(url, match_id, token, seconds))
                for token in tokens[len(tokens) - rapid:]]
    idle = list(range(attached, len(tokens) - rapid))
    random.shuffle(idle)
    finished: list[Watcher] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pending: set[asyncio.Task[Any]] = set()
    step = 1 / churn
    joining = True
    next_at = loop.time()
    while loop.time() < deadline:
        next_at += step
        if joining and idle:
            n = idle.pop()
            pending.add(loop.create_task(attach(n)))
        elif watchers:
            n = random.choice(list(watchers))
            watcher = watchers.pop(n)
            finished.append(watcher)
            pending.add(loop.create_task(watcher.leave()))
            idle.insert(0, n)
        joining = not joining
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    await asyncio.gather(*pending, return_exceptions=True)
    rapid_pairs = sum(await asyncio.gather(*flickers))
    await asyncio.sleep(2)  # the last events arrive
    every = list(watchers.values()) + finished
    results.put({"rapid_pairs_per_s": round(rapid_pairs / seconds, 1),
                 "sockets": len(every), "gaps": sum(w.order.gaps for w in every),
                 "events": sum(w.order.events for w in every),
                 "max_last": max(w.order.last for w in every),
                 "closed_early": sum(1 for w in watchers.values()
                                     if w.connection.close_code is not None)})


def spectator_process(*args: Any) -> None:
    uvloop.run(spectate(*args))


async def ping_and_sample(url: str, match_id: int, token: str, seconds: float) -> dict[str, Any]:
    connection, _ = await open_socket(url, match_id, token)
    client = AsyncHTTPClient(force_instance=True)
    rtts: list[float] = []
    depths: list[int] = []
    waiting: dict[int, float] = {}

    async def read() -> None:
        while (message := await connection.read_message()) is not None:
            frame = json.loads(message)
            if frame["type"] == "pong" and frame["id"] in waiting:
                rtts.append(time.perf_counter() - waiting.pop(frame["id"]))

    async def sample() -> None:
        while True:
            text = (await client.fetch(url + "/metrics")).body.decode()
            depth = re.search(r"^arena_mailbox_depth (\d+)", text, re.M)
            depths.append(int(depth.group(1)) if depth else -1)
            await asyncio.sleep(0.1)

    reader = asyncio.get_running_loop().create_task(read())
    sampler = asyncio.get_running_loop().create_task(sample())
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        waiting[n] = time.perf_counter()
        connection.write_message(json.dumps({"type": "ping", "id": n}))
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    sampler.cancel()
    reader.cancel()
    connection.close()
    lost = len(waiting)
    rtts.sort()
    return {"pings": n, "unanswered": lost,
            "p50_ms": 1000 * statistics.median(rtts),
            "p99_ms": 1000 * rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))],
            "max_ms": 1000 * rtts[-1], "mailbox_max": max(depths),
            "mailbox_p99": sorted(depths)[int(len(depths) * 0.99)]}


async def main(args: argparse.Namespace) -> None:
    with ArenaProcess("--idle-timeout", "3600", "--rate-limit", "100", cpu=0) as server:
        url = server.url
        client = AsyncHTTPClient(force_instance=True, max_clients=16)
        total = args.spectators + args.churn * 2 + args.rapid
        host = await new_user(client, url, "host")
        match = await http_json(client, url + "/api/ongoing_matches/", {}, host)
        semaphore = asyncio.Semaphore(16)

        async def make(n: int) -> str:
            async with semaphore:
                return await new_user(client, url, f"watcher{n}")

        tokens = await asyncio.gather(*(make(n) for n in range(total)))
        print(f"{total} users; attaching {args.spectators} spectators", flush=True)
        context = multiprocessing.get_context("spawn")
        ready, go, results = context.Event(), context.Event(), context.Queue()
        spectators = context.Process(target=spectator_process, args=(
            url, match["id"], tokens, args.spectators, args.churn, args.seconds, ready, go,
            results, args.rapid))
        spectators.start()
        os.sched_setaffinity(spectators.pid, {1})
        while not ready.is_set():
            await asyncio.sleep(0.1)
        cpu_before = cpu_seconds(server.pids()[:1])
        go.set()
        pinged = await ping_and_sample(url, match["id"], host, args.seconds)
        cpu = cpu_seconds(server.pids()[:1]) - cpu_before
        watched = results.get(timeout=120)
        spectators.join(30)
        print(json.dumps({**vars(args), **pinged, **watched,
                          "server_cpu_per_s": round(cpu / args.seconds, 3)}, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spectators", type=int, default=1000)
    parser.add_argument("--churn", type=int, default=50, help="joins + leaves per second")
    parser.add_argument("--rapid", type=int, default=0,
                        help="users joining and leaving ten times a second each")
    parser.add_argument("--seconds", type=float, default=30.0)
    os.sched_setaffinity(0, {1})
    uvloop.run(main(parser.parse_args()))
