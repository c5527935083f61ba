"""The game library: flags, ratings, lists and stats, with their races."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.support.client import Api

_igdb = itertools.count(1000)


def new_igdb() -> int:
    return next(_igdb)


async def flag(api: Api, token: str, action: str, igdb: int, **extra: object) -> dict:
    response = await api.post(f"/api/actions/{action}/",
                              {"igdb": igdb, "name": f"Game {igdb}", **extra}, token=token)
    assert response.status == 200, response.body
    return response.json


@pytest.mark.gen_test
async def test_flags_toggle_and_set(api: Api) -> None:
    user, token = await api.new_user()
    igdb = new_igdb()
    assert (await api.get(f"/api/actions/?igdb={igdb}", token=token)).json == {
        "played": False, "liked": False, "backlog": False, "wishlist": False}

    first = await flag(api, token, "log", igdb)
    assert first["action"] == "log" and first["value"] is True
    assert first["user"] == user["id"] and isinstance(first["game"], int)
    assert (await flag(api, token, "log", igdb))["value"] is False  # toggled back
    assert (await flag(api, token, "like", igdb, value=True))["value"] is True
    assert (await flag(api, token, "like", igdb, value=True))["value"] is True  # retry-safe
    assert (await flag(api, token, "backlog", igdb))["value"] is True
    assert (await flag(api, token, "wishlist", igdb, value=False))["value"] is False

    state = await api.get(f"/api/actions/?igdb={igdb}&name=ignored", token=token)
    assert state.json == {"played": False, "liked": True, "backlog": True, "wishlist": False}


@pytest.mark.gen_test
async def test_the_game_is_created_once_with_its_first_name(api: Api) -> None:
    _, token = await api.new_user()
    igdb = new_igdb()
    created = await api.post("/api/actions/like/", {"igdb": igdb, "name": "Celeste"}, token=token)
    renamed = await api.post("/api/actions/log/", {"igdb": igdb, "name": "Other"}, token=token)
    assert created.json["game"] == renamed.json["game"]
    stats = (await api.get(f"/api/actions/stats/?igdb={igdb}", token=token)).json
    assert stats["name"] == "Celeste"


@pytest.mark.gen_test
@pytest.mark.parametrize(("body", "field"), [
    ({"name": "No id"}, "igdb"),
    ({"igdb": "12", "name": "String id"}, "igdb"),
    ({"igdb": 1.5, "name": "Float id"}, "igdb"),
    ({"igdb": {"$gt": 0}, "name": "Operator"}, "igdb"),
    ({"igdb": 0, "name": "Zero"}, "igdb"),
    ({"igdb": 77}, "name"),
    ({"igdb": 77, "name": "Bad value", "value": "yes"}, "value"),
])
async def test_flag_requests_with_bad_fields_are_400(api: Api, body: dict, field: str) -> None:
    _, token = await api.new_user()
    response = await api.post("/api/actions/like/", body, token=token)
    assert response.status == 400
    assert field in response.json


@pytest.mark.gen_test
@pytest.mark.parametrize("query", ["", "igdb=abc", "igdb=1.5", "igdb=-3"])
async def test_reads_with_a_bad_igdb_are_400(api: Api, query: str) -> None:
    _, token = await api.new_user()
    for path in ("/api/actions/", "/api/actions/stats/"):
        response = await api.get(f"{path}?{query}", token=token)
        assert response.status == 400 and "igdb" in response.json


@pytest.mark.gen_test
async def test_every_library_endpoint_needs_authentication(api: Api) -> None:
    body = {"igdb": 5, "name": "x", "game": 5, "rating": 5}
    for method, path in [("GET", "/api/actions/?igdb=5"), ("POST", "/api/actions/log/"),
                         ("POST", "/api/actions/like/"), ("POST", "/api/actions/backlog/"),
                         ("POST", "/api/actions/wishlist/"), ("POST", "/api/actions/ratings/"),
                         ("GET", "/api/actions/ratings/?game=5"),
                         ("GET", "/api/actions/lists/liked/"),
                         ("GET", "/api/actions/stats/?igdb=5")]:
        response = await api.request(method, path, body if method == "POST" else None)
        assert response.status == 401, path


@pytest.mark.gen_test
async def test_unknown_action_or_list_is_404(api: Api) -> None:
    _, token = await api.new_user()
    assert (await api.post("/api/actions/hate/", {"igdb": 1, "name": "x"},
                           token=token)).status == 404
    assert (await api.get("/api/actions/lists/hated/", token=token)).status == 404


@pytest.mark.gen_test
async def test_ratings(api: Api) -> None:
    user, token = await api.new_user()
    igdb = new_igdb()
    nothing = await api.get(f"/api/actions/ratings/?game={igdb}", token=token)
    assert nothing.json == {"game": None, "user": user["id"], "rating": None}

    rated = await api.post("/api/actions/ratings/", {"game": igdb, "rating": 7}, token=token)
    assert rated.status == 200
    assert rated.json["rating"] == 7 and rated.json["user"] == user["id"]
    again = await api.post("/api/actions/ratings/", {"game": igdb, "rating": 9}, token=token)
    assert again.json["rating"] == 9
    read = await api.get(f"/api/actions/ratings/?game={igdb}", token=token)
    assert read.json == {"game": rated.json["game"], "user": user["id"], "rating": 9}
    stats = (await api.get(f"/api/actions/stats/?igdb={igdb}", token=token)).json
    assert (stats["ratings"], stats["rating_avg"]) == (1, 9)


@pytest.mark.gen_test
@pytest.mark.parametrize("rating", [0, 11, 7.5, "7", None, True])
async def test_ratings_outside_1_to_10_or_not_integers_are_400(api: Api, rating: object) -> None:
    _, token = await api.new_user()
    igdb = new_igdb()
    response = await api.post("/api/actions/ratings/", {"game": igdb, "rating": rating},
                              token=token)
    assert response.status == 400
    assert "rating" in response.json
    assert (await api.get(f"/api/actions/ratings/?game={igdb}", token=token)).json["rating"] is None


@pytest.mark.gen_test
async def test_lists_page_the_callers_flagged_games(api: Api) -> None:
    _, token = await api.new_user()
    _, other = await api.new_user()
    games = [new_igdb() for _ in range(5)]
    for igdb in games:
        await flag(api, token, "backlog", igdb)
    await flag(api, token, "backlog", games[2])  # toggled off again
    await flag(api, other, "backlog", new_igdb())  # someone else's

    everything = await api.get("/api/actions/lists/backlog/", token=token)
    expected = [igdb for igdb in games if igdb != games[2]]
    assert [item["igdb"] for item in everything.json] == expected
    assert everything.headers["X-Total-Count"] == "4"
    assert everything.json[0] == {"game": everything.json[0]["game"], "igdb": games[0],
                                  "name": f"Game {games[0]}"}
    page = await api.get("/api/actions/lists/backlog/?limit=2&offset=1", token=token)
    assert [item["igdb"] for item in page.json] == expected[1:3]
    assert (await api.get("/api/actions/lists/liked/", token=token)).json == []
    assert (await api.get("/api/actions/lists/liked/?limit=0", token=token)).status == 400


@pytest.mark.gen_test
async def test_stats_of_an_untouched_game(api: Api) -> None:
    _, token = await api.new_user()
    igdb = new_igdb()
    response = await api.get(f"/api/actions/stats/?igdb={igdb}", token=token)
    assert response.json == {"igdb": igdb, "name": None, "played": 0, "liked": 0,
                             "backlog": 0, "wishlist": 0, "ratings": 0, "rating_avg": None}


@pytest.mark.gen_test(timeout=60)
async def test_twenty_users_liking_a_new_game_at_once(api: Api) -> None:
    users = await asyncio.gather(*(api.new_user() for _ in range(20)))
    igdb = new_igdb()
    results = await asyncio.gather(*(flag(api, token, "like", igdb) for _, token in users))
    assert len({result["game"] for result in results}) == 1
    assert all(result["value"] is True for result in results)
    stats = (await api.get(f"/api/actions/stats/?igdb={igdb}", token=users[0][1])).json
    assert stats["liked"] == 20


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("toggles", [10, 7])
async def test_concurrent_toggles_by_one_user_lose_no_flip(api: Api, toggles: int) -> None:
    _, token = await api.new_user()
    igdb = new_igdb()
    await flag(api, token, "like", igdb, value=False)  # the game exists; the flag is clear
    await asyncio.gather(*(flag(api, token, "like", igdb) for _ in range(toggles)))
    expected = toggles % 2 == 1
    state = (await api.get(f"/api/actions/?igdb={igdb}", token=token)).json
    assert state["liked"] is expected
    stats = (await api.get(f"/api/actions/stats/?igdb={igdb}", token=token)).json
    assert stats["liked"] == int(expected)


@pytest.mark.gen_test(timeout=60)
async def test_concurrent_ratings_by_one_user_leave_one_rating(api: Api) -> None:
    _, token = await api.new_user()
    igdb = new_igdb()
    values = list(range(1, 11))
    await asyncio.gather(*(api.post("/api/actions/ratings/", {"game": igdb, "rating": v},
                                    token=token) for v in values))
    stats = (await api.get(f"/api/actions/stats/?igdb={igdb}", token=token)).json
    mine = (await api.get(f"/api/actions/ratings/?game={igdb}", token=token)).json["rating"]
    assert stats["ratings"] == 1
    assert mine in values
    assert stats["rating_avg"] == mine
