"""Behind a reverse proxy: the client is who a trusted proxy says, and only then.

The tests are the proxy: they connect from 127.0.0.1, which the server is
told to trust (``--trusted-proxies``), and send the headers nginx would add.
A second server trusts another address, so the same headers from 127.0.0.1
are a client's forgery and change nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config import Config
from handlers.security.throttle import ADDRESS
from tests.conftest import TEST_SECRET
from tests.support.client import PASSWORD, Api

PER_ADDRESS = 2


@pytest.fixture(params=["trusted", "untrusted"])
def trust(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def config(tmp_path: Path, database_name: str, trust: str) -> Config:
    return Config(data_dir=tmp_path, database=database_name, bcrypt_rounds=4,
                  cookie_secret=TEST_SECRET, connections_per_address=PER_ADDRESS,
                  trusted_proxies="127.0.0.0/8, ::1" if trust == "trusted" else "10.9.9.9")


def via(client: str, *, https: bool = False) -> dict[str, str]:
    """The headers a proxy adds for ``client``, after what a client forged."""
    return {"X-Forwarded-For": f"6.6.6.6, {client}",
            "X-Forwarded-Proto": "https" if https else "http"}


@pytest.mark.gen_test(timeout=30)
async def test_logins_are_throttled_per_client_behind_the_proxy(api: Api, trust: str) -> None:
    user, _ = await api.new_user()
    wrong = {"username": "nobody", "password": "wrong-password-1"}
    statuses = [(await api.post("/api/token/", {**wrong, "username": f"victim{n}"},
                                headers=via("203.0.113.7"))).status
                for n in range(ADDRESS.burst + 1)]
    assert statuses[-1] == 429  # one client guessing at many accounts
    right = {"username": user["username"], "password": PASSWORD}
    other = await api.post("/api/token/", right, headers=via("198.51.100.2"))
    # another client behind the same proxy logs in; unless the proxy is not
    # trusted: then the two are one address, as a forger would like them to be
    assert other.status == (200 if trust == "trusted" else 429)


@pytest.mark.gen_test
async def test_cookies_are_secure_when_the_proxy_says_https(api: Api, trust: str) -> None:
    user, _ = await api.new_user()
    form = {"username": user["username"], "password": PASSWORD}
    for https in (True, False):
        response = await api.post("/api/login/", form, headers=via("198.51.100.3", https=https))
        assert response.status == 302
        cookies = response.headers.get_list("Set-Cookie")
        assert len(cookies) == 2
        secure = https and trust == "trusted"
        assert all(("; Secure" in c) == secure for c in cookies), cookies


async def keep_alive(port: int, client: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter,
                                                       bytes]:
    """A connection that asks ``/healthz`` for ``client`` and stays open:
    the reader, the writer, and the start of the answer (empty: closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: arena\r\nX-Forwarded-For: "
                 + client.encode() + b"\r\n\r\n")
    try:
        answer = await asyncio.wait_for(reader.read(12), 5)
    except ConnectionResetError:
        answer = b""
    return reader, writer, answer


@pytest.mark.gen_test(timeout=30)
async def test_the_connection_bound_counts_each_client_behind_the_proxy(
        http_server: object, base_url: str, trust: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    connections = [await keep_alive(port, f"192.0.2.{n}") for n in range(PER_ADDRESS + 1)]
    served = [answer.startswith(b"HTTP/1.1 200") for _, _, answer in connections]
    if trust == "untrusted":  # all from one address: the bound is the proxy's
        assert served == [True] * PER_ADDRESS + [False]
    else:  # three clients, a connection each
        assert served == [True] * (PER_ADDRESS + 1)
        again = [await keep_alive(port, "192.0.2.0") for _ in range(PER_ADDRESS)]
        connections += again
        # the first client's second connection is served; its third is closed
        assert [answer.startswith(b"HTTP/1.1 200") for _, _, answer in again] == [True, False]
    for _, writer, _ in connections:
        writer.close()
