"""Sign-up, tokens, cookie login, logout and CSRF, against the real database."""

from __future__ import annotations

import asyncio
import re

import pytest
from tornado.httpclient import AsyncHTTPClient

from handlers.context import AppContext
from handlers.security.throttle import ADDRESS
from store.timestamps import now
from tests.support.client import PASSWORD, Api, unique_name

SIGN_UP = "/api/users/sign_up/"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.mark.gen_test
async def test_sign_up_returns_the_users_own_view(api: Api) -> None:
    name = unique_name("marta")
    response = await api.post(SIGN_UP, {"username": name, "password": PASSWORD,
                                        "email": "marta@example.com", "first_name": "Marta"})
    assert response.status == 201
    user = response.json
    assert user["username"] == name
    assert user["elo"] == 1000
    assert user["ongoing_match"] is None and user["role"] is None
    assert user["first_name"] == "Marta" and user["last_name"] == ""
    assert user["email"] == "marta@example.com" and user["is_admin"] is False
    assert TIMESTAMP.fullmatch(user["date_joined"])
    assert re.fullmatch(r"[0-9a-f-]{36}", user["id"])
    assert "password" not in response.body.decode()


@pytest.mark.gen_test
@pytest.mark.parametrize(("payload", "field"), [
    ({"password": PASSWORD}, "username"),
    ({"username": "someone"}, "password"),
    ({"username": "bad name!", "password": PASSWORD}, "username"),
    ({"username": "x" * 151, "password": PASSWORD}, "username"),
    ({"username": "", "password": PASSWORD}, "username"),
    ({"username": 12, "password": PASSWORD}, "username"),
    ({"username": "okname", "password": PASSWORD, "email": "not-an-email"}, "email"),
    ({"username": {"$ne": None}, "password": PASSWORD}, "username"),
    ({"username": "okname2", "password": {"$gt": ""}}, "password"),
])
async def test_sign_up_refuses_bad_fields_naming_them(api: Api, payload: dict, field: str) -> None:
    response = await api.post(SIGN_UP, payload)
    assert response.status == 400
    assert field in response.json
    assert isinstance(response.json[field], list)


@pytest.mark.gen_test
@pytest.mark.parametrize(("password", "message"), [
    ("short1!", "This password is too short. It must contain at least 8 characters."),
    ("1234567890", "This password is entirely numeric."),
    ("{name}99", "The password is too similar to the username."),
])
async def test_sign_up_password_rules(api: Api, password: str, message: str) -> None:
    name = unique_name("gianluca")
    response = await api.post(SIGN_UP, {"username": name, "password": password.format(name=name)})
    assert response.status == 400
    assert message in response.json["password"]
    assert (await api.get(f"/api/users/{name}/")).status == 404


@pytest.mark.gen_test
async def test_usernames_are_unique_ignoring_case(api: Api) -> None:
    name = unique_name("Davide")
    await api.sign_up(name)
    response = await api.post(SIGN_UP, {"username": name.lower(), "password": PASSWORD})
    assert response.status == 400
    assert response.json == {"username": ["A user with that username already exists."]}


@pytest.mark.gen_test
async def test_two_concurrent_sign_ups_of_one_name_give_one_user(api: Api) -> None:
    name = unique_name("racer")
    responses = await asyncio.gather(
        api.post(SIGN_UP, {"username": name, "password": PASSWORD}),
        api.post(SIGN_UP, {"username": name.upper(), "password": PASSWORD}),
    )
    assert sorted(r.status for r in responses) == [201, 400]
    loser = next(r for r in responses if r.status == 400)
    assert loser.json == {"username": ["A user with that username already exists."]}
    winner = next(r for r in responses if r.status == 201).json
    # the winner's name leads to the winner (a claim the loser took over would not)
    found = await api.get(f"/api/users/{winner['username']}/")
    assert found.status == 200 and found.json["id"] == winner["id"]
    assert await api.token_for(winner["username"])


@pytest.mark.gen_test
async def test_token_is_40_hex_and_the_same_until_deleted(api: Api) -> None:
    user = await api.sign_up()
    first = await api.token_for(user["username"])
    assert re.fullmatch(r"[0-9a-f]{40}", first)
    assert await api.token_for(user["username"]) == first
    me = await api.get("/api/users/me/", token=first)
    assert me.status == 200 and me.json["username"] == user["username"]

    deleted = await api.delete("/api/token/", token=first)
    assert deleted.status == 204
    assert (await api.get("/api/users/me/", token=first)).status == 401
    second = await api.token_for(user["username"])
    assert second != first
    assert (await api.get("/api/users/me/", token=second)).status == 200
    assert (await api.get("/api/users/me/", token=first)).status == 401


@pytest.mark.gen_test
async def test_twenty_concurrent_token_requests_return_one_token(api: Api) -> None:
    # twenty at once from one address: over the pair's burst, all of them right
    user = await api.sign_up()
    tokens = await asyncio.gather(*(api.token_for(user["username"]) for _ in range(20)))
    assert len(set(tokens)) == 1
    assert (await api.get("/api/users/me/", token=tokens[0])).status == 200


@pytest.mark.gen_test
async def test_token_accepts_a_form_body(api: Api) -> None:
    user = await api.sign_up()
    response = await api.post(
        "/api/token/", body=f"username={user['username']}&password={PASSWORD}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    assert len(response.json["token"]) == 40


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/api/token/", "/api/login/"])
async def test_wrong_credentials_give_one_message(api: Api, path: str) -> None:
    user = await api.sign_up()
    expected = {"non_field_errors": ["Unable to log in with provided credentials."]}
    wrong_password = await api.post(path, {"username": user["username"], "password": "nope-nope"})
    unknown_user = await api.post(path, {"username": unique_name("ghost"), "password": PASSWORD})
    operator = await api.post(path, {"username": {"$gt": ""}, "password": {"$gt": ""}})
    assert (wrong_password.status, wrong_password.json) == (400, expected)
    assert (unknown_user.status, unknown_user.json) == (400, expected)
    assert operator.status == 400 and "username" in operator.json


@pytest.mark.gen_test
@pytest.mark.parametrize("header", ["Authorization: Token", "Authorization: Bearer",
                                    "Authentication: Token"])
async def test_token_header_forms(api: Api, header: str) -> None:
    user, token = await api.new_user()
    name, scheme = header.split(": ")
    response = await api.get("/api/users/me/", headers={name: f"{scheme} {token}"})
    assert response.status == 200
    assert response.json["username"] == user["username"]


@pytest.mark.gen_test
async def test_unknown_token_and_missing_credentials_are_401(api: Api) -> None:
    assert (await api.get("/api/users/me/", token="0" * 40)).status == 401
    missing = await api.get("/api/users/me/")
    assert missing.status == 401
    assert missing.json == {"detail": "Authentication credentials were not provided."}
    assert (await api.delete("/api/token/")).status == 401


async def _login(api: Api, username: str, next_path: str = "") -> tuple[int, str, dict[str, str]]:
    query = f"?next={next_path}" if next_path else ""
    response = await api.post(f"/api/login/{query}", {"username": username, "password": PASSWORD})
    return response.status, response.headers.get("Location", ""), response.cookies()


def _cookie_headers(cookies: dict[str, str], csrf: bool = False) -> dict[str, str]:
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if csrf:
        headers["X-CSRFToken"] = cookies["csrftoken"]
    return headers


@pytest.mark.gen_test
async def test_login_sets_cookies_and_redirects_to_a_local_next(api: Api) -> None:
    user = await api.sign_up()
    response = await api.post("/api/login/?next=/lobby/42",
                              {"username": user["username"], "password": PASSWORD})
    assert response.status == 302
    assert response.headers["Location"] == "/lobby/42"
    set_cookies = response.headers.get_list("Set-Cookie")
    session_header = next(h for h in set_cookies if h.startswith("sessionid="))
    assert "HttpOnly" in session_header and "SameSite=Lax" in session_header
    csrf_header = next(h for h in set_cookies if h.startswith("csrftoken="))
    assert "HttpOnly" not in csrf_header
    me = await api.get("/api/users/me/", headers=_cookie_headers(response.cookies()))
    assert me.status == 200 and me.json["username"] == user["username"]


@pytest.mark.gen_test
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)"])
async def test_login_ignores_a_next_that_is_not_local(api: Api, target: str) -> None:
    user = await api.sign_up()
    from urllib.parse import quote
    status, location, _ = await _login(api, user["username"], quote(target, safe=""))
    assert (status, location) == (302, "/")


@pytest.mark.gen_test
async def test_login_defaults_to_root(api: Api) -> None:
    user = await api.sign_up()
    status, location, cookies = await _login(api, user["username"])
    assert (status, location) == (302, "/")
    assert "sessionid" in cookies and "csrftoken" in cookies


@pytest.mark.gen_test
async def test_cookie_writes_need_the_csrf_token_and_logout_revokes(api: Api) -> None:
    user = await api.sign_up()
    _, _, cookies = await _login(api, user["username"])

    refused = await api.post("/api/logout/", headers=_cookie_headers(cookies))
    assert refused.status == 403
    assert "CSRF" in refused.json["detail"]
    wrong = await api.post("/api/logout/", headers={**_cookie_headers(cookies),
                                                    "X-CSRFToken": "forged"})
    assert wrong.status == 403
    # another cookie-authenticated write is held to the same rule
    assert (await api.delete("/api/token/", headers=_cookie_headers(cookies))).status == 403

    logged_out = await api.post("/api/logout/", headers=_cookie_headers(cookies, csrf=True))
    assert logged_out.status == 200
    # the old cookie, replayed, no longer authenticates anything
    assert (await api.get("/api/users/me/", headers=_cookie_headers(cookies))).status == 401
    again = await api.post("/api/logout/", headers=_cookie_headers(cookies, csrf=True))
    assert again.status == 401


@pytest.mark.gen_test
async def test_logout_accepts_the_xsrf_form_field_and_the_alternate_header(api: Api) -> None:
    user = await api.sign_up()
    _, _, cookies = await _login(api, user["username"])
    form = await api.post(
        "/api/logout/", body=f"_xsrf={cookies['csrftoken']}",
        headers={**_cookie_headers(cookies), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 200
    _, _, cookies = await _login(api, user["username"])
    header = await api.post("/api/logout/", headers={**_cookie_headers(cookies),
                                                     "X-XSRFToken": cookies["csrftoken"]})
    assert header.status == 200


@pytest.mark.gen_test
async def test_a_token_request_is_exempt_from_csrf(api: Api) -> None:
    user, token = await api.new_user()
    response = await api.delete("/api/token/", token=token)
    assert response.status == 204
    assert user  # the token's owner was signed up above


@pytest.mark.gen_test
async def test_no_response_reveals_a_password_or_hash(api: Api) -> None:
    name = unique_name("secretive")
    bodies = [(await api.post(SIGN_UP, {"username": name, "password": PASSWORD})).body]
    token = await api.token_for(name)
    for path in ("/api/users/me/", f"/api/users/{name}/", "/api/users/?limit=1000"):
        bodies.append((await api.get(path, token=token)).body)
    for body in bodies:
        text = body.decode()
        assert PASSWORD not in text
        assert "password" not in text
        assert "$2b$" not in text and "hash" not in text


@pytest.mark.gen_test
async def test_a_name_claim_left_by_a_crash_does_not_block_the_name(
    api: Api, context: AppContext
) -> None:
    # a crash between claiming the name and storing the user leaves this behind
    await context.store.users.names.insert_one(
        {"_id": "phoenix", "user_id": "never-stored", "at": "2026-01-01T00:00:00.000000Z"})
    response = await api.post(SIGN_UP, {"username": "Phoenix", "password": PASSWORD})
    assert response.status == 201
    assert (await api.get("/api/users/Phoenix/")).json["id"] == response.json["id"]
    assert (await api.get("/api/users/phoenix/")).status == 404  # lookups are exact-case


@pytest.mark.gen_test
async def test_a_fresh_name_claim_is_a_sign_up_in_progress_and_keeps_the_name(
    api: Api, context: AppContext
) -> None:
    # another sign-up has claimed the name and is hashing its password
    await context.store.users.names.insert_one(
        {"_id": "hatchling", "user_id": "still-hashing", "at": now()})
    response = await api.post(SIGN_UP, {"username": "hatchling", "password": PASSWORD})
    assert response.status == 400
    assert response.json == {"username": ["A user with that username already exists."]}


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("path", ["/api/token/", "/api/login/"])
async def test_a_run_of_wrong_passwords_is_throttled_with_retry_after(
    api: Api, context: AppContext, path: str
) -> None:
    user = await api.sign_up()
    wrong = {"username": user["username"], "password": "not-the-password"}
    statuses = [(await api.post(path, wrong)).status for _ in range(200)]
    assert statuses[:5] == [400] * 5
    assert set(statuses[5:]) == {429}
    refused = await api.post(path, wrong)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Try again" in refused.json["detail"]
    # the right password from the throttled address waits too (it is not checked)...
    right = {"username": user["username"], "password": PASSWORD}
    assert (await api.post(path, right)).status == 429
    # ...and gets in once the pair's bucket has a token again
    context.throttle.buckets.clear()  # (time passing, without waiting twelve seconds)
    assert (await api.post(path, right)).status in (200, 302)


@pytest.mark.gen_test(timeout=30)
async def test_many_users_logging_in_at_once_from_one_address_all_get_in(
        api: Api, base_url: str) -> None:
    users = [await api.sign_up() for _ in range(ADDRESS.burst + 20)]
    # every request in flight at once (the shared test client sends ten at a time)
    wide = Api(AsyncHTTPClient(force_instance=True, max_clients=len(users)), base_url)
    responses = await asyncio.gather(*(
        wide.post("/api/token/", {"username": u["username"], "password": PASSWORD})
        for u in users))
    wide.http.close()
    assert [r.status for r in responses] == [200] * len(users)


@pytest.mark.gen_test
async def test_concurrent_wrong_passwords_cannot_slip_past_the_throttle(api: Api) -> None:
    user = await api.sign_up()
    wrong = {"username": user["username"], "password": "not-the-password"}
    statuses = await asyncio.gather(*(api.post("/api/token/", wrong) for _ in range(40)))
    assert sum(r.status == 400 for r in statuses) <= 5 + 1
    assert {r.status for r in statuses} <= {400, 429}
