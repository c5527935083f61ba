"""/healthz, /metrics and /api/openapi.json."""

from __future__ import annotations

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.testing import bind_unused_port
from tornado.web import RequestHandler
from tornado.websocket import WebSocketHandler

from config import Config
from handlers.app import ROUTES
from handlers.arena import Arena
from store.embedded import EmbeddedDatabase
from tests.support.client import Api


@pytest.mark.gen_test
async def test_healthz_ok(api: Api) -> None:
    response = await api.get("/healthz")
    assert response.status == 200
    assert response.json == {"status": "ok", "db": "ok"}


@pytest.mark.gen_test(timeout=60)
async def test_healthz_is_503_once_the_database_process_is_killed(tmp_path) -> None:
    database = EmbeddedDatabase(tmp_path / "db")
    config = Config(data_dir=tmp_path, database="health", bcrypt_rounds=4, shutdown_timeout=2)
    arena = await Arena.open(config, database.start())
    sock, port = bind_unused_port()
    arena.server.add_sockets([sock])
    api = Api(AsyncHTTPClient(), f"http://127.0.0.1:{port}")
    try:
        assert (await api.get("/healthz")).status == 200
        database.kill()
        response = await api.get("/healthz")
        assert response.status == 503
        assert response.json["db"] != "ok"
    finally:
        await arena.close()
        database.stop()


@pytest.mark.gen_test
async def test_openapi_describes_every_route(api: Api) -> None:
    response = await api.get("/api/openapi.json")
    assert response.status == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    for template, handler in ROUTES:
        if issubclass(handler, WebSocketHandler):
            continue
        methods = {m for m in ("get", "post", "delete", "put")
                   if getattr(handler, m) is not getattr(RequestHandler, m)}
        assert template in spec["paths"], template
        assert methods <= set(spec["paths"][template]), template
    sign_up = spec["paths"]["/api/users/sign_up/"]["post"]
    assert sign_up["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "username", "password"]
    assert spec["paths"]["/api/users/{username}/"]["get"]["parameters"][0]["name"] == "username"


@pytest.mark.gen_test
async def test_metrics_count_requests(api: Api) -> None:
    await api.get("/healthz")
    response = await api.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert 'arena_http_requests_total{method="GET",status="200"}' in response.body.decode()
