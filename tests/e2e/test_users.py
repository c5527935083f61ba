"""The users list, one's own view and a user by username."""

from __future__ import annotations

import pytest

from tests.support.client import Api, unique_name


async def _users_named(api: Api, prefix: str, query: str = "") -> list[dict]:
    response = await api.get(f"/api/users/?limit=1000{query}")
    assert response.status == 200
    return [u for u in response.json if u["username"].startswith(prefix)]


@pytest.mark.gen_test
async def test_list_orderings(api: Api) -> None:
    prefix = unique_name("ord") + "_"
    names = [prefix + suffix for suffix in ("b", "c", "a")]
    for name in names:
        await api.sign_up(name)
    unordered = await _users_named(api, prefix)
    assert [u["username"] for u in unordered] == names  # sign-up order by default
    by_name = await _users_named(api, prefix, "&ordering=username")
    assert [u["username"] for u in by_name] == sorted(names)
    by_name_desc = await _users_named(api, prefix, "&ordering=-username")
    assert [u["username"] for u in by_name_desc] == sorted(names, reverse=True)
    for user in by_name:
        assert set(user) == {"id", "username", "date_joined", "elo", "ongoing_match", "role",
                             "first_name", "last_name"}


@pytest.mark.gen_test
async def test_elo_orderings_are_sorted(api: Api) -> None:
    await api.sign_up()
    ascending = (await api.get("/api/users/?ordering=elo&limit=1000")).json
    descending = (await api.get("/api/users/?ordering=-elo&limit=1000")).json
    assert [u["elo"] for u in ascending] == sorted(u["elo"] for u in ascending)
    assert [u["elo"] for u in descending] == sorted((u["elo"] for u in descending), reverse=True)


@pytest.mark.gen_test
async def test_paging_and_total_count(api: Api) -> None:
    for _ in range(3):
        await api.sign_up()
    everything = await api.get("/api/users/?limit=1000")
    total = int(everything.headers["X-Total-Count"])
    assert total == len(everything.json) >= 3
    page = await api.get("/api/users/?limit=2&offset=1")
    assert page.status == 200
    assert int(page.headers["X-Total-Count"]) == total
    assert [u["id"] for u in page.json] == [u["id"] for u in everything.json[1:3]]
    past_the_end = await api.get(f"/api/users/?offset={total}")
    assert past_the_end.json == [] and past_the_end.headers["X-Total-Count"] == str(total)


@pytest.mark.gen_test
@pytest.mark.parametrize(("query", "field"), [
    ("ordering=age", "ordering"),
    ("ordering=Elo", "ordering"),
    ("ordering=elo,username", "ordering"),
    ("limit=0", "limit"),
    ("limit=1001", "limit"),
    ("limit=ten", "limit"),
    ("offset=-1", "offset"),
    ("offset=1.5", "offset"),
])
async def test_bad_list_parameters_are_400_naming_them(api: Api, query: str, field: str) -> None:
    response = await api.get(f"/api/users/?{query}")
    assert response.status == 400
    assert field in response.json


@pytest.mark.gen_test
async def test_user_detail_is_public_and_hides_email(api: Api) -> None:
    name = unique_name("public")
    await api.sign_up(name, email="public@example.com")
    response = await api.get(f"/api/users/{name}/")
    assert response.status == 200
    assert response.json["username"] == name
    assert "email" not in response.json and "is_admin" not in response.json
    assert (await api.get(f"/api/users/{name}")).status == 200  # the slash is optional


@pytest.mark.gen_test
async def test_unknown_user_is_404(api: Api) -> None:
    response = await api.get(f"/api/users/{unique_name('nobody')}/")
    assert response.status == 404
    assert response.json == {"detail": "Not found."}


@pytest.mark.gen_test
async def test_me_shows_email_and_admin_flag(api: Api) -> None:
    user, token = await api.new_user()
    me = await api.get("/api/users/me/", token=token)
    assert me.status == 200
    assert me.json["id"] == user["id"]
    assert me.json["is_admin"] is False and "email" in me.json
    assert (await api.get("/api/users/me/")).status == 401
