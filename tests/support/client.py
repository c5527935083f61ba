"""A small HTTP client for the tests: JSON in, JSON out, never raising on 4xx."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPResponse

PASSWORD = "correct-horse-battery"
_names = itertools.count(1)


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for header in self.headers.get_list("Set-Cookie"):
            jar.load(header)
        return {name: morsel.value for name, morsel in jar.items()}


_UNSET = object()


class Api:
    def __init__(self, http_client: AsyncHTTPClient, base_url: str) -> None:
        self.http = http_client
        self.base_url = base_url

    async def request(
        self, method: str, path: str, json_body: Any = _UNSET, *, token: str | None = None,
        body: bytes | str | None = None, headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers.setdefault("Authorization", f"Token {token}")
        if json_body is not _UNSET:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        response: HTTPResponse = await self.http.fetch(
            self.base_url + path, method=method, body=body, headers=all_headers,
            raise_error=False, follow_redirects=False, allow_nonstandard_methods=True,
        )
        return Response(response.code, response.headers, response.body or b"")

    async def get(self, path: str, **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json_body: Any = _UNSET, **kwargs: Any) -> Response:
        return await self.request("POST", path, json_body, **kwargs)

    async def delete(self, path: str, json_body: Any = _UNSET, **kwargs: Any) -> Response:
        return await self.request("DELETE", path, json_body, **kwargs)

    async def sign_up(self, username: str | None = None, **fields: Any) -> dict[str, Any]:
        username = username or unique_name()
        response = await self.post(
            "/api/users/sign_up/", {"username": username, "password": PASSWORD, **fields}
        )
        assert response.status == 201, response.body
        return response.json

    async def token_for(self, username: str, password: str = PASSWORD) -> str:
        response = await self.post("/api/token/", {"username": username, "password": password})
        assert response.status == 200, response.body
        return response.json["token"]

    async def new_user(self, username: str | None = None) -> tuple[dict[str, Any], str]:
        """Sign a user up and return (their own view, their token)."""
        user = await self.sign_up(username)
        return user, await self.token_for(user["username"])
