"""What a page of a list costs as the collection grows, beside /healthz.

    python -m bench.lists [--sizes 1000,10000,100000] [--seconds 3] [--concurrency 8]

For each size N: writes N users, N completed matches (among 50 players) and N
library flags of one user straight into a fresh embedded database, in the
layout of before entries existed (so this also times the start-up migration,
where the code has one), starts Arena on it, and measures requests per second
of, alternated over ``--seconds`` each:

- ``GET /healthz`` (one database round trip: the floor);
- the leaderboard, ``GET /api/users/?ordering=-elo``, first page and a page
  at offset N/2;
- one player's completed matches, ``GET /api/completed_matches/?user=p1``;
- the user's liked games, ``GET /api/actions/lists/liked/``;

each 100 items a page.  Prints a table: requests per second and the ratio to
healthz in the same run.  Run it from another checkout to compare code.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import pymongo
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from bench.server import ServerProcess
from store.embedded import EmbeddedDatabase
from store.timestamps import format_timestamp

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
PLAYERS = 50
BATCH = 1000


def populate(uri: str, size: int) -> None:
    """N users, N completed matches among the first players, N flags of 'fan'."""
    rng = random.Random(size)
    with pymongo.MongoClient(uri) as client:
        db = client["arena"]
        base = time.time() - 86400 * 30
        users = []
        for n in range(size):
            name = "fan" if n == 0 else f"p{n}"
            users.append({
                "_id": str(uuid.uuid4()), "username": name, "username_lower": name,
                "password_hash": bcrypt.hashpw(_prepare(PASSWORD), bcrypt.gensalt(4))
                if n == 0 else b"x",
                "email": "", "first_name": "", "last_name": "",
                "date_joined": format_timestamp_at(base + n), "elo": rng.randint(700, 1500),
                "ongoing_match": None, "role": None, "is_admin": False, "token_generation": 0})
        insert(db["users"], users)
        insert(db["usernames"], [{"_id": u["username_lower"], "user_id": u["_id"],
                                  "at": u["date_joined"]} for u in users])
        matches = []
        for n in range(1, size + 1):
            winner, loser = rng.sample(range(1, min(size, PLAYERS + 1)), 2)
            moment = format_timestamp_at(base + 1000 + n)
            matches.append({"_id": str(n), "id": n, "game": "rps", "winner": f"p{winner}",
                            "loser": f"p{loser}", "winner_id": users[winner]["_id"],
                            "loser_id": users[loser]["_id"], "start_timestamp": moment,
                            "completion_timestamp": moment, "winner_score": 5,
                            "loser_score": rng.randint(0, 4), "winner_elo_before_match": 1000,
                            "loser_elo_before_match": 1000, "winner_elo_after_match": 1050,
                            "loser_elo_after_match": 950, "reason": "score"})
        insert(db["completed_matches"], matches)
        fan = users[0]["_id"]
        insert(db["library_flags"], [
            {"_id": f"{fan}:{igdb}:liked", "user_id": fan, "flag": "liked", "game_id": n,
             "igdb": igdb, "name": f"Game {n}"}
            for n, igdb in enumerate(rng.sample(range(1, size * 10), size), start=1)])
        db["counters"].insert_one({"_id": "matches", "value": size})


def _prepare(password: str) -> bytes:
    """The password as Arena feeds it to bcrypt (``handlers.security.credentials``)."""
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def format_timestamp_at(seconds: float) -> str:
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))


def insert(collection: pymongo.collection.Collection, docs: list[dict]) -> None:
    for start in range(0, len(docs), BATCH):
        collection.insert_many(docs[start:start + BATCH], ordered=False)


async def rate(client: AsyncHTTPClient, make: Callable[[], HTTPRequest], seconds: float,
               concurrency: int) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await client.fetch(make(), raise_error=False)
            if response.code != 200:
                raise RuntimeError(f"{response.code} {response.body[:200]!r}")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def measure(url: str, size: int, seconds: float, concurrency: int,
                  rounds: int) -> dict[str, float]:
    client = AsyncHTTPClient(force_instance=True, max_clients=concurrency)
    token = json.loads((await client.fetch(HTTPRequest(
        url + "/api/token/", "POST", body=json.dumps({"username": "fan", "password": PASSWORD}),
        headers={"Content-Type": "application/json"}))).body)["token"]
    auth = {"Authorization": f"Token {token}"}
    targets = {
        "healthz": lambda: HTTPRequest(url + "/healthz"),
        "leaderboard": lambda: HTTPRequest(url + "/api/users/?ordering=-elo&limit=100"),
        "leaderboard_deep": lambda: HTTPRequest(
            url + f"/api/users/?ordering=-elo&limit=100&offset={size // 2}"),
        "player_matches": lambda: HTTPRequest(url + "/api/completed_matches/?user=p1&limit=100"),
        "library_list": lambda: HTTPRequest(url + "/api/actions/lists/liked/?limit=100",
                                            headers=auth),
    }
    runs: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, make in targets.items():
            runs[name].append(await rate(client, make, seconds, concurrency))
    client.close()
    return {name: statistics.median(values) for name, values in runs.items()}


async def main(args: argparse.Namespace) -> None:
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        data_dir = Path(tempfile.mkdtemp(prefix="arena-lists-"))
        database = EmbeddedDatabase(data_dir, log_level="warn")
        uri = database.start()
        started = time.perf_counter()
        populate(uri, size)
        filled = time.perf_counter() - started
        database.stop()
        started = time.perf_counter()
        with ServerProcess([sys.executable, str(ROOT / "server.py"), "--port", "0",
                            "--data-dir", str(data_dir), "--log-level", "warning",
                            "--bcrypt-rounds", "4"], "Arena listening on ", cpu=0) as server:
            boot = time.perf_counter() - started
            rates = await measure(server.url, size, args.seconds, args.concurrency, args.rounds)
        shutil.rmtree(data_dir, ignore_errors=True)
        row = {"size": size, "fill_s": round(filled, 1), "start_s": round(boot, 1),
               **{name: round(value, 1) for name, value in rates.items()},
               **{f"{name}_vs_healthz": round(value / rates["healthz"], 3)
                  for name, value in rates.items() if name != "healthz"}}
        rows.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(main(parser.parse_args()))
