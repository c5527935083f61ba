"""Conventions every endpoint shares: bodies, error shapes, 404/405/500 as JSON."""

from __future__ import annotations

import pytest

from handlers.context import AppContext
from tests.support.client import PASSWORD, Api

SIGN_UP = "/api/users/sign_up/"


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_400(api: Api, body: bytes) -> None:
    response = await api.post(SIGN_UP, body=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "detail" in response.json


@pytest.mark.gen_test
async def test_a_body_over_the_limit_is_400(api: Api, context: AppContext) -> None:
    padding = "x" * (context.config.body_limit + 1)
    response = await api.post(SIGN_UP, {"username": "big", "password": PASSWORD, "pad": padding})
    assert response.status == 400
    assert "limit" in response.json["detail"]
    assert (await api.get("/api/users/big/")).status == 404


@pytest.mark.gen_test
async def test_query_operators_in_json_are_type_errors(api: Api) -> None:
    await api.sign_up("victim")
    attempts = [
        {"username": {"$regex": ".*"}, "password": PASSWORD},
        {"username": {"$ne": None}, "password": {"$ne": None}},
        {"username": ["victim"], "password": PASSWORD},
    ]
    for attempt in attempts:
        for path in ("/api/token/", "/api/login/", SIGN_UP):
            response = await api.post(path, attempt)
            assert response.status == 400, (path, attempt)
            assert "username" in response.json


@pytest.mark.gen_test
async def test_unknown_path_is_json_404(api: Api) -> None:
    response = await api.get("/api/nothing/here/")
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json == {"detail": "Not found."}


@pytest.mark.gen_test
async def test_wrong_method_is_json_405(api: Api) -> None:
    response = await api.request("PUT", "/api/users/", {})
    assert response.status == 405
    assert response.json == {"detail": 'Method "PUT" not allowed.'}


@pytest.mark.gen_test
async def test_a_server_fault_is_json_500_without_details(
    api: Api, context: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    await context.store.close()  # every database call now raises inside the handler
    response = await api.get("/api/users/")
    assert response.status == 500
    assert response.json == {"detail": "Internal server error"}
    assert "Traceback" not in response.body.decode()
    assert any(record.exc_info for record in caplog.records)  # the details went to the log
