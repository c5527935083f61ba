"""The socket protocol: authentication, every error and close code, limits, hidden throws."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado.httpclient import HTTPClientError

import handlers.socket
from handlers.context import AppContext
from tests.support.client import PASSWORD, Api
from tests.support.play import attach, create_match, table, throw
from tests.support.ws import Peer


async def open_match(api: Api) -> tuple[dict, str, dict]:
    host, token = await api.new_user()
    return host, token, await create_match(api, token)


async def cookie_login(api: Api, username: str) -> dict[str, str]:
    response = await api.post("/api/login/", {"username": username, "password": PASSWORD})
    return response.cookies()


@pytest.mark.gen_test
async def test_snapshot_on_attach(api: Api, base_url: str) -> None:
    host, token, match = await open_match(api)
    peer = await Peer.connect(base_url, match["id"], token)
    snapshot = await peer.next("snapshot")
    assert snapshot["seq"] == 0 and snapshot["you"] == "host"
    assert snapshot["match"]["id"] == match["id"]
    assert snapshot["match"]["host"]["username"] == host["username"]
    assert snapshot["state"]["score"] == {"host": 0, "challenger": 0}
    _, other_token = await api.new_user()
    observer = await Peer.connect(base_url, match["id"], other_token)
    assert (await observer.next("snapshot"))["you"] is None


@pytest.mark.gen_test
async def test_bearer_header_and_cookie_with_its_own_origin(api: Api, base_url: str) -> None:
    _, _, match = await open_match(api)
    user, token = await api.new_user()
    bearer = await Peer.connect(base_url, match["id"],
                                headers={"Authorization": f"Bearer {token}"})
    assert (await bearer.next("snapshot"))["you"] is None
    cookies = await cookie_login(api, user["username"])
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    host = base_url.split("//", 1)[1]
    same_origin = await Peer.connect(base_url, match["id"],
                                     headers={"Cookie": cookie, "Origin": f"http://{host}"})
    assert (await same_origin.next("snapshot"))["type"] == "snapshot"
    assert await bearer.closed() == 4409  # the same user's newer socket replaced it


@pytest.mark.gen_test
async def test_a_cookie_handshake_from_a_foreign_origin_is_refused(
    api: Api, base_url: str
) -> None:
    _, _, match = await open_match(api)
    user, _ = await api.new_user()
    cookies = await cookie_login(api, user["username"])
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    with pytest.raises(HTTPClientError) as refused:
        await Peer.connect(base_url, match["id"],
                           headers={"Cookie": cookie, "Origin": "http://evil.example"})
    assert refused.value.code == 403


@pytest.mark.gen_test
async def test_auth_frame(api: Api, base_url: str) -> None:
    _, _, match = await open_match(api)
    _, token = await api.new_user()
    peer = await Peer.connect(base_url, match["id"])
    early = await peer.command("join", role="spectator")
    assert early["code"] == "not_authenticated"
    peer.send({"type": "auth", "token": token})
    assert (await peer.next("snapshot"))["you"] is None
    again = await peer.command("auth", token=token)
    assert again["code"] == "bad_message"


@pytest.mark.gen_test
async def test_a_bad_token_closes_4401(api: Api, base_url: str) -> None:
    _, _, match = await open_match(api)
    by_header = await Peer.connect(base_url, match["id"], token="f" * 40)
    assert await by_header.closed() == 4401
    by_frame = await Peer.connect(base_url, match["id"])
    by_frame.send({"type": "auth", "token": "f" * 40})
    assert await by_frame.closed() == 4401


@pytest.mark.gen_test
async def test_no_auth_frame_in_time_closes_4408(
    api: Api, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handlers.socket, "AUTH_TIMEOUT", 0.3)
    _, _, match = await open_match(api)
    peer = await Peer.connect(base_url, match["id"])
    assert await peer.closed() == 4408


@pytest.mark.gen_test
async def test_no_such_match_closes_4404(api: Api, base_url: str) -> None:
    _, token = await api.new_user()
    for match_id in ("987654", "abc"):
        peer = await Peer.connect(base_url, match_id, token)
        assert await peer.closed() == 4404


@pytest.mark.gen_test
async def test_malformed_frames_get_errors_and_the_socket_stays_open(
    api: Api, base_url: str
) -> None:
    _, token, match = await open_match(api)
    peer = await attach(base_url, match["id"], token)
    for bad in ["not json", "[1, 2]", '"text"', json.dumps({"id": 7}),
                json.dumps({"type": 5, "id": 8})]:
        peer.send(bad)
        error = await peer.next("error")
        assert error["code"] == "bad_message"
    assert (await peer.command("dance"))["code"] == "unknown_type"
    assert (await peer.command("join", role="referee"))["code"] == "bad_message"
    pong = await peer.command("ping")
    assert pong["type"] == "pong"


@pytest.mark.gen_test
async def test_a_frame_over_the_limit_closes_1009(
    api: Api, base_url: str, context: AppContext
) -> None:
    _, token, match = await open_match(api)
    peer = await attach(base_url, match["id"], token)
    peer.send({"type": "ping", "pad": "x" * (context.config.frame_limit + 1)})
    assert await peer.closed() == 1009


@pytest.mark.gen_test
async def test_flooding_is_rate_limited_then_closed_1008(
    api: Api, base_url: str, context: AppContext
) -> None:
    _, token, match = await open_match(api)
    peer = await attach(base_url, match["id"], token)
    burst = context.config.rate_burst
    for _ in range(burst * 4):  # the burst, then more than twice its worth refused
        peer.send({"type": "ping"})
    assert await peer.closed() == 1008
    codes = [f.get("code") for f in peer.received if f["type"] == "error"]
    assert "rate_limited" in codes
    assert sum(f["type"] == "pong" for f in peer.received) <= burst + 1


@pytest.mark.gen_test(timeout=30)
async def test_a_steady_flood_is_closed_though_frames_get_through_between(
    api: Api, base_url: str, context: AppContext
) -> None:
    """Frames at five times the rate: some pass as the budget refills, the
    rest are refused (each answer echoing its frame's id), and the refusals
    within 10 s pass twice the burst: the socket is closed."""
    _, token, match = await open_match(api)
    peer = await attach(base_url, match["id"], token)
    rate, burst = context.config.rate_limit, context.config.rate_burst
    for n in range(burst):  # the burst spent, within the rules
        peer.send({"type": "ping", "id": n})
    started = time.monotonic()
    closing = asyncio.ensure_future(peer.closed(10))  # read all the while
    n = burst
    while not closing.done() and time.monotonic() - started < 8:
        peer.send({"type": "ping", "id": n})
        n += 1
        await asyncio.sleep(1 / (5 * rate))
    assert await closing == 1008
    refused = [f for f in peer.received if f.get("code") == "rate_limited"]
    passed = [f for f in peer.received if f["type"] == "pong"]
    assert len(passed) > burst  # the flood was not refused whole: the budget refilled
    assert len(refused) == 2 * burst  # the next refusal closed it
    assert all(isinstance(f["id"], int) and f["id"] >= burst for f in refused)
    assert len({f["id"] for f in refused}) == len(refused)


@pytest.mark.gen_test(timeout=30)
async def test_role_and_state_errors(api: Api, base_url: str) -> None:
    game = await table(api, base_url, start=False)
    assert game.spectator is not None
    host, challenger, spectator = game.host.peer, game.challenger.peer, game.spectator.peer
    assert (await spectator.command("move", move={"throw": "rock"}))["code"] == "forbidden"
    assert (await challenger.command("start"))["code"] == "forbidden"
    assert (await host.command("ready"))["code"] == "forbidden"
    assert (await host.command("move", move={"throw": "rock"}))["code"] == "not_started"
    assert (await host.command("resign"))["code"] == "not_started"
    assert (await challenger.command("unready"))["type"] == "ack"
    assert (await host.command("start"))["code"] == "not_ready"
    assert (await challenger.command("join", role="spectator"))["code"] == "already_in_match"
    # a user who is in another match cannot join this one
    _, busy_token = await api.new_user()
    await create_match(api, busy_token)
    busy = await attach(base_url, game.match_id, busy_token)
    assert (await busy.command("join", role="spectator"))["code"] == "already_in_match"
    _, late_token = await api.new_user()
    late = await attach(base_url, game.match_id, late_token)
    assert (await late.command("join", role="challenger"))["code"] == "match_full"
    assert (await challenger.command("ready"))["type"] == "ack"
    assert (await host.command("start"))["type"] == "ack"
    assert (await host.command("start"))["code"] == "already_started"
    assert (await challenger.command("unready"))["code"] == "already_started"
    assert (await late.command("join", role="challenger"))["code"] == "already_started"
    await throw(game.host, "rock")
    again = await host.command("move", move={"throw": "paper"})
    assert again["code"] == "illegal_move"
    assert (await challenger.command("move", move={"throw": "lizard"}))["code"] == "illegal_move"
    assert (await challenger.command("move"))["code"] == "bad_message"


@pytest.mark.gen_test(timeout=30)
async def test_the_first_throw_stays_hidden(api: Api, base_url: str) -> None:
    game = await table(api, base_url)
    assert game.spectator is not None
    for secret in ("rock", "paper", "scissors"):
        start = {seat: len(seat.peer.received) for seat in (game.challenger, game.spectator)}
        await throw(game.host, secret)
        moved = await game.spectator.peer.next("event", "moved")
        assert moved["state"]["thrown"] == {"host": True, "challenger": False}
        await game.challenger.peer.next("event", "moved")
        for seat, first in start.items():
            frames = seat.peer.received[first:]
            for frame in frames:  # the previous round's throws may show; this one may not
                frame.get("state", {}).pop("last_round", None)
                frame.get("match", {}).pop("last_round", None)
            seen = json.dumps(frames)
            assert secret not in seen, (seat.user["username"], seen)
        own = await game.host.peer.next("event", "moved")
        assert own["state"]["your_throw"] == secret  # the thrower may see their own throw
        reply = "paper" if secret == "rock" else "rock"
        await throw(game.challenger, reply)
        revealed = await game.spectator.peer.next("event", "round_over")
        assert revealed["throws"] == {"host": secret, "challenger": reply}


@pytest.mark.gen_test(timeout=30)
async def test_leave(api: Api, base_url: str) -> None:
    game = await table(api, base_url, start=False)
    assert game.spectator is not None
    assert (await game.spectator.peer.command("leave"))["type"] == "ack"
    left = await game.host.peer.next("event", "left")
    assert left["role"] == "spectator"
    assert (await game.challenger.peer.command("leave"))["type"] == "ack"
    assert (await game.host.peer.next("event", "left"))["role"] == "challenger"
    detail = (await api.get(f"/api/ongoing_matches/{game.match_id}/")).json
    assert detail["challenger"] is None and detail["spectators"] == []
    for seat in (game.spectator, game.challenger):
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert user["ongoing_match"] is None
    assert (await game.host.peer.command("leave"))["type"] == "ack"
    assert (await game.host.peer.next("event", "cancelled"))["kind"] == "cancelled"
    assert await game.host.peer.closed() == 4410


@pytest.mark.gen_test(timeout=30)
async def test_leaving_after_the_start_resigns(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    assert (await game.challenger.peer.command("leave"))["type"] == "ack"
    ended = await game.host.peer.next("event", "ended")
    assert ended["result"]["reason"] == "resign"
    assert ended["result"]["winner"] == game.host.user["username"]


@pytest.mark.gen_test(timeout=30)
async def test_resign(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    await throw(game.host, "rock")
    await throw(game.challenger, "scissors")
    assert (await game.host.peer.command("resign"))["type"] == "ack"
    ended = await game.challenger.peer.next("event", "ended")
    result = ended["result"]
    assert (result["winner"], result["reason"]) == (game.challenger.user["username"], "resign")
    assert (result["winner_score"], result["loser_score"]) == (0, 1)


@pytest.mark.gen_test(timeout=30)
async def test_metrics_show_live_matches_and_sockets(api: Api, base_url: str) -> None:
    await table(api, base_url)
    text = (await api.get("/metrics")).body.decode()
    for name in ("arena_live_matches", "arena_sockets", "arena_frames_in_total",
                 "arena_frames_out_total", "arena_moves_total", "arena_mailbox_depth",
                 "arena_slow_reader_closes_total", "arena_db_write_seconds_count"):
        assert f"\n{name}" in text or text.startswith(name), name
    live = int(text.split("\narena_live_matches ")[1].split()[0])
    assert live >= 1
