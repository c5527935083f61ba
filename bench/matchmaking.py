"""The ranked queue under load: players queueing, paired, playing, queueing again.

    python -m bench.matchmaking [--players 200] [--think 1.0] [--seconds 30]
                                [--warmup 5] [--waiting 0,1000,10000] [--spread 250]

For each number W of ``--waiting`` tickets, a fresh Arena (embedded database,
pinned to CPU 0) gets W tickets that can never pair (each in a queue of its
own elo, 10,000 apart: what a matcher pays for a long queue it cannot
serve), then ``--players`` users with elos drawn from a normal distribution
(mean 1200, sd ``--spread``) play from one client process on CPU 1: each
waits a think time (exponential, mean ``--think`` s), queues (rps to 1),
polls its ticket every 100 ms, attaches to its match when paired, plays it
out with random throws, and queues again.

Reported over ``--seconds`` after ``--warmup`` (medians are not taken: one
run per W, each line its own run):

- pairings per second (matches whose ``started`` event came in the window);
- queue → paired and queue → started (p50/p99): from the ticket's ``created``
  to the match's ``creation_timestamp`` and to its ``started`` event's
  ``start_timestamp``, both the server's clock; "started" includes the
  client's polling (up to 100 ms) and its connecting;
- the elo difference of the pairs (p50/p99/max);
- the server's CPU share (the Python process and its database), and the
  matchmaker's own: its rounds per second and the time they took
  (``arena_matchmaking_round_seconds_total``: wall time in the server,
  database round trips included, so an upper bound on its CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymongo
import uvloop
from tornado.httpclient import AsyncHTTPClient

from bench.idle import http_json, new_user
from bench.server import ArenaProcess, cpu_seconds
from bench.sockets import open_socket
from store.timestamps import format_timestamp

THROWS = ("rock", "paper", "scissors")
POLL = 0.25


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


class Flow:
    """What the players saw, kept once the window opens."""

    def __init__(self) -> None:
        self.measuring = False
        self.started = 0
        self.to_paired: list[float] = []
        self.to_started: list[float] = []
        self.elo_gaps: list[int] = []
        self.errors = 0


async def play(client: AsyncHTTPClient, url: str, token: str, think: float, flow: Flow,
               stop: asyncio.Event) -> None:
    """One player's loop: think, queue, wait for the pairing, play, again."""
    while not stop.is_set():
        await asyncio.sleep(random.expovariate(1 / think))
        try:
            ticket = await http_json(client, url + "/api/matchmaking/",
                                     {"game": "rps", "target_score": 1}, token)
            while ticket["status"] != "matched":
                await asyncio.sleep(POLL)
                ticket = await http_json(client, url + "/api/matchmaking/", None, token)
            await play_match(client, url, token, ticket, flow)
        except Exception as error:  # counted; the first few shown
            flow.errors += 1
            if flow.errors <= 3:
                print(f"player error: {error!r}", file=sys.stderr)
            await asyncio.sleep(1)


async def play_match(client: AsyncHTTPClient, url: str, token: str, ticket: dict[str, Any],
                     flow: Flow) -> None:
    connection, snapshot = await open_socket(url, ticket["match"], token)
    match, host = snapshot["match"], snapshot["you"] == "host"
    if flow.measuring and host:  # one of the two counts the pair
        flow.to_paired.append(seconds_between(ticket["created"], match["creation_timestamp"]))
        flow.elo_gaps.append(abs(match["host"]["elo"] - match["challenger"]["elo"]))
    n = 0
    while (message := await connection.read_message()) is not None:
        frame = json.loads(message)
        if frame["type"] != "event":
            continue
        if frame["kind"] == "started" and flow.measuring:
            flow.to_started.append(seconds_between(ticket["created"], frame["start_timestamp"]))
            flow.started += host
        state = frame["state"]
        over = max(state["score"].values()) >= state["target_score"]  # "ended" comes next
        if frame["kind"] in ("started", "round_over") and not over:
            n += 1
            connection.write_message(json.dumps({"type": "move", "id": n,
                                                 "move": {"throw": random.choice(THROWS)}}))
        if frame["kind"] in ("ended", "cancelled"):
            break
    connection.close()


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def fill_queue(uri: str, count: int) -> None:
    """``count`` waiting tickets that never pair: elos 10,000 apart."""
    if not count:
        return
    now = time.time()
    tickets = [{"_id": f"bench-{n}", "id": str(uuid.uuid4()), "username": f"bench-{n}",
                "game": "rps", "target_score": 1, "elo": 100_000 + 10_000 * n,
                "created": format_timestamp(datetime.fromtimestamp(now, UTC)),
                "queued_at": now, "status": "waiting", "match": None, "matched_at": None}
               for n in range(count)]
    with pymongo.MongoClient(uri) as client:
        client["arena"]["matchmaking_tickets"].insert_many(tickets)


def spread_elos(uri: str, names: list[str], sd: float) -> None:
    with pymongo.MongoClient(uri) as client:
        users = client["arena"]["users"]
        for name in names:
            elo = max(100, int(random.gauss(1200, sd)))
            users.update_one({"username": name}, {"$set": {"elo": elo}})


async def run(args: argparse.Namespace, waiting: int) -> dict[str, Any]:
    with ArenaProcess("--idle-timeout", "3600", "--rate-limit", "1000", "--rate-burst", "1000",
                      cpu=0) as server:
        url = server.url
        uri = "mongodb://127.0.0.1:{}/".format(json.loads(
            (Path(server.data_dir) / "embedded-db.json").read_text())["port"])
        client = AsyncHTTPClient(force_instance=True, max_clients=64)
        names = [f"mm{n}" for n in range(args.players)]
        tokens = [await new_user(client, url, name) for name in names]
        spread_elos(uri, names, args.spread)
        fill_queue(uri, waiting)
        flow, stop = Flow(), asyncio.Event()
        players = [asyncio.get_running_loop().create_task(
            play(client, url, token, args.think, flow, stop)) for token in tokens]
        await asyncio.sleep(args.warmup)
        before = (await client.fetch(url + "/metrics")).body.decode()
        cpu_before, wall_before = sum(map(cpu_seconds, server.pids())), time.perf_counter()
        flow.measuring = True
        await asyncio.sleep(args.seconds)
        flow.measuring = False
        wall = time.perf_counter() - wall_before
        cpu = sum(map(cpu_seconds, server.pids())) - cpu_before
        after = (await client.fetch(url + "/metrics")).body.decode()
        stop.set()
        for task in players:
            task.cancel()
        await asyncio.gather(*players, return_exceptions=True)
        rounds = metric(after, "arena_matchmaking_rounds_total") - metric(
            before, "arena_matchmaking_rounds_total")
        round_time = metric(after, "arena_matchmaking_round_seconds_total") - metric(
            before, "arena_matchmaking_round_seconds_total")
        return {
            "waiting": waiting,
            "pairings_per_s": round(flow.started / wall, 1),
            "paired_p50_ms": round(1000 * quantile(flow.to_paired, 0.5), 1),
            "paired_p99_ms": round(1000 * quantile(flow.to_paired, 0.99), 1),
            "started_p50_ms": round(1000 * quantile(flow.to_started, 0.5), 1),
            "started_p99_ms": round(1000 * quantile(flow.to_started, 0.99), 1),
            "elo_gap_p50": quantile(flow.elo_gaps, 0.5),
            "elo_gap_p99": quantile(flow.elo_gaps, 0.99),
            "elo_gap_max": max(flow.elo_gaps, default=0),
            "elo_gap_mean": round(statistics.fmean(flow.elo_gaps), 1) if flow.elo_gaps else 0,
            "server_cpu_share": round(cpu / wall, 3),
            "rounds_per_s": round(rounds / wall, 1),
            "round_ms": round(1000 * round_time / rounds, 2) if rounds else 0.0,
            "matcher_share": round(round_time / wall, 3),
            "errors": flow.errors,
        }


FIGURES = [
    ("pairings_per_s", "pairings/s"),
    ("paired_p50_ms", "queue → paired p50 ms"), ("paired_p99_ms", "queue → paired p99 ms"),
    ("started_p50_ms", "queue → started p50 ms"), ("started_p99_ms", "queue → started p99 ms"),
    ("elo_gap_p50", "elo gap p50"), ("elo_gap_p99", "elo gap p99"),
    ("elo_gap_max", "elo gap max"),
    ("server_cpu_share", "server CPU share"), ("rounds_per_s", "rounds/s"),
    ("round_ms", "ms per round"), ("matcher_share", "matcher wall share"),
    ("errors", "errors"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=200)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--waiting", default="0,1000,10000")
    parser.add_argument("--spread", type=float, default=250.0)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the players' side; the server is on CPU 0
    results = []
    for waiting in (int(w) for w in args.waiting.split(",")):
        result = uvloop.run(run(args, waiting))
        print(json.dumps(result), flush=True)
        results.append(result)
    print("\n| | " + " | ".join(f"W={r['waiting']:,}" for r in results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key, label in FIGURES:
        print(f"| {label} | " + " | ".join(str(r[key]) for r in results) + " |")


if __name__ == "__main__":
    main()
