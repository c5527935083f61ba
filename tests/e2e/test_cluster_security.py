"""The cluster's doors: every node checks what the owner checks, passes on what
the client sent, shares one secret, and ``--workers`` keeps its nodes up.

Each test runs real ``server.py`` processes: nodes on one database
(``tests.cluster``), or one ``--workers`` parent and the nodes it starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tests.support.client import PASSWORD
from tests.support.cluster import (
    SECRET,
    account,
    cluster,
    counted,
    finish_two_one,
    held_by,
    one_nil,
    wait_for,
)
from tests.support.process import ServerProcess, wait_until_dead
from tests.support.ws import Peer

Database = tuple[subprocess.Popen[str], str]


async def cookie_login(node: ServerProcess, name: str) -> tuple[str, str]:
    """Log ``name`` in through ``node`` as a browser does: the ``Cookie``
    header it then sends, and the CSRF token."""
    response = await AsyncHTTPClient().fetch(
        node.url + "/api/login/", method="POST", follow_redirects=False, raise_error=False,
        body=f"username={name}&password={PASSWORD}",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.code == 302
    cookies = dict(c.split(";", 1)[0].split("=", 1)
                   for c in response.headers.get_list("Set-Cookie"))
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), cookies["csrftoken"]


async def fetch(node: ServerProcess, method: str, path: str,
                headers: dict[str, str]) -> int:
    response = await AsyncHTTPClient().fetch(
        node.url + path, method=method, headers=headers, raise_error=False,
        allow_nonstandard_methods=True, body=b"" if method == "POST" else None)
    return response.code


@pytest.mark.gen_test(timeout=120)
async def test_a_cross_site_socket_is_refused_whichever_node_it_reaches(
        database: Database, tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 2) as nodes:
        host = account(nodes[0], "site_host")
        account(nodes[0], "site_victim")
        match = nodes[0].request("POST", "/api/ongoing_matches/", {}, token=host)[1]
        cookie, _ = await cookie_login(nodes[1], "site_victim")
        for node in nodes:  # the owner, and a node that would relay it
            with pytest.raises(HTTPClientError) as refused:
                await Peer.connect(node.url, match["id"], headers={
                    "Cookie": cookie, "Origin": "http://evil.example"})
            assert refused.value.code == 403
        # from the page's own origin, through the node that relays it: attached
        peer = await Peer.connect(nodes[1].url, match["id"],
                                  headers={"Cookie": cookie, "Origin": nodes[1].url})
        assert (await peer.next("snapshot"))["you"] is None
        assert (await peer.command("join", role="challenger"))["type"] == "ack"
        assert counted(nodes[1], "arena_relayed_sockets_total") == 1


@pytest.mark.gen_test(timeout=120)
async def test_every_header_the_client_sent_reaches_the_owner(
        database: Database, tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 2) as nodes:
        token = account(nodes[0], "carrier")
        made = [nodes[0].request("POST", "/api/ongoing_matches/", {}, token=token)[1]["id"]]
        # the seed's ``Authentication`` header, on a socket and a delete through node 1
        peer = await Peer.connect(nodes[1].url, made[0],
                                  headers={"Authentication": f"Token {token}"})
        assert (await peer.next("snapshot"))["you"] == "host"
        peer.close()
        assert await fetch(nodes[1], "DELETE", f"/api/ongoing_matches/{made[0]}/",
                           {"Authentication": f"Token {token}"}) == 204
        # a cookie session's delete with its CSRF token in ``X-XSRFToken``
        made.append(nodes[0].request("POST", "/api/ongoing_matches/", {}, token=token)[1]["id"])
        cookie, csrf = await cookie_login(nodes[1], "carrier")
        path = f"/api/ongoing_matches/{made[1]}/"
        assert await fetch(nodes[1], "DELETE", path, {"Cookie": cookie}) == 403
        assert await fetch(nodes[1], "DELETE", path,
                           {"Cookie": cookie, "X-XSRFToken": csrf}) == 204
        assert nodes[0].request("GET", path)[0] == 404
        # what another node passed on (or says it did) is answered there, never
        # passed on again: one node's own part of the list, at once
        other = account(nodes[1], "lister")
        mine = nodes[1].request("POST", "/api/ongoing_matches/", {}, token=other)[1]["id"]
        relayed = await AsyncHTTPClient().fetch(
            nodes[0].url + "/api/ongoing_matches/", headers={"X-Arena-Relay": "1:forged"})
        assert relayed.code == 200 and relayed.body == b"[]"
        assert [m["id"] for m in nodes[0].request("GET", "/api/ongoing_matches/")[1]] == [mine]


def test_a_node_with_another_secret_refuses_to_start(database: Database, tmp_path: Path) -> None:
    _, uri = database
    with cluster(uri, tmp_path, 1):
        stranger = ServerProcess(tmp_path / "stranger", "--cookie-secret", "another-secret",
                                 env={"MONGODB_URI": uri})
        with pytest.raises(RuntimeError, match="exited at start-up"):
            stranger.start()
        assert stranger.process is not None and stranger.process.wait(10) == 78
        assert "cookie secret differs" in stranger.output[-1]
        assert "another-secret" not in "".join(stranger.output)
        # the same secret joins
        with cluster(uri, tmp_path / "friend", 1) as (friend,):
            assert friend.request("GET", "/healthz")[0] == 200


def nodes_of(parent: int) -> dict[int, list[str]]:
    """The ``server.py`` processes started by ``parent``: pid → command line."""
    found = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(status.read_text().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            argv = (status.parent / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if any(arg.endswith("server.py") for arg in argv):
            found[int(status.parent.name)] = argv
    return found


def flag(argv: list[str], name: str) -> str:
    return argv[len(argv) - 1 - argv[::-1].index(name) + 1]


@pytest.mark.gen_test(timeout=180)
async def test_workers_keep_serving_when_a_node_dies_and_start_it_again(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, "--workers", "2", "--cookie-secret", SECRET,
                           "--node-name", "arena").start()
    try:
        assert wait_for(lambda: len(nodes_of(server.pid)) == 2, 30)
        # no secret on any node's command line; each node a name of its own
        first = nodes_of(server.pid)
        assert all(SECRET not in " ".join(argv) for argv in first.values())
        assert sorted(flag(argv, "--node-name") for argv in first.values()) == \
            ["arena-1", "arena-2"]
        assert wait_for(lambda: len([line for line in server.output
                                     if line.startswith("Arena node ")]) == 2, 30)
        urls = {line.split()[2]: line.split()[-1].rstrip("/") for line in server.output
                if line.startswith("Arena node ")}
        for name, url in urls.items():
            assert f'arena_node_info{{name="{name}"}} 1' in \
                ServerProcess.at(url).request_text("/metrics")

        match, tokens, host, challenger, seen = await one_nil(server, "kept")
        owner = next(name for name, url in urls.items()
                     if held_by(ServerProcess.at(url)) == 1)
        victim = next(pid for pid, argv in first.items() if flag(argv, "--node-name") == owner)
        os.kill(victim, signal.SIGKILL)
        assert wait_until_dead(victim)
        # the other node answers, on the one port, while the dead one is away
        # (after the few milliseconds in which the kernel resets what it had
        # queued on the dead node's listening socket: nobody can answer those)
        time.sleep(0.05)
        statuses: list[Any] = []
        since = time.monotonic()
        while time.monotonic() - since < 2:
            statuses.append(server.request("GET", "/healthz")[0])
        assert set(statuses) == {200}
        assert await host.closed(10) in (1012, None) and await challenger.closed(10) in (1012, None)
        # the dead node is started again, with its name, and the match plays on
        assert wait_for(lambda: len(nodes_of(server.pid)) == 2 and victim not in
                        nodes_of(server.pid), 30)
        await finish_two_one(server, match, tokens, seen, "kept")
        assert server.process is not None and server.process.poll() is None
    except BaseException:
        print("".join(line for line in server.output if not line.startswith("  ")))
        raise
    finally:
        assert server.stop(signal.SIGTERM, 60) == 0
