"""What a match id costs a cluster: the one ``matches`` counter against whole creates.

    python -m bench.ids [--seconds 10] [--concurrency 16]

Every node takes match ids from one counter document (``store.counters``,
one findAndModify each), so the counter is shared by the whole cluster.
This measures how far that goes, on the embedded database started alone
(``server.py database``, on CPU 0), the clients on CPU 1:

1. ``counter``: the counter alone, from one process and then from two, each
   running ``--concurrency`` coroutines that take ids for ``--seconds``:
   ids per second, and the database's CPU per 1,000 ids;
2. ``creates``: one node on the same database (CPU 0) and ``--concurrency``
   users each creating a match and cancelling it (POST, then DELETE) in a
   loop: creates per second, and the node's and database's CPU per 1,000.

The ratio of the two is how many such nodes, each creating matches as fast
as it can, one counter serves before it is what limits them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time
from typing import Any

import uvloop
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from bench.idle import new_user
from bench.server import ArenaProcess, DatabaseProcess, cpu_seconds
from store import Store


async def take_ids(uri: str, seconds: float, concurrency: int) -> int:
    store = Store(uri, "arena_bench_ids", indexed_lookups=False)
    deadline = time.monotonic() + seconds
    taken = 0

    async def worker() -> None:
        nonlocal taken
        while time.monotonic() < deadline:
            await store.counters.next("matches")
            taken += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await store.close()
    return taken


def taker(uri: str, seconds: float, concurrency: int, out: Any) -> None:
    os.sched_setaffinity(0, {1})
    out.put(uvloop.run(take_ids(uri, seconds, concurrency)))


def counter(database: DatabaseProcess, processes: int, args: argparse.Namespace
            ) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=taker, args=(database.url, args.seconds,
                                                   args.concurrency, out))
               for _ in range(processes)]
    before = cpu_seconds(database.pids())
    for worker in workers:
        worker.start()
    taken = sum(out.get() for _ in workers)
    for worker in workers:
        worker.join()
    cpu = cpu_seconds(database.pids()) - before
    return {"what": "counter", "processes": processes,
            "per_s": round(taken / args.seconds),
            "database_cpu_s_per_1k": round(1000 * cpu / taken, 3)}


async def creates(database: DatabaseProcess, args: argparse.Namespace) -> dict[str, Any]:
    with ArenaProcess("--rate-limit", "100000", "--rate-burst", "100000", cpu=0,
                      env={"MONGODB_URI": database.url}) as node:
        client = AsyncHTTPClient(force_instance=True, max_clients=args.concurrency)
        tokens = [await new_user(client, node.url, f"ids{n}") for n in range(args.concurrency)]
        deadline = time.monotonic() + args.seconds
        made = 0

        async def user(token: str) -> None:
            nonlocal made
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
            while time.monotonic() < deadline:
                answer = await client.fetch(HTTPRequest(
                    node.url + "/api/ongoing_matches/", "POST", headers=headers,
                    body=json.dumps({"game": "rps"})))
                match = json.loads(answer.body)
                await client.fetch(HTTPRequest(
                    f"{node.url}/api/ongoing_matches/{match['id']}/", "DELETE",
                    headers=headers))
                made += 1

        node_before, database_before = cpu_seconds(node.pids()), cpu_seconds(database.pids())
        began = time.monotonic()
        await asyncio.gather(*(user(token) for token in tokens))
        elapsed = time.monotonic() - began
        node_cpu = cpu_seconds(node.pids()) - node_before
        database_cpu = cpu_seconds(database.pids()) - database_before
        return {"what": "creates", "per_s": round(made / elapsed),
                "node_cpu_s_per_1k": round(1000 * node_cpu / made, 3),
                "database_cpu_s_per_1k": round(1000 * database_cpu / made, 3)}


def main(args: argparse.Namespace) -> None:
    with DatabaseProcess(cpu=0) as database:
        results = [counter(database, 1, args), counter(database, 2, args),
                   uvloop.run(creates(database, args))]
    for result in results:
        print(json.dumps(result), flush=True)
    ids = max(r["per_s"] for r in results if r["what"] == "counter")
    made = results[-1]["per_s"]
    print(f"one counter: {ids} ids/s; one node: {made} creates/s (create + cancel); "
          f"the counter serves {ids / made:.0f} such nodes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    os.sched_setaffinity(0, {1})
    main(parser.parse_args())
