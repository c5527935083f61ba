"""Ranked matches end to end: REST, sockets, the games, elo, and the races."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.client import Api
from tests.support.play import attach, create_match, table, throw
from tests.support.ws import Peer


def assert_gap_free(peer: Peer) -> list[int]:
    seqs = [frame["seq"] for frame in peer.events()]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    return seqs


@pytest.mark.gen_test(timeout=60)
async def test_a_full_rps_match_with_a_spectator(api: Api, base_url: str) -> None:
    game = await table(api, base_url, target=3)
    assert game.spectator is not None
    for host_throw, challenger_throw in [("rock", "scissors"), ("paper", "paper"),
                                         ("scissors", "rock"), ("paper", "rock"),
                                         ("rock", "scissors")]:
        await throw(game.host, host_throw)
        await throw(game.challenger, challenger_throw)
    ended = await game.spectator.peer.next("event", "ended")
    result = ended["result"]
    assert (result["winner"], result["loser"]) == (game.host.user["username"],
                                                   game.challenger.user["username"])
    assert (result["winner_score"], result["loser_score"], result["reason"]) == (3, 1, "score")
    assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
    stored = await api.get(f"/api/completed_matches/{game.match_id}/")
    assert stored.status == 200 and stored.json == result
    for seat in (game.host, game.challenger, game.spectator):
        assert await seat.peer.closed() == 4410
        seqs = assert_gap_free(seat.peer)
        assert seqs[-1] == ended["seq"]
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert (user["ongoing_match"], user["role"]) == (None, None)
    assert (await api.get(f"/api/users/{game.host.user['username']}/")).json["elo"] == 1050
    assert (await api.get(f"/api/users/{game.challenger.user['username']}/")).json["elo"] == 950
    assert (await api.get(f"/api/ongoing_matches/{game.match_id}/")).status == 404
    # every socket saw every event from the challenger's join on, in order
    host_kinds = [(f["seq"], f["kind"]) for f in game.host.peer.events()]
    spectator_kinds = [(f["seq"], f["kind"]) for f in game.spectator.peer.events()]
    assert spectator_kinds == host_kinds[-len(spectator_kinds):]
    assert game.host.peer.events()[0]["seq"] == 1  # attached before any event
    late = await Peer.connect(base_url, game.match_id, game.host.token)
    assert await late.closed() == 4404


@pytest.mark.gen_test(timeout=60)
async def test_a_full_connect4_match(api: Api, base_url: str) -> None:
    game = await table(api, base_url, game="connect4", target=2)
    assert game.spectator is not None
    host, challenger = game.host.peer, game.challenger.peer

    async def drop(peer: Peer, column: int) -> dict:
        return await peer.command("move", move={"column": column})

    assert (await drop(challenger, 3))["code"] == "not_your_turn"  # the host opens round 1
    # round 1: the host stacks column 0 and wins vertically
    for _ in range(3):
        assert (await drop(host, 0))["type"] == "ack"
        assert (await drop(challenger, 1))["type"] == "ack"
    await drop(host, 0)
    round_over = await game.spectator.peer.next("event", "round_over")
    assert round_over["winner"] == "host" and round_over["score"] == {"host": 1, "challenger": 0}
    # round 2: the challenger opens and wins
    assert (await drop(host, 5))["code"] == "not_your_turn"
    for _ in range(3):
        await drop(challenger, 6)
        await drop(host, 5)
    await drop(challenger, 6)
    # round 3: the host opens again; a diagonal this time
    for column, peer in [(0, host), (1, challenger), (1, host), (2, challenger), (2, host),
                         (3, challenger), (2, host), (3, challenger), (3, host),
                         (6, challenger)]:
        assert (await drop(peer, column))["type"] == "ack"
    assert (await drop(host, 7))["code"] == "illegal_move"
    assert (await drop(host, 3))["type"] == "ack"  # (3,3): the diagonal is complete
    ended = await game.spectator.peer.next("event", "ended")
    assert ended["result"]["winner"] == game.host.user["username"]
    assert (ended["result"]["winner_score"], ended["result"]["loser_score"]) == (2, 1)
    assert ended["result"]["game"] == "connect4"
    assert (await api.get(f"/api/completed_matches/{game.match_id}/")).json == ended["result"]
    assert_gap_free(game.spectator.peer)


@pytest.mark.gen_test(timeout=60)
async def test_a_full_column_is_illegal(api: Api, base_url: str) -> None:
    game = await table(api, base_url, game="connect4", target=3, spectator=False)
    for n in range(6):
        peer = game.host.peer if n % 2 == 0 else game.challenger.peer
        assert (await peer.command("move", move={"column": 4}))["type"] == "ack"
    reply = await game.host.peer.command("move", move={"column": 4})
    assert reply["code"] == "illegal_move"
    assert (await game.host.peer.command("move", move={"column": "4"}))["code"] == "illegal_move"


@pytest.mark.gen_test
async def test_create_defaults_and_representation(api: Api) -> None:
    user, token = await api.new_user()
    match = await create_match(api, token)
    assert match["game"] == "rps" and match["target_score"] == 5
    assert match["host"]["username"] == user["username"]
    assert (match["host"]["ongoing_match"], match["host"]["role"]) == (match["id"], "H")
    assert match["challenger"] is None and match["spectators"] == []
    assert match["is_started"] is False and match["start_timestamp"] is None
    assert match["score"] == {"host": 0, "challenger": 0}
    me = (await api.get("/api/users/me/", token=token)).json
    assert (me["ongoing_match"], me["role"]) == (match["id"], "H")
    _, other = await api.new_user()
    connect4 = await create_match(api, other, game="connect4")
    assert connect4["target_score"] == 3


@pytest.mark.gen_test
@pytest.mark.parametrize(("body", "field"), [
    ({"game": "chess"}, "game"), ({"game": 5}, "game"), ({"target_score": 0}, "target_score"),
    ({"target_score": 100}, "target_score"), ({"target_score": "3"}, "target_score"),
])
async def test_create_refuses_bad_fields(api: Api, body: dict, field: str) -> None:
    _, token = await api.new_user()
    response = await api.post("/api/ongoing_matches/", body, token=token)
    assert response.status == 400 and field in response.json
    assert (await api.get("/api/users/me/", token=token)).json["ongoing_match"] is None


@pytest.mark.gen_test
async def test_create_needs_auth_and_a_free_user(api: Api) -> None:
    assert (await api.post("/api/ongoing_matches/")).status == 401
    user, token = await api.new_user()
    await create_match(api, token)
    again = await api.post("/api/ongoing_matches/", token=token)
    assert again.status == 400
    assert again.json == [f"User {user['username']} is already in a match"]


@pytest.mark.gen_test(timeout=60)
async def test_ten_concurrent_creates_by_one_user_make_one_match(api: Api) -> None:
    user, token = await api.new_user()
    responses = await asyncio.gather(*(api.post("/api/ongoing_matches/", token=token)
                                       for _ in range(10)))
    assert sorted(r.status for r in responses) == [201] + [400] * 9
    listed = (await api.get("/api/ongoing_matches/?limit=1000")).json
    assert sum(m["host"]["id"] == user["id"] for m in listed) == 1


@pytest.mark.gen_test(timeout=60)
async def test_two_challengers_at_once(api: Api, base_url: str) -> None:
    _, host_token = await api.new_user()
    match = await create_match(api, host_token)
    (_, first), (_, second) = await api.new_user(), await api.new_user()
    peers = [await attach(base_url, match["id"], t) for t in (first, second)]
    replies = await asyncio.gather(*(p.command("join", role="challenger") for p in peers))
    assert sorted(r["type"] for r in replies) == ["ack", "error"]
    assert next(r for r in replies if r["type"] == "error")["code"] == "match_full"
    loser = peers[[r["type"] for r in replies].index("error")]
    assert (await loser.command("join", role="spectator"))["type"] == "ack"


@pytest.mark.gen_test(timeout=60)
async def test_join_racing_a_delete_never_leaves_a_challenger_in_a_cancelled_match(
    api: Api, base_url: str
) -> None:
    for _ in range(5):
        _, host_token = await api.new_user()
        match = await create_match(api, host_token)
        challenger, token = await api.new_user()
        peer = await attach(base_url, match["id"], token)
        reply, deleted = await asyncio.gather(
            peer.command("join", role="challenger"),
            api.delete(f"/api/ongoing_matches/{match['id']}/", token=host_token),
        )
        assert deleted.status == 204
        user = (await api.get(f"/api/users/{challenger['username']}/")).json
        assert user["ongoing_match"] is None and user["role"] is None
        if reply["type"] == "ack":
            assert (await peer.next("event", "cancelled"))["kind"] == "cancelled"
        assert await peer.closed() in (4410, 4404)


@pytest.mark.gen_test(timeout=60)
async def test_delete_rules_and_the_cancelled_event(api: Api, base_url: str) -> None:
    game = await table(api, base_url, start=False)
    path = f"/api/ongoing_matches/{game.match_id}/"
    assert (await api.delete(path)).status == 401
    assert (await api.delete(path, token=game.challenger.token)).status == 403
    assert (await api.delete("/api/ongoing_matches/999999/", token=game.host.token)).status == 404
    assert (await api.delete(path, token=game.host.token)).status == 204
    assert game.spectator is not None
    for seat in (game.host, game.challenger, game.spectator):
        assert (await seat.peer.next("event", "cancelled"))["kind"] == "cancelled"
        assert await seat.peer.closed() == 4410
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert user["ongoing_match"] is None
    assert (await api.get(path)).status == 404
    assert (await api.get(f"/api/completed_matches/{game.match_id}/")).status == 404


@pytest.mark.gen_test(timeout=60)
async def test_a_started_match_cannot_be_deleted(api: Api, base_url: str) -> None:
    game = await table(api, base_url, spectator=False)
    response = await api.delete(f"/api/ongoing_matches/{game.match_id}/", token=game.host.token)
    assert response.status == 403
    assert (await api.get(f"/api/ongoing_matches/{game.match_id}/")).json["is_started"] is True


@pytest.mark.gen_test(timeout=60)
async def test_detail_roles_and_a_users_ongoing_match(api: Api, base_url: str) -> None:
    game = await table(api, base_url, start=False)
    assert game.spectator is not None
    base = f"/api/ongoing_matches/{game.match_id}/"
    detail = (await api.get(base)).json
    assert detail["challenger"]["username"] == game.challenger.user["username"]
    assert detail["is_challenger_ready"] is True
    assert (await api.get(base + "host/")).json == detail["host"]
    assert (await api.get(base + "challenger/")).json["role"] == "C"
    spectators = (await api.get(base + "spectators/")).json
    assert [s["username"] for s in spectators] == [game.spectator.user["username"]]
    assert spectators[0]["role"] == "S"
    assert (await api.get(base + "referee/")).status == 404
    assert (await api.get("/api/ongoing_matches/abc/")).status == 404
    by_user = await api.get(f"/api/users/{game.spectator.user['username']}/ongoing_match/")
    assert by_user.json == detail
    loner, _ = await api.new_user()
    assert (await api.get(f"/api/users/{loner['username']}/ongoing_match/")).status == 404


@pytest.mark.gen_test(timeout=60)
async def test_ongoing_list_filters_and_ordering(api: Api, base_url: str) -> None:
    full = await table(api, base_url, start=False, spectator=False)
    _, token = await api.new_user()
    empty = await create_match(api, token)
    listed = (await api.get("/api/ongoing_matches/?limit=1000")).json
    ids = [m["id"] for m in listed]
    assert full.match_id in ids and empty["id"] in ids
    fulls = [m["id"] for m in (await api.get("/api/ongoing_matches/?is_full=true")).json]
    assert full.match_id in fulls and empty["id"] not in fulls
    opens = [m["id"] for m in (await api.get("/api/ongoing_matches/?is_full=false")).json]
    assert empty["id"] in opens and full.match_id not in opens
    assert (await api.get("/api/ongoing_matches/?min_elo=1001")).json == []
    assert len((await api.get("/api/ongoing_matches/?min_elo=1000&max_elo=1000")).json) >= 2
    ordered = (await api.get("/api/ongoing_matches/?ordering=-host_elo")).json
    elos = [m["host"]["elo"] for m in ordered]
    assert elos == sorted(elos, reverse=True)
    page = await api.get("/api/ongoing_matches/?limit=1")
    assert len(page.json) == 1 and int(page.headers["X-Total-Count"]) >= 2
    for bad in ("ordering=elo", "is_full=maybe", "min_elo=x", "limit=0"):
        assert (await api.get(f"/api/ongoing_matches/?{bad}")).status == 400


@pytest.mark.gen_test(timeout=90)
async def test_completed_list_orderings_and_filters(api: Api, base_url: str) -> None:
    results = []
    for _ in range(2):
        game = await table(api, base_url, target=1, spectator=False)
        await throw(game.host, "rock")
        await throw(game.challenger, "paper")
        results.append((await game.host.peer.next("event", "ended"))["result"])
    winner = results[0]["winner"]
    by_winner = (await api.get(f"/api/completed_matches/?winner={winner}")).json
    assert by_winner == [results[0]]
    by_user = (await api.get(f"/api/completed_matches/?user={results[1]['loser']}")).json
    assert by_user == [results[1]]
    assert (await api.get(f"/api/completed_matches/?loser={winner}")).json == []
    newest = (await api.get("/api/completed_matches/?ordering=-id")).json
    assert [m["id"] for m in newest] == sorted((m["id"] for m in newest), reverse=True)
    for ordering in ("end_timestamp", "-winner_elo_after_match", "loser", "start_timestamp"):
        assert (await api.get(f"/api/completed_matches/?ordering={ordering}")).status == 200
    day = results[0]["completion_timestamp"][:10]
    same_day = await api.get(f"/api/completed_matches/?end_timestamp_after={day}"
                             f"&end_timestamp_before={day}")
    assert {m["id"] for m in results} <= {m["id"] for m in same_day.json}
    later = results[1]["completion_timestamp"]
    after = (await api.get(f"/api/completed_matches/?end_timestamp_after={later}")).json
    assert [m["id"] for m in after] == [results[1]["id"]]
    assert (await api.get("/api/completed_matches/?end_timestamp_after=2999-01-01")).json == []
    for bad in ("ordering=points", "end_timestamp_before=yesterday", "offset=-2"):
        assert (await api.get(f"/api/completed_matches/?{bad}")).status == 400
    assert (await api.get("/api/completed_matches/424242/")).status == 404
