"""Soak: many live matches for a long time; does anything grow?

    python -m bench.soak [--matches 1000] [--minutes 30] [--throw-every 4]

Starts its own Arena (embedded database, pinned to CPU 0) and keeps
``--matches`` rps matches live for ``--minutes``: in each, two players throw
every ``--throw-every`` seconds (each at a random phase) until one wins, a
spectator comes and goes, and a finished match is replaced at once by a new
one between the same two users.  Every socket checks that its events are
gap-free and in order.  Every minute it samples the server's RSS, its open
file descriptors, the mailbox depth (``/metrics``), the journal (documents
and bytes, read from the database) and the data directory's size, and at the
end prints each series with its least-squares slope per hour, and what was
lost: event gaps, matches whose end was never seen, completed matches that
the REST list does not have.

The clients run in this process, on CPU 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import pymongo
import uvloop
from tornado.httpclient import AsyncHTTPClient
from tornado.websocket import WebSocketClientConnection

from bench.idle import http_json, new_user
from bench.server import ArenaProcess, rss_bytes
from bench.sockets import EventOrder, open_socket


class Socket:
    """A socket that counts its events and checks their order."""

    def __init__(self, connection: WebSocketClientConnection, seq: int) -> None:
        self.connection = connection
        self.order = EventOrder(seq)
        self.ended = asyncio.get_running_loop().create_future()
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = 0
        asyncio.get_running_loop().create_task(self.read())

    @classmethod
    async def open(cls, url: str, match_id: int, token: str) -> Socket:
        connection, snapshot = await open_socket(url, match_id, token)
        return cls(connection, snapshot["seq"])

    async def read(self) -> None:
        while (message := await self.connection.read_message()) is not None:
            data = message.encode() if isinstance(message, str) else message
            if self.order.see(data):
                if (b'"kind":"ended"' in data or b'"kind":"cancelled"' in data) \
                        and not self.ended.done():
                    self.ended.set_result(None)
            elif data.startswith((b'{"type":"ack"', b'{"type":"error"')):
                frame = json.loads(data)
                waiter = self.replies.pop(frame.get("id"), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
        if not self.ended.done():
            self.ended.set_result(None)

    async def command(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.ids += 1
        waiter = asyncio.get_running_loop().create_future()
        self.replies[self.ids] = waiter
        self.connection.write_message(json.dumps({"type": kind, "id": self.ids, **fields}))
        return await asyncio.wait_for(waiter, 30)

    def close(self) -> None:
        self.connection.close()


class Tally:
    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self.gaps = 0
        self.errors: dict[str, int] = {}

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def play_forever(url: str, host: str, challenger: str, spectator: str,
                       throw_every: float, stop: asyncio.Event, tally: Tally) -> None:
    """Match after match between ``host`` and ``challenger``, watched now and then."""
    client = AsyncHTTPClient()
    while not stop.is_set():
        try:
            match = await http_json(client, url + "/api/ongoing_matches/", {}, host)
            seats = [await Socket.open(url, match["id"], token) for token in (host, challenger)]
            await seats[1].command("join", role="challenger")
            await seats[1].command("ready")
            await seats[0].command("start")
            tally.started += 1
            watcher = asyncio.get_running_loop().create_task(
                watch(url, match["id"], spectator, seats[0].ended, tally))
            throwers = [asyncio.get_running_loop().create_task(
                throw_until_over(seat, throw_every)) for seat in seats]
            await asyncio.wait([seats[0].ended, seats[1].ended], return_when="ALL_COMPLETED",
                               timeout=600)
            tally.ended += 1
            for task in (*throwers, watcher):
                task.cancel()
            await asyncio.gather(*throwers, watcher, return_exceptions=True)
            tally.gaps += sum(seat.order.gaps for seat in seats)
            for seat in seats:
                seat.close()
        except Exception as exc:  # counted, and the pair starts over
            tally.error(type(exc).__name__)
            await asyncio.sleep(1)


async def throw_until_over(seat: Socket, every: float) -> None:
    await asyncio.sleep(random.random() * every)
    while not seat.ended.done():
        reply = await seat.command("move", move={"throw": random.choice(
            ("rock", "paper", "scissors"))})
        if reply["type"] == "error" and reply["code"] not in ("illegal_move", "not_started"):
            raise RuntimeError(reply["code"])
        await asyncio.sleep(every)


async def watch(url: str, match_id: int, token: str, over: asyncio.Future[None],
                tally: Tally) -> None:
    """Come and go as a spectator: watch for a while, leave, come back."""
    while not over.done():
        await asyncio.sleep(random.uniform(2, 8))
        if over.done():
            return
        socket = await Socket.open(url, match_id, token)
        try:
            reply = await socket.command("join", role="spectator")
            if reply["type"] == "ack":
                await asyncio.wait([over], timeout=random.uniform(5, 15))
                if not over.done():
                    await socket.command("leave")
        finally:
            tally.gaps += socket.order.gaps
            socket.close()


def journal_stats(data_dir: str, database: str = "arena") -> tuple[int, int]:
    """(documents, bytes) in the journal's collections."""
    record = json.loads((Path(data_dir) / "embedded-db.json").read_text())
    with pymongo.MongoClient(f"mongodb://127.0.0.1:{record['port']}/") as client:
        db = client[database]
        documents = size = 0
        for name in db.list_collection_names():
            if name.startswith("match_journal_"):
                stats = db.command("collStats", name)
                documents += stats.get("count", 0)
                size += stats.get("size", 0)
        return documents, size


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    num = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    den = sum((t - mean_t) ** 2 for t, _ in samples)
    return num / den * 3600 if den else 0.0


def dir_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


async def main(args: argparse.Namespace) -> None:
    with ArenaProcess("--idle-timeout", "3600", cpu=0) as server:
        url = server.url
        AsyncHTTPClient.configure(None, max_clients=64)
        client = AsyncHTTPClient()
        semaphore = asyncio.Semaphore(16)

        async def make(name: str) -> str:
            async with semaphore:
                return await new_user(client, url, name)

        tokens = await asyncio.gather(*(make(f"soak{n}") for n in range(args.matches * 3)))
        print(f"{len(tokens)} users; starting {args.matches} matches", flush=True)
        stop, tally = asyncio.Event(), Tally()
        players = [asyncio.get_running_loop().create_task(play_forever(
            url, tokens[3 * n], tokens[3 * n + 1], tokens[3 * n + 2], args.throw_every, stop,
            tally)) for n in range(args.matches)]
        pid = server.pids()[0]
        series: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("rss_mib", "fds", "mailbox", "journal_docs", "journal_kib",
                            "data_dir_mib", "live_matches")}
        begun = time.monotonic()
        await asyncio.sleep(args.warmup)
        for minute in range(int(args.minutes)):
            moment = time.monotonic() - begun
            metrics = (await client.fetch(url + "/metrics")).body.decode()

            def gauge(name: str, text: str = metrics) -> float:
                found = re.search(rf"^{name} (\S+)", text, re.M)
                return float(found.group(1)) if found else -1.0

            documents, size = journal_stats(server.data_dir)
            sample = {"rss_mib": rss_bytes(pid) / 2**20,
                      "fds": len(os.listdir(f"/proc/{pid}/fd")),
                      "mailbox": gauge("arena_mailbox_depth"),
                      "journal_docs": documents, "journal_kib": size / 1024,
                      "data_dir_mib": dir_bytes(server.data_dir) / 2**20,
                      "live_matches": gauge("arena_live_matches")}
            for key, value in sample.items():
                series[key].append((moment, value))
            print(json.dumps({"minute": minute, **{k: round(v, 1) for k, v in sample.items()},
                              "started": tally.started, "ended": tally.ended,
                              "gaps": tally.gaps, "errors": tally.errors}), flush=True)
            await asyncio.sleep(max(0.0, begun + args.warmup + 60 * (minute + 1)
                                    - time.monotonic()))
        stop.set()
        await asyncio.wait(players, timeout=300)
        completed = (await client.fetch(url + "/api/completed_matches/?limit=1")).headers
        print(json.dumps({
            "matches": args.matches, "minutes": args.minutes, "throw_every": args.throw_every,
            "started": tally.started, "ended": tally.ended, "gaps": tally.gaps,
            "errors": tally.errors, "completed_in_rest": int(completed["X-Total-Count"]),
            "slopes_per_hour": {k: round(slope_per_hour(v[1:]), 2) for k, v in series.items()},
            "first": {k: round(v[0][1], 1) for k, v in series.items() if v},
            "last": {k: round(v[-1][1], 1) for k, v in series.items() if v},
        }, indent=1), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matches", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--throw-every", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    os.sched_setaffinity(0, {1})
    uvloop.run(main(parser.parse_args()))
