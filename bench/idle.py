"""Memory per idle socket: open N authenticated sockets and watch the server's RSS.

    python -m bench.idle [--users 100] [--matches 100]

Starts its own Arena (embedded database).  Each of ``--users`` users hosts
one of ``--matches`` matches, then every user attaches to every match (as an
observer where not the host): users * matches sockets, each authenticated,
holding a snapshot and idle.  Prints the server's RSS (Python process alone,
and with its database) before and after, and the difference per socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from bench.server import ArenaProcess, rss_bytes

PASSWORD = "bench-password-1"


async def http_json(client: AsyncHTTPClient, url: str, body: object = None,
                    token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    response = await client.fetch(HTTPRequest(
        url, "POST" if body is not None else "GET", headers=headers,
        body=json.dumps(body) if body is not None else None))
    return json.loads(response.body)


async def new_user(client: AsyncHTTPClient, url: str, name: str) -> str:
    """Sign ``name`` up and return an API token."""
    credentials = {"username": name, "password": PASSWORD}
    await http_json(client, url + "/api/users/sign_up/", credentials)
    return (await http_json(client, url + "/api/token/", credentials))["token"]


async def main(args: argparse.Namespace) -> None:
    with ArenaProcess("--idle-timeout", "3600", cpu=0) as server:
        url = server.url
        client = AsyncHTTPClient(force_instance=True, max_clients=16)
        tokens = [await new_user(client, url, f"idle{n}") for n in range(args.users)]
        matches = [(await http_json(client, url + "/api/ongoing_matches/", {}, token))["id"]
                   for token in tokens[:args.matches]]
        await asyncio.sleep(2)
        python_before, total_before = rss_bytes(server.pids()[0]), server.rss_bytes()
        sockets = []
        started = time.perf_counter()
        semaphore = asyncio.Semaphore(64)

        async def attach(match_id: int, token: str) -> None:
            async with semaphore:
                connection = await websocket_connect(HTTPRequest(
                    url.replace("http://", "ws://") + f"/ws/matches/{match_id}",
                    headers={"Authorization": f"Token {token}"}))
                assert json.loads(await connection.read_message())["type"] == "snapshot"
                sockets.append(connection)

        await asyncio.gather(*(attach(m, t) for m in matches for t in tokens))
        print(f"opened {len(sockets)} sockets in {time.perf_counter() - started:.1f} s")
        await asyncio.sleep(3)
        python_after, total_after = rss_bytes(server.pids()[0]), server.rss_bytes()
        count = len(sockets)
        print(f"server RSS: {python_before / 2**20:.0f} → {python_after / 2**20:.0f} MiB "
              f"(with database {total_before / 2**20:.0f} → {total_after / 2**20:.0f} MiB)")
        print(f"per socket: {(python_after - python_before) / count / 1024:.1f} KiB "
              f"(server), {(total_after - total_before) / count / 1024:.1f} KiB (with database);"
              f" total at {count} sockets: {python_after / count / 1024:.1f} KiB/socket")
        for connection in sockets:
            connection.close()
        client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--matches", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
