"""Requests per second of the library's hot endpoints beside /healthz, same run.

    python -m bench.library [--games 5000] [--seconds 5] [--rounds 3] [--concurrency 16]

Starts its own server (embedded database), signs a user up, likes ``--games``
games, then measures in alternated rounds (healthz, like, list, healthz, …):

- ``GET /healthz`` (a database ping: the floor of one round trip),
- ``POST /api/actions/like/`` on a random one of the user's games (a toggle),
- ``GET /api/actions/lists/liked/`` (100 games at a random offset),

and prints each one's median requests per second and its ratio to healthz.
Client and server share this machine: the figures are for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Callable

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from bench.server import ArenaProcess

PASSWORD = "bench-password-1"


async def call(client: AsyncHTTPClient, request: HTTPRequest) -> None:
    response = await client.fetch(request, raise_error=False)
    if response.code >= 400:
        raise RuntimeError(f"{request.method} {request.url}: {response.code} {response.body!r}")


async def rate(make: Callable[[], HTTPRequest], seconds: float, concurrency: int) -> float:
    client = AsyncHTTPClient(force_instance=True, max_clients=concurrency)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(client, make())
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    client.close()
    return done / elapsed


async def main(args: argparse.Namespace) -> None:
    with ArenaProcess() as server:
        url = server.url
        client = AsyncHTTPClient(force_instance=True, max_clients=args.concurrency)
        body = json.dumps({"username": "bencher", "password": PASSWORD})
        await call(client, HTTPRequest(url + "/api/users/sign_up/", "POST", body=body))
        token_response = await client.fetch(url + "/api/token/", method="POST", body=body)
        headers = {"Authorization": "Token " + json.loads(token_response.body)["token"],
                   "Content-Type": "application/json"}

        def like(igdb: int, value: bool | None = None) -> HTTPRequest:
            payload: dict[str, object] = {"igdb": igdb, "name": f"Game {igdb}"}
            if value is not None:
                payload["value"] = value
            return HTTPRequest(url + "/api/actions/like/", "POST", headers=headers,
                               body=json.dumps(payload))

        started = time.perf_counter()
        queue = list(range(1, args.games + 1))

        async def seeder() -> None:
            while queue:
                await call(client, like(queue.pop(), True))

        await asyncio.gather(*(seeder() for _ in range(args.concurrency)))
        print(f"seeded {args.games} liked games in {time.perf_counter() - started:.1f} s")

        targets: dict[str, Callable[[], HTTPRequest]] = {
            "GET /healthz": lambda: HTTPRequest(url + "/healthz"),
            "POST /api/actions/like/": lambda: like(random.randint(1, args.games)),
            "GET /api/actions/lists/liked/": lambda: HTTPRequest(
                f"{url}/api/actions/lists/liked/?limit=100&offset="
                f"{random.randint(0, args.games - 100)}", headers=headers),
        }
        results: dict[str, list[float]] = {name: [] for name in targets}
        for round_number in range(args.rounds):
            for name, make in targets.items():
                results[name].append(await rate(make, args.seconds, args.concurrency))
            print(f"round {round_number + 1}: " + ", ".join(
                f"{name} {values[-1]:.0f}/s" for name, values in results.items()))
        client.close()

    base = statistics.median(results["GET /healthz"])
    print(f"\n{'endpoint':32} {'median req/s':>12} {'vs healthz':>10}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:32} {median:12.0f} {median / base:10.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
