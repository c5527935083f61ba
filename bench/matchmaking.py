"""The ranked queue under load: players queueing, paired, playing, queueing again.

    python -m bench.matchmaking [--players 60] [--think 1.0] [--seconds 30]
                                [--warmup 5] [--waiting 0,1000,10000] [--spread 250]
                                [--idle 10] [--no-baseline]

Each run starts a fresh Arena (embedded database, pinned to CPU 0) and
``--players`` users with elos drawn from a normal distribution (mean 1200,
sd ``--spread``), who play from one client process on CPU 1: each waits a
think time (exponential, mean ``--think`` s), finds an opponent, plays rps to
1 with random throws, and starts again.

- The baseline run (``list``) finds opponents the way there was before the
  matchmaker: a player takes the oldest open match or creates one, the
  challenger joins and readies, the host starts.  (The bench hands the match
  ids over itself, so no list is read and elo is ignored: a cheap baseline.)
- Each ``ranked`` run first fills the queue with W tickets that can never
  pair (elos 10,000 apart: what a long queue costs the matchmaker) and
  measures the server's CPU at rest for ``--idle`` seconds; then the
  players queue (``POST /api/matchmaking/``), poll their ticket every 250 ms
  and attach to the match they are given, which starts by itself.

Reported over ``--seconds`` after ``--warmup``, one run per column:

- pairings per second (matches whose ``started`` event came in the window);
- queue → paired (the ticket's ``created`` to the match's
  ``creation_timestamp``) and queue → started (to its ``start_timestamp``,
  which includes the polling and connecting), p50/p99;
- compatible → paired: for the pairs within 100 elo (compatible from the
  moment both were queued), from the later of the two tickets to the match:
  the matchmaker's own delay, which the API promises is under 2 s;
- the elo difference of the pairs;
- the server's CPU (the Python process and its database): share of a core,
  and per match played (the cost of a pairing plus a short match);
- the matchmaker's rounds per second and their time
  (``arena_matchmaking_round_seconds_total``: wall time, database round
  trips and waiting for the event loop included).
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
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymongo
import uvloop
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import WebSocketClientConnection

from bench.idle import http_json, new_user
from bench.server import ArenaProcess, cpu_seconds
from bench.sockets import open_socket
from store.pages import number
from store.tickets import FEED
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
        #: per ranked match: when each ticket was queued, when the match was made
        #: and its elo gap (to find how long after both tickets existed it came)
        self.queued: dict[int, list[str]] = defaultdict(list)
        self.made: dict[int, tuple[str, int]] = {}
        self.errors = 0

    def compatible_to_paired(self, window: int) -> list[float]:
        """For the pairs within the first window (compatible as soon as both
        were queued): seconds from the later ticket to the match."""
        return [seconds_between(max(self.queued[match_id]), made)
                for match_id, (made, gap) in self.made.items()
                if gap <= window and len(self.queued[match_id]) == 2]


async def play(client: AsyncHTTPClient, url: str, token: str, think: float, flow: Flow,
               stop: asyncio.Event, lobby: deque[asyncio.Future[int]] | None) -> None:
    """One player's loop: think, find an opponent (the matchmaker's way, or
    the list's when given a ``lobby``), play, again."""
    while not stop.is_set():
        await asyncio.sleep(random.expovariate(1 / think))
        try:
            if lobby is None:
                await play_ranked(client, url, token, flow)
            else:
                await play_listed(client, url, token, flow, lobby)
        except Exception as error:  # counted; the first few shown
            flow.errors += 1
            if flow.errors <= 3:
                print(f"player error: {error!r}", file=sys.stderr)
            await asyncio.sleep(1)


async def play_ranked(client: AsyncHTTPClient, url: str, token: str, flow: Flow) -> None:
    """Queue, poll the ticket until it is matched, play the match."""
    ticket = await http_json(client, url + "/api/matchmaking/",
                             {"game": "rps", "target_score": 1}, token)
    while ticket["status"] != "matched":
        await asyncio.sleep(POLL)
        ticket = await http_json(client, url + "/api/matchmaking/", None, token)
    connection, snapshot = await open_socket(url, ticket["match"], token)
    match, host = snapshot["match"], snapshot["you"] == "host"
    if flow.measuring:
        flow.queued[match["id"]].append(ticket["created"])
    if flow.measuring and host:  # one of the two counts the pair
        gap = abs(match["host"]["elo"] - match["challenger"]["elo"])
        flow.to_paired.append(seconds_between(ticket["created"], match["creation_timestamp"]))
        flow.elo_gaps.append(gap)
        flow.made[match["id"]] = (match["creation_timestamp"], gap)
    await play_out(connection, host, datetime.fromisoformat(ticket["created"]).timestamp(), flow)


async def play_listed(client: AsyncHTTPClient, url: str, token: str, flow: Flow,
                      lobby: deque[asyncio.Future[int]]) -> None:
    """The baseline: take the oldest open match, or create one and wait for a
    challenger; the challenger joins and readies, the host starts.  (The
    bench hands match ids over itself: no list is read, elo is ignored.)"""
    queued_at = time.time()
    host = not lobby
    if host:
        created: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        lobby.append(created)  # at once: the next player to come is the challenger
        try:
            match = await http_json(client, url + "/api/ongoing_matches/",
                                    {"game": "rps", "target_score": 1}, token)
        except Exception as error:
            created.set_exception(error)  # the challenger waiting for it fails too
            raise
        except BaseException:
            created.cancel()
            raise
        created.set_result(match["id"])
        match_id = match["id"]
    else:
        match_id = await lobby.popleft()
    connection, snapshot = await open_socket(url, match_id, token)
    if host:
        if snapshot["match"]["is_challenger_ready"]:
            connection.write_message(json.dumps({"type": "start", "id": 0}))
    else:
        connection.write_message(json.dumps({"type": "join", "role": "challenger", "id": 0}))
        connection.write_message(json.dumps({"type": "ready", "id": 0}))
    await play_out(connection, host, queued_at, flow)


async def play_out(connection: WebSocketClientConnection, host: bool, queued_at: float,
                   flow: Flow) -> None:
    """Play the match on ``connection`` with random throws until it ends."""
    n = 0
    while (message := await connection.read_message()) is not None:
        frame = json.loads(message)
        if frame["type"] != "event":
            continue
        if frame["kind"] == "ready" and host:
            connection.write_message(json.dumps({"type": "start", "id": 0}))
        if frame["kind"] == "started" and flow.measuring:
            started = datetime.fromisoformat(frame["start_timestamp"]).timestamp()
            flow.to_started.append(started - queued_at)
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


def fill_queue(uri: str, count: int) -> float:
    """Queue ``count`` tickets that never pair (elos 10,000 apart) and announce
    them, as ``POST /api/matchmaking/`` would; then the seconds a read of the
    whole queue takes (what the matchmaker pays every ``RESYNC_INTERVAL``)."""
    if not count:
        return 0.0
    now = time.time()
    tickets = [{"_id": f"bench-{n}", "id": str(uuid.uuid4()), "username": f"bench-{n}",
                "game": "rps", "target_score": 1, "elo": 100_000 + 10_000 * n,
                "created": format_timestamp(datetime.fromtimestamp(now, UTC)),
                "queued_at": now, "status": "waiting", "match": None, "matched_at": None}
               for n in range(count)]
    with pymongo.MongoClient(uri) as client:
        db = client["arena"]
        db["matchmaking_tickets"].insert_many(tickets)
        head = db["counters"].find_one_and_update({"_id": FEED}, {"$inc": {"value": count}},
                                                  upsert=True, return_document=True)["value"]
        db["matchmaking_feed"].insert_many(
            [{"_id": number(head - count + 1 + n), "user": t["_id"]}
             for n, t in enumerate(tickets)])
        started = time.perf_counter()
        db["matchmaking_tickets"].find({"status": "waiting"}).to_list()
        return time.perf_counter() - started


def spread_elos(uri: str, names: list[str], sd: float) -> None:
    with pymongo.MongoClient(uri) as client:
        users = client["arena"]["users"]
        for name in names:
            elo = max(100, int(random.gauss(1200, sd)))
            users.update_one({"username": name}, {"$set": {"elo": elo}})


async def run(args: argparse.Namespace, mode: str, waiting: int) -> dict[str, Any]:
    with ArenaProcess("--idle-timeout", "3600", "--rate-limit", "1000", "--rate-burst", "1000",
                      cpu=0) as server:
        url = server.url
        uri = "mongodb://127.0.0.1:{}/".format(json.loads(
            (Path(server.data_dir) / "embedded-db.json").read_text())["port"])
        client = AsyncHTTPClient(force_instance=True, max_clients=64)
        names = [f"mm{n}" for n in range(args.players)]
        tokens = [await new_user(client, url, name) for name in names]
        spread_elos(uri, names, args.spread)
        queue_read = fill_queue(uri, waiting)
        await asyncio.sleep(waiting / 2000)  # the matchmaker reads what was announced
        cpu_before, wall_before = cpu_seconds(server.pids()), time.perf_counter()
        await asyncio.sleep(args.idle)  # nobody playing: what the queue alone costs
        idle = (cpu_seconds(server.pids()) - cpu_before) / (
            time.perf_counter() - wall_before) if args.idle else 0.0
        flow, stop = Flow(), asyncio.Event()
        lobby: deque[asyncio.Future[int]] | None = deque() if mode == "list" else None
        players = [asyncio.get_running_loop().create_task(
            play(client, url, token, args.think, flow, stop, lobby)) for token in tokens]
        await asyncio.sleep(args.warmup)
        before = (await client.fetch(url + "/metrics")).body.decode()
        cpu_before, wall_before = cpu_seconds(server.pids()), time.perf_counter()
        flow.measuring = True
        await asyncio.sleep(args.seconds)
        flow.measuring = False
        wall = time.perf_counter() - wall_before
        cpu = cpu_seconds(server.pids()) - cpu_before
        after = (await client.fetch(url + "/metrics")).body.decode()
        stop.set()
        for task in players:
            task.cancel()
        await asyncio.gather(*players, return_exceptions=True)
        compatible = flow.compatible_to_paired(100)
        rounds = metric(after, "arena_matchmaking_rounds_total") - metric(
            before, "arena_matchmaking_rounds_total")
        round_time = metric(after, "arena_matchmaking_round_seconds_total") - metric(
            before, "arena_matchmaking_round_seconds_total")
        return {
            "mode": mode, "waiting": waiting,
            "pairings_per_s": round(flow.started / wall, 1),
            "paired_p50_ms": round(1000 * quantile(flow.to_paired, 0.5), 1),
            "paired_p99_ms": round(1000 * quantile(flow.to_paired, 0.99), 1),
            "compatible_p50_ms": round(1000 * quantile(compatible, 0.5), 1),
            "compatible_p99_ms": round(1000 * quantile(compatible, 0.99), 1),
            "compatible_max_ms": round(1000 * max(compatible, default=0.0), 1),
            "started_p50_ms": round(1000 * quantile(flow.to_started, 0.5), 1),
            "started_p99_ms": round(1000 * quantile(flow.to_started, 0.99), 1),
            "elo_gap_p50": quantile(flow.elo_gaps, 0.5),
            "elo_gap_p99": quantile(flow.elo_gaps, 0.99),
            "elo_gap_max": max(flow.elo_gaps, default=0),
            "elo_gap_mean": round(statistics.fmean(flow.elo_gaps), 1) if flow.elo_gaps else 0,
            "server_cpu_share": round(cpu / wall, 3),
            "cpu_ms_per_match": round(1000 * cpu / flow.started, 1) if flow.started else 0.0,
            "rounds_per_s": round(rounds / wall, 1),
            "round_ms": round(1000 * round_time / rounds, 2) if rounds else 0.0,
            "matcher_share": round(round_time / wall, 3),
            "queue_read_ms": round(1000 * queue_read, 1),
            "idle_cpu_share": round(idle, 3),
            "errors": flow.errors,
        }


FIGURES = [
    ("pairings_per_s", "pairings/s"),
    ("paired_p50_ms", "queue → paired p50 ms"), ("paired_p99_ms", "queue → paired p99 ms"),
    ("compatible_p50_ms", "compatible → paired p50 ms"),
    ("compatible_p99_ms", "compatible → paired p99 ms"),
    ("compatible_max_ms", "compatible → paired max ms"),
    ("started_p50_ms", "queue → started p50 ms"), ("started_p99_ms", "queue → started p99 ms"),
    ("elo_gap_p50", "elo gap p50"), ("elo_gap_p99", "elo gap p99"),
    ("elo_gap_max", "elo gap max"),
    ("server_cpu_share", "server CPU share"), ("cpu_ms_per_match", "server CPU ms/match"),
    ("rounds_per_s", "rounds/s"),
    ("round_ms", "ms per round"), ("matcher_share", "matcher wall share"),
    ("queue_read_ms", "reading the whole queue ms"),
    ("idle_cpu_share", "server CPU share at rest"),
    ("errors", "errors"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=60)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--waiting", default="0,1000,10000")
    parser.add_argument("--spread", type=float, default=250.0)
    parser.add_argument("--idle", type=float, default=10.0,
                        help="seconds of rest measured before the players start")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="first, the same players pairing through the list")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # the players' side; the server is on CPU 0
    runs = [("list", 0)] if args.baseline else []
    runs += [("ranked", int(w)) for w in args.waiting.split(",")]
    results = []
    for mode, waiting in runs:
        result = uvloop.run(run(args, mode, waiting))
        print(json.dumps(result), flush=True)
        results.append(result)
    print("\n| | " + " | ".join(
        "list" if r["mode"] == "list" else f"ranked, W={r['waiting']:,}" for r in results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key, label in FIGURES:
        print(f"| {label} | " + " | ".join(str(r[key]) for r in results) + " |")


if __name__ == "__main__":
    main()
