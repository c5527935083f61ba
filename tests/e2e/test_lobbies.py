"""Private lobbies under /games: the envelope, every rule, and the races."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from handlers.context import AppContext
from tests.support.client import Api, Response


def ok(response: Response, status: int = 200) -> dict:
    assert response.status == status, response.body
    body = response.json
    assert body["success"] is True and body["error"] is None
    return body["data"]


def refused(response: Response, status: int, code: str) -> None:
    assert response.status == status, response.body
    body = response.json
    assert body["success"] is False and body["data"] is None
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def users(api: Api, count: int) -> list[tuple[dict, str]]:
    return list(await asyncio.gather(*(api.new_user() for _ in range(count))))


async def make_admin(context: AppContext, username: str) -> None:
    await context.store.users.set_admin(username, True)


@pytest.mark.gen_test
async def test_create_read_and_list(api: Api) -> None:
    (host, token), (guest, guest_token), (_, outsider_token) = await users(api, 3)
    created = ok(await api.post("/games", {"name": "  My Cool Game ", "users": [guest["id"]]},
                                token=token), 201)
    lobby = created["game"]
    assert lobby["name"] == "My Cool Game" and lobby["hostId"] == host["id"]
    assert created["users"] == [host["id"], guest["id"]]
    uuid.UUID(lobby["id"])
    assert lobby["created"].endswith("Z")

    assert ok(await api.get(f"/games?id={lobby['id']}", token=guest_token)) == created
    refused(await api.get(f"/games?id={lobby['id']}", token=outsider_token), 403, "forbidden")
    mine = ok(await api.get(f"/games/list?userId={guest['id']}", token=guest_token))
    assert mine == {"games": [created]}
    assert ok(await api.get(f"/games/list?userId={host['id']}", token=token))["games"] == [created]
    refused(await api.get(f"/games/list?userId={host['id']}", token=guest_token), 403,
            "forbidden")
    refused(await api.get("/games/list", token=token), 403, "forbidden")


@pytest.mark.gen_test
@pytest.mark.parametrize(("body", "status", "code"), [
    ({"users": []}, 400, "invalid_request"),
    ({"name": "   ", "users": []}, 400, "invalid_request"),
    ({"name": "x" * 101, "users": []}, 400, "invalid_request"),
    ({"name": {"$ne": None}, "users": []}, 400, "invalid_request"),
    ({"name": "ok"}, 400, "invalid_request"),
    ({"name": "ok", "users": "abc"}, 400, "invalid_request"),
    ({"name": "ok", "users": ["not-a-uuid"]}, 400, "invalid_request"),
    ({"name": "ok", "users": [str(uuid.uuid4())]}, 404, "user_not_found"),
])
async def test_create_refusals(api: Api, body: dict, status: int, code: str) -> None:
    _, token = await api.new_user()
    refused(await api.post("/games", body, token=token), status, code)


@pytest.mark.gen_test
async def test_create_rules_about_the_invitees(api: Api) -> None:
    (host, token), *others = await users(api, 6)
    ids = [user["id"] for user, _ in others]
    refused(await api.post("/games", {"name": "g", "users": [host["id"]]}, token=token), 400,
            "host_in_users")
    refused(await api.post("/games", {"name": "g", "users": [ids[0], ids[0]]}, token=token),
            400, "duplicate_users")
    refused(await api.post("/games", {"name": "g", "users": ids[:5]}, token=token), 400,
            "too_many_invitees")
    ok(await api.post("/games", {"name": "g", "users": ids[:4]}, token=token), 201)
    refused(await api.post("/games", {"name": "again", "users": []}, token=token), 409,
            "already_hosting")


@pytest.mark.gen_test
async def test_invite_and_remove(api: Api) -> None:
    (host, token), (a, a_token), (b, _), (c, _) = await users(api, 4)
    lobby = ok(await api.post("/games", {"name": "g", "users": [a["id"]]}, token=token), 201)
    lobby_id = lobby["game"]["id"]
    invited = ok(await api.post("/games/users", {"gameId": lobby_id, "userId": b["id"]},
                                token=token))
    assert invited["users"] == [host["id"], a["id"], b["id"]]
    refused(await api.post("/games/users", {"gameId": lobby_id, "userId": b["id"]},
                           token=token), 409, "already_member")
    refused(await api.post("/games/users", {"gameId": lobby_id, "userId": str(uuid.uuid4())},
                           token=token), 404, "user_not_found")
    refused(await api.post("/games/users", {"gameId": lobby_id, "userId": c["id"]},
                           token=a_token), 403, "forbidden")
    refused(await api.post("/games/users", {"gameId": lobby_id}, token=token), 400,
            "invalid_request")

    path = f"/games/users?gameId={lobby_id}&userId="
    refused(await api.delete(path + a["id"], token=a_token), 403, "forbidden")  # not even self
    refused(await api.delete(path + host["id"], token=token), 400, "cannot_remove_host")
    refused(await api.delete(path + c["id"], token=token), 404, "not_member")
    removed = ok(await api.delete(path + a["id"], token=token))
    assert removed["users"] == [host["id"], b["id"]]


@pytest.mark.gen_test
async def test_lobby_full(api: Api) -> None:
    (_, token), *others = await users(api, 6)
    ids = [user["id"] for user, _ in others]
    lobby = ok(await api.post("/games", {"name": "g", "users": ids[:4]}, token=token), 201)
    refused(await api.post("/games/users", {"gameId": lobby["game"]["id"], "userId": ids[4]},
                           token=token), 409, "lobby_full")


@pytest.mark.gen_test
async def test_delete_makes_the_lobby_inactive_everywhere(api: Api) -> None:
    (host, token), (guest, guest_token), (other, _) = await users(api, 3)
    lobby = ok(await api.post("/games", {"name": "g", "users": [guest["id"]]}, token=token), 201)
    lobby_id = lobby["game"]["id"]
    refused(await api.delete(f"/games?id={lobby_id}", token=guest_token), 403, "forbidden")
    deleted = ok(await api.delete(f"/games?id={lobby_id}", token=token))
    assert deleted == lobby
    refused(await api.get(f"/games?id={lobby_id}", token=token), 404, "lobby_not_found")
    refused(await api.delete(f"/games?id={lobby_id}", token=token), 404, "lobby_not_found")
    refused(await api.post("/games/users", {"gameId": lobby_id, "userId": other["id"]},
                           token=token), 404, "lobby_not_found")
    refused(await api.delete(f"/games/users?gameId={lobby_id}&userId={guest['id']}",
                             token=token), 404, "lobby_not_found")
    assert ok(await api.get(f"/games/list?userId={guest['id']}", token=guest_token)) == {
        "games": []}
    # the host is free to host again
    ok(await api.post("/games", {"name": "second", "users": []}, token=token), 201)
    assert host


@pytest.mark.gen_test
async def test_administrators_may_do_what_hosts_may(api: Api, context: AppContext) -> None:
    (_, token), (guest, _), (other, _), (admin, admin_token) = await users(api, 4)
    await make_admin(context, admin["username"])
    lobby = ok(await api.post("/games", {"name": "g", "users": [guest["id"]]}, token=token), 201)
    lobby_id = lobby["game"]["id"]
    assert ok(await api.get(f"/games?id={lobby_id}", token=admin_token)) == lobby
    everything = ok(await api.get("/games/list", token=admin_token))["games"]
    assert lobby in everything
    assert ok(await api.get(f"/games/list?userId={guest['id']}", token=admin_token)) == {
        "games": [lobby]}
    ok(await api.post("/games/users", {"gameId": lobby_id, "userId": other["id"]},
                      token=admin_token))
    ok(await api.delete(f"/games/users?gameId={lobby_id}&userId={guest['id']}",
                        token=admin_token))
    ok(await api.delete(f"/games?id={lobby_id}", token=admin_token))
    refused(await api.get(f"/games?id={lobby_id}", token=admin_token), 404, "lobby_not_found")


@pytest.mark.gen_test
async def test_envelope_for_protocol_errors(api: Api) -> None:
    _, token = await api.new_user()
    refused(await api.get(f"/games?id={uuid.uuid4()}"), 401, "unauthorized")
    refused(await api.get("/games?id=nope", token=token), 400, "invalid_request")
    refused(await api.get(f"/games?id={uuid.uuid4()}", token=token), 404, "lobby_not_found")
    refused(await api.get("/games/elsewhere", token=token), 404, "not_found")
    refused(await api.request("PUT", "/games", {}, token=token), 405, "method_not_allowed")
    refused(await api.post("/games", body=b"{broken", token=token,
                           headers={"Content-Type": "application/json"}), 400,
            "invalid_request")


@pytest.mark.gen_test(timeout=60)
async def test_ten_concurrent_creates_by_one_host_give_one_lobby(api: Api) -> None:
    (host, token), = await users(api, 1)
    responses = await asyncio.gather(*(api.post("/games", {"name": f"g{i}", "users": []},
                                                token=token) for i in range(10)))
    assert sorted(r.status for r in responses) == [201] + [409] * 9
    hosted = ok(await api.get(f"/games/list?userId={host['id']}", token=token))["games"]
    assert len(hosted) == 1


@pytest.mark.gen_test(timeout=60)
async def test_eight_concurrent_invites_fill_the_lobby_to_five(api: Api) -> None:
    (_, token), *others = await users(api, 9)
    lobby = ok(await api.post("/games", {"name": "g", "users": []}, token=token), 201)
    lobby_id = lobby["game"]["id"]
    responses = await asyncio.gather(*(
        api.post("/games/users", {"gameId": lobby_id, "userId": user["id"]}, token=token)
        for user, _ in others))
    assert sorted(r.status for r in responses) == [200] * 4 + [409] * 4
    for response in responses:
        if response.status == 409:
            refused(response, 409, "lobby_full")
    assert len(ok(await api.get(f"/games?id={lobby_id}", token=token))["users"]) == 5


@pytest.mark.gen_test(timeout=60)
async def test_a_concurrent_invite_and_delete_leave_no_new_member(
    api: Api, context: AppContext
) -> None:
    for _ in range(5):
        (_, token), (guest, _) = await users(api, 2)
        lobby = ok(await api.post("/games", {"name": "g", "users": []}, token=token), 201)
        lobby_id = lobby["game"]["id"]
        invite, delete = await asyncio.gather(
            api.post("/games/users", {"gameId": lobby_id, "userId": guest["id"]}, token=token),
            api.delete(f"/games?id={lobby_id}", token=token),
        )
        assert delete.status == 200
        stored = await context.store.lobbies.collection.find_one({"_id": lobby_id})
        assert stored["active"] is False
        if invite.status == 200:  # the invite came first: the delete's answer shows it
            assert guest["id"] in delete.json["data"]["users"]
            assert stored["users"] == delete.json["data"]["users"]
        else:
            refused(invite, 404, "lobby_not_found")
            assert guest["id"] not in stored["users"]
