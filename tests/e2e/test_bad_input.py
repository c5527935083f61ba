"""Hostile and careless input: every endpoint answers a clear 4xx, never a 500.

The endpoints and fields come from the server's own OpenAPI document, so a
field added later is covered without editing this file.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import quote

import pytest

from handlers.request import SAFE_INTEGER
from tests.support.client import Api
from tests.support.ws import Peer

PATH_VALUES = {"match_id": "1", "role": "host", "username": "nobody", "flag": "played",
               "action": "log"}


async def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    document = (await api.get("/api/openapi.json")).json
    return [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template), op)
        for template, item in document["paths"].items() for method, op in item.items()
    ]


def sample(schema: dict[str, Any]) -> Any:
    """A valid value for a field of this schema."""
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "integer":
        return schema.get("minimum", 1)
    if schema.get("type") == "boolean":
        return True
    return "x"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.gen_test
@pytest.mark.parametrize("depth", [33, 1000, 5000])
async def test_a_deeply_nested_body_is_400_on_every_endpoint(api: Api, depth: int) -> None:
    _, token = await api.new_user()
    bodies = [f'{{"name": {nested(depth)}}}', f'{{"a": 1, "b": {nested(depth)}}}']
    with_body = [(m, p) for m, p, _ in await operations(api) if m in ("POST", "DELETE")]
    assert len(with_body) >= 12
    for method, path in with_body:
        for body in bodies:
            response = await api.request(method, path, body=body, token=token,
                                         headers={"Content-Type": "application/json"})
            assert response.status == 400, (method, path, response.body[:200])
            assert b"nest" in response.body or b"depth" in response.body, response.body


@pytest.mark.gen_test
async def test_a_shallow_unknown_field_is_still_ignored(api: Api) -> None:
    _, token = await api.new_user()
    response = await api.post("/api/actions/log/", {"igdb": 7, "name": "Doom",
                                                    "extra": {"deep": [[1, 2], [3]]}},
                              token=token)
    assert response.status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("value", [2**53, 2**63, 2**64, -(2**63) - 1, 10**30])
async def test_integers_out_of_the_safe_range_are_400_for_every_field(
    api: Api, value: int
) -> None:
    _, token = await api.new_user()
    checked = 0
    for method, path, op in await operations(api):
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        properties = schema.get("schema", {}).get("properties", {})
        for name, prop in properties.items():
            if prop.get("type") != "integer":
                continue
            body = {other: sample(spec) for other, spec in properties.items()} | {name: value}
            response = await api.request(method, path, body, token=token)
            assert response.status == 400, (method, path, name, response.body)
            assert name in response.body.decode(), (method, path, name, response.body)
            checked += 1
        for parameter in op.get("parameters", []):
            if parameter["in"] != "query" or parameter["schema"].get("type") != "integer":
                continue
            name = parameter["name"]
            response = await api.request(method, f"{path}?igdb=1&game=1&{name}={value}",
                                         token=token)
            assert response.status == 400, (method, path, name, response.body)
            assert name in response.body.decode(), (method, path, name, response.body)
            checked += 1
    assert checked >= 12


@pytest.mark.gen_test
async def test_a_game_created_at_the_largest_igdb_can_be_read_back(api: Api) -> None:
    _, token = await api.new_user()
    created = await api.post("/api/actions/log/", {"igdb": SAFE_INTEGER, "name": "Edge"},
                             token=token)
    assert created.status == 200 and created.json["value"] is True
    flags = await api.get(f"/api/actions/?igdb={SAFE_INTEGER}", token=token)
    assert flags.status == 200 and flags.json["played"] is True
    stats = await api.get(f"/api/actions/stats/?igdb={SAFE_INTEGER}", token=token)
    assert stats.status == 200 and stats.json["played"] == 1
    rated = await api.post("/api/actions/ratings/", {"game": SAFE_INTEGER, "rating": 9},
                           token=token)
    assert rated.status == 200
    assert (await api.get(f"/api/actions/ratings/?game={SAFE_INTEGER}",
                          token=token)).json["rating"] == 9
    listed = await api.get("/api/actions/lists/played/", token=token)
    assert [g["igdb"] for g in listed.json] == [SAFE_INTEGER]
    for path in ("/api/actions/log/", "/api/actions/ratings/"):
        over = await api.post(path, {"igdb": SAFE_INTEGER + 1, "game": SAFE_INTEGER + 1,
                                     "name": "x", "rating": 5}, token=token)
        assert over.status == 400
    for path in (f"/api/actions/?igdb={SAFE_INTEGER + 1}",
                 f"/api/actions/stats/?igdb={SAFE_INTEGER + 1}",
                 f"/api/actions/ratings/?game={SAFE_INTEGER + 1}"):
        assert (await api.get(path, token=token)).status == 400, path


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [b'{"username": NaN}', b'{"username": "\\ud800"}',
                                  b'{"username": 1e999}'])
async def test_json_that_is_not_strict_json_is_400(api: Api, body: bytes) -> None:
    response = await api.post("/api/users/sign_up/", body=body,
                              headers={"Content-Type": "application/json"})
    assert response.status == 400 and "detail" in response.json


# -- bodies over the limit, as a plain HTTP client sends them -------------------------


async def exchange(base_url: str, head: bytes, body_parts: list[bytes],
                   then: bytes = b"") -> list[tuple[int, bytes]]:
    """Send one request (and ``then``, a second one) on one connection; read the answers."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    for part in body_parts:
        writer.write(part)
        await writer.drain()
    writer.write(then)
    await writer.drain()
    answers = []
    for _ in range(2 if then else 1):
        status_line = await asyncio.wait_for(reader.readline(), 10)
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        answers.append((int(status_line.split()[1]), body))
    writer.close()
    return answers


def post_head(path: str, length: int | None, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: arena", "Content-Type: application/json",
             f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
             *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: arena\r\n\r\n"


@pytest.fixture
def url(http_server: object, base_url: str) -> str:
    """The test server's address, started without an HTTP client fixture."""
    return base_url.replace("localhost", "127.0.0.1")


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("size", [100_000, 2_000_000, 8_000_000])
async def test_a_large_body_gets_its_400_and_the_connection_stays_usable(
    url: str, size: int
) -> None:
    body = b'{"username": "' + b"x" * size + b'"}'
    parts = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    (status, answer), (health, _) = await exchange(
        url, post_head("/api/users/sign_up/", len(body)), parts, then=HEALTH)
    assert status == 400 and "limit" in json.loads(answer)["detail"]
    assert health == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_large_chunked_body_gets_its_400(url: str) -> None:
    chunk = b"x" * 65536
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 40 + [b"0\r\n\r\n"]
    (status, answer), (health, _) = await exchange(url, post_head("/games", None), parts,
                                                   then=HEALTH)
    assert status == 400
    assert json.loads(answer)["error"]["code"] == "invalid_request"  # the /games envelope
    assert health == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_client_expecting_100_continue_gets_the_400_before_sending(url: str) -> None:
    [(status, answer)] = await exchange(
        url, post_head("/api/token/", 5_000_000, "Expect: 100-continue"), [])
    assert status == 400 and "limit" in json.loads(answer)["detail"]


# -- a token that is no longer valid ------------------------------------------------------


@pytest.mark.gen_test
async def test_a_revoked_token_is_ignored_where_no_user_is_needed(api: Api) -> None:
    user, token = await api.new_user()
    assert (await api.delete("/api/token/", token=token)).status == 204
    for stale in (token, "f" * 40, "not-even-hex"):
        again = await api.post("/api/token/", {"username": user["username"],
                                               "password": "correct-horse-battery"},
                               token=stale)
        assert again.status == 200 and again.json["token"] != token
        assert (await api.get("/api/users/", token=stale)).status == 200
        assert (await api.get(f"/api/users/{user['username']}/", token=stale)).status == 200
        assert (await api.get("/api/openapi.json", token=stale)).status == 200
        signed_up = await api.post("/api/users/sign_up/", {
            "username": f"fresh{abs(hash(stale)) % 10**8}", "password": "correct-horse-battery"},
            token=stale)
        assert signed_up.status == 201
        login = await api.post("/api/login/", {"username": user["username"],
                                               "password": "correct-horse-battery"}, token=stale)
        assert login.status == 302


@pytest.mark.gen_test
async def test_a_revoked_token_is_401_where_a_user_is_needed(api: Api) -> None:
    _, token = await api.new_user()
    assert (await api.delete("/api/token/", token=token)).status == 204
    assert (await api.get("/api/users/me/", token=token)).status == 401
    assert (await api.post("/api/ongoing_matches/", {}, token=token)).status == 401
    assert (await api.get("/api/actions/?igdb=1", token=token)).status == 401
    lobby = await api.post("/games", {"name": "x", "users": []}, token=token)
    assert lobby.status == 401 and lobby.json["error"]["code"] == "unauthorized"
    assert (await api.delete("/api/token/", token=token)).status == 401


@pytest.mark.gen_test
@pytest.mark.parametrize("digits", ["%C2%B2", "%D9%A3", "3%C2%B2", "99999999999999999999999"])
async def test_match_ids_in_other_digits_are_404(api: Api, base_url: str, digits: str) -> None:
    _, token = await api.new_user()
    made = (await api.post("/api/ongoing_matches/", {}, token=token)).json
    # a match exists whose id those digits could be read as (Arabic-Indic 3, say)
    assert (await api.get(f"/api/ongoing_matches/{made['id']}/")).status == 200
    for path in (f"/api/ongoing_matches/{digits}/", f"/api/ongoing_matches/{digits}/host/",
                 f"/api/completed_matches/{digits}/"):
        response = await api.get(path)
        assert (response.status, response.json) == (404, {"detail": "Not found."}), path
    peer = await Peer.connect(base_url, digits, token)
    assert await peer.closed() == 4404
    arabic = "".join(chr(0x660 + int(d)) for d in str(made["id"]))
    response = await api.get(f"/api/ongoing_matches/{quote(arabic)}/")
    assert response.status == 404


@pytest.mark.gen_test
async def test_the_pages_routes_answer_errors_in_json(api: Api) -> None:
    for method in ("POST", "PUT", "DELETE"):
        response = await api.request(method, "/", body=b"")
        assert response.status == 405 and response.json["detail"].startswith("Method")
        assert response.headers["Allow"] == "GET, HEAD"
        assert response.headers["Content-Type"].startswith("application/json")
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    head = await api.request("HEAD", "/")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["Content-Length"]) == len((await api.get("/")).body)
    for path, status in (("/static/missing.js", 404), ("/static/", 403)):
        response = await api.get(path)
        assert response.status == status, path
        assert response.headers["Content-Type"].startswith("application/json")
        assert "detail" in response.json
    posted = await api.request("POST", "/static/app.js", body=b"")
    assert (posted.status, posted.headers["Allow"]) == (405, "GET, HEAD")
