"""Matches of three and four players, over the wire: seats, joining a given
seat, readiness and the start, fields hidden per seat, going out, ties,
standings and ratings, the REST representation and filters, the turn clock,
and the queue making matches of n."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from actors.games import Event, Game, IllegalMove, Outcome, Seat, Setup, State
from tests.support.client import Api
from tests.support.games import registered
from tests.support.play import Seat as Player
from tests.support.play import attach, create_match, seated


class Council(Game):
    """Two to four players step towards the target; each holds a card only
    they may see; the host may call the match over (``{"call": true}``), the
    standings then grouping the seats by score; ``{"owe": [...]}`` names the
    seats that owe a move (its turn clock runs half a second)."""

    name = "council"
    min_players = 2
    max_players = 4
    default_players = 3
    default_target = 3
    turn_clock = True
    turn_timeout = 0.5

    def create(self, setup: Setup) -> State:
        return {"target": setup.target, "score": {seat: 0 for seat in setup.seats},
                "cards": {seat: 10 + n for n, seat in enumerate(setup.seats)},
                "called": False, "owing": [], "turn": 0, "gone": []}

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        if move == {"step": 1}:
            score = {**state["score"], seat: state["score"][seat] + 1}
            return {**state, "score": score}, [
                Event("stepped", {"seat": seat}),
                Event("whisper", {"card": state["cards"][seat]}, to=(seat,))]
        if move == {"call": True} and seat == "host":
            return {**state, "called": True}, [Event("called", {})]
        if isinstance(move, dict) and isinstance(move.get("owe"), list):
            return {**state, "owing": move["owe"], "turn": state["turn"] + 1}, [
                Event("owed", {"seats": move["owe"]})]
        raise IllegalMove("illegal_move", "Step, call or owe.")

    def out(self, state: State, seat: Seat, reason: str) -> Outcome:
        return {**state, "gone": [*state["gone"], {"seat": seat, "reason": reason}]}, []

    def standings(self, state: State) -> list[list[Seat]] | None:
        if state["called"]:
            places: dict[int, list[Seat]] = {}
            for seat, points in state["score"].items():
                places.setdefault(points, []).append(seat)
            return [places[p] for p in sorted(places, reverse=True)]
        return super().standings(state)

    def owing(self, state: State) -> list[Seat]:
        return list(state["owing"])

    def turn_number(self, state: State) -> int:
        return int(state["turn"])

    def view(self, state: State, viewer: Seat | None) -> State:
        cards = {seat: card for seat, card in state["cards"].items() if seat == viewer}
        return {"score": state["score"], "cards": cards, "gone": state["gone"]}


@pytest.fixture
def council() -> Iterator[Game]:
    yield from registered(Council())


def expected_elo(before: list[int], places: list[int], k: float = 100) -> list[int]:
    """``games.md``'s rule, written out again: every pair is one game, 1 to
    the better place and ½ each for a shared one; ``K / (n - 1) * sum(S - E)``,
    ``K`` the server's (100 by default)."""
    n = len(before)
    after = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            if i != j:
                s = 1.0 if places[i] < places[j] else 0.5 if places[i] == places[j] else 0.0
                e = 1 / (1 + 10 ** ((before[j] - before[i]) / 400))
                total += s - e
        after.append(round(before[i] + k / (n - 1) * total))
    return after


async def step(player: Player, times: int = 1) -> None:
    for _ in range(times):
        reply = await player.peer.command("move", move={"step": 1})
        assert reply["type"] == "ack", reply


@pytest.mark.gen_test(timeout=60)
async def test_seats_are_joined_by_name_or_in_order_then_readied_and_started(
        api: Api, base_url: str, council: Game) -> None:
    host_user, host_token = await api.new_user()
    match = await create_match(api, host_token, game="council", players=4)
    assert [(s["seat"], s["user"] and s["user"]["username"], s["ready"])
            for s in match["seats"]] == [("host", host_user["username"], True),
                                         ("challenger", None, False), ("p3", None, False),
                                         ("p4", None, False)]
    host = await attach(base_url, match["id"], host_token)
    people = [await api.new_user() for _ in range(5)]
    peers = [await attach(base_url, match["id"], token) for _, token in people]

    assert (await peers[0].command("join", role="player", seat="p4"))["type"] == "ack"
    for wrong in ("host", "p5", "seat"):
        refused = await peers[1].command("join", role="challenger", seat=wrong)
        assert refused["code"] == "bad_message", (wrong, refused)
    taken = await peers[1].command("join", role="challenger", seat="p4")
    assert taken["code"] == "match_full"
    assert (await peers[1].command("join", role="challenger"))["type"] == "ack"  # the first free
    assert (await peers[2].command("join", role="player"))["type"] == "ack"
    assert (await peers[3].command("join", role="player"))["code"] == "match_full"
    joined = await host.next("event", "joined")
    assert (joined["seat"], joined["role"]) == ("p4", "challenger")

    view = (await api.get(f"/api/ongoing_matches/{match['id']}/")).json
    assert [s["user"]["username"] for s in view["seats"]] == [
        host_user["username"], people[1][0]["username"], people[2][0]["username"],
        people[0][0]["username"]]
    assert view["challenger"]["username"] == people[1][0]["username"]
    assert {s["user"]["role"] for s in view["seats"][1:]} == {"C"}
    players = (await api.get(f"/api/ongoing_matches/{match['id']}/players/")).json
    assert [p["username"] for p in players] == [s["user"]["username"] for s in view["seats"]]
    full = (await api.get("/api/ongoing_matches/?is_full=true")).json
    assert match["id"] in [m["id"] for m in full]

    assert (await host.command("start"))["code"] == "not_ready"
    for peer in peers[:2]:
        assert (await peer.command("ready"))["type"] == "ack"
    assert (await host.command("start"))["code"] == "not_ready"  # p3 is not ready yet
    assert (await peers[2].command("leave"))["type"] == "ack"  # frees p3
    left = await host.next("event", "left")
    assert left["seat"] == "p3"
    view = (await api.get(f"/api/ongoing_matches/{match['id']}/")).json
    assert view["seats"][2] == {"seat": "p3", "user": None, "ready": False, "out": False}
    not_full = (await api.get("/api/ongoing_matches/?is_full=false")).json
    assert match["id"] in [m["id"] for m in not_full]
    assert (await peers[3].command("join", role="player"))["type"] == "ack"
    assert (await peers[3].command("ready"))["type"] == "ack"
    assert (await peers[4].command("join", role="spectator"))["type"] == "ack"
    assert (await host.command("start"))["type"] == "ack"
    assert (await peers[4].command("move", move={"step": 1}))["code"] == "forbidden"

    late = await attach(base_url, match["id"], people[3][1])
    assert late.received[0]["you"] == "p3"
    assert late.received[0]["match"]["is_challenger_ready"] is True


@pytest.mark.gen_test(timeout=60)
async def test_fields_for_one_seat_are_seen_by_that_seat_alone(
        api: Api, base_url: str, council: Game) -> None:
    match_id, seats = await seated(api, base_url, game="council", players=4)
    await step(seats[2])
    for n, seat in enumerate(seats):
        whisper = await seat.peer.next("event", "whisper")
        assert whisper.get("card") == (12 if n == 2 else None), (n, whisper)
        assert whisper["state"]["cards"] == {("host", "challenger", "p3", "p4")[n]: 10 + n}
    _, watcher_token = await api.new_user()
    watcher = await attach(base_url, match_id, watcher_token)
    assert watcher.received[0]["state"]["cards"] == {}


@pytest.mark.gen_test(timeout=60)
async def test_players_go_out_and_place_after_those_still_in(
        api: Api, base_url: str, council: Game) -> None:
    match_id, seats = await seated(api, base_url, game="council", players=4)
    host, challenger, p3, p4 = seats
    await step(p3, 2)  # p3 leads, then goes out: it places last but one at best
    assert (await p3.peer.command("resign"))["type"] == "ack"
    out = await host.peer.next("event", "out")
    assert (out["seat"], out["reason"], out["user"]["username"]) == (
        "p3", "resign", p3.user["username"])
    assert out["state"]["gone"] == [{"seat": "p3", "reason": "resign"}]
    assert (await p3.peer.command("move", move={"step": 1}))["code"] == "forbidden"
    view = (await api.get(f"/api/ongoing_matches/{match_id}/")).json
    assert [s["out"] for s in view["seats"]] == [False, False, True, False]
    assert (await p4.peer.command("leave"))["type"] == "ack"  # after the start: out too
    assert (await host.peer.next("event", "out"))["seat"] == "p4"
    await step(host)
    await step(challenger, 3)  # the challenger reaches the target
    result = (await host.peer.next("event", "ended"))["result"]
    assert [(s["place"], s["seat"]) for s in result["standings"]] == [
        (1, "challenger"), (2, "host"), (3, "p4"), (4, "p3")]
    assert (result["winner"], result["loser"], result["reason"]) == (
        challenger.user["username"], p3.user["username"], "score")
    assert [s["score"] for s in result["standings"]] == [3, 1, 0, 2]
    after = expected_elo([1000] * 4, [1, 2, 3, 4])
    assert [s["elo_after_match"] for s in result["standings"]] == after
    for seat, elo in zip((challenger, host, p4, p3), after, strict=True):
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert (user["elo"], user["ongoing_match"]) == (elo, None)
        found = (await api.get(f"/api/completed_matches/?user={seat.user['username']}")).json
        assert [m["id"] for m in found] == [match_id]
    assert (await api.get(f"/api/completed_matches/?loser={p3.user['username']}")).json[0][
        "id"] == match_id


@pytest.mark.gen_test(timeout=60)
async def test_tied_seats_share_a_place_and_the_next_place_skips(
        api: Api, base_url: str, council: Game) -> None:
    _, seats = await seated(api, base_url, game="council", players=3)
    host, challenger, p3 = seats
    await step(host)
    await step(challenger)
    assert (await host.peer.command("move", move={"call": True}))["type"] == "ack"
    result = (await p3.peer.next("event", "ended"))["result"]
    assert [(s["place"], s["seat"]) for s in result["standings"]] == [
        (1, "host"), (1, "challenger"), (3, "p3")]
    assert (result["winner"], result["loser"]) == (None, p3.user["username"])
    assert result["winner_elo_after_match"] is None
    assert [s["elo_after_match"] for s in result["standings"]] == expected_elo(
        [1000] * 3, [1, 1, 3])


@pytest.mark.gen_test(timeout=60)
async def test_the_last_player_in_wins_when_the_others_go_out(
        api: Api, base_url: str, council: Game) -> None:
    _, seats = await seated(api, base_url, game="council", players=3)
    host, challenger, p3 = seats
    assert (await host.peer.command("resign"))["type"] == "ack"
    assert (await p3.peer.command("resign"))["type"] == "ack"
    result = (await challenger.peer.next("event", "ended"))["result"]
    assert [s["seat"] for s in result["standings"]] == ["challenger", "p3", "host"]
    assert (result["winner"], result["loser"], result["reason"]) == (
        challenger.user["username"], host.user["username"], "resign")


@pytest.mark.gen_test(timeout=60)
async def test_the_turn_clock_puts_out_who_owes_and_cancels_when_all_do(
        api: Api, base_url: str, council: Game) -> None:
    _, seats = await seated(api, base_url, game="council", players=4)
    host = seats[0]
    assert (await host.peer.command("move", move={"owe": ["p3"]}))["type"] == "ack"
    out = await host.peer.next("event", "out", timeout=3)
    assert (out["seat"], out["reason"]) == ("p3", "forfeit")
    assert (await host.peer.command("move", move={"owe": ["host", "challenger", "p4"]}))[
        "type"] == "ack"
    await host.peer.next("event", "cancelled", timeout=3)
    for seat in seats:
        user = (await api.get(f"/api/users/{seat.user['username']}/")).json
        assert (user["elo"], user["ongoing_match"]) == (1000, None)


@pytest.mark.gen_test(timeout=60)
async def test_the_seats_asked_for_are_checked(api: Api, council: Game) -> None:
    _, token = await api.new_user()
    for body, field in (({"game": "council", "players": 5}, "players"),
                        ({"game": "council", "players": 1}, "players"),
                        ({"game": "rps", "players": 3}, "players"),
                        ({"game": "council", "player": 3}, "player")):
        refused = await api.post("/api/ongoing_matches/", body, token=token)
        assert refused.status == 400 and field in refused.json, (body, refused.json)
    made = await api.post("/api/ongoing_matches/", {"game": "council"}, token=token)
    assert [s["seat"] for s in made.json["seats"]] == ["host", "challenger", "p3"]
    assert set(made.json["score"]) == {"host", "challenger", "p3"}
    types = {g["name"]: g for g in (await api.get("/api/game_types/")).json}
    assert (types["council"]["min_players"], types["council"]["max_players"],
            types["council"]["default_players"]) == (2, 4, 3)


@pytest.mark.gen_test(timeout=60)
async def test_the_queue_makes_matches_of_n_that_start_by_themselves(
        api: Api, base_url: str, council: Game) -> None:
    people = [await api.new_user() for _ in range(4)]
    tickets = []
    for (_, token), players in zip(people, (3, 2, 3, 3), strict=True):
        made = await api.post("/api/matchmaking/", {"game": "council", "players": players},
                              token=token)
        assert made.status == 201, made.json
        assert made.json["players"] == players
        tickets.append(made.json)
    trio = [people[0], people[2], people[3]]
    matched: list[dict[str, Any]] = []
    for _ in range(100):
        matched = [(await api.get("/api/matchmaking/", token=token)).json for _, token in trio]
        if all(t["status"] == "matched" for t in matched):
            break
        await asyncio.sleep(0.1)
    assert {t["match"] for t in matched} == {matched[0]["match"]} != {None}
    lone = (await api.get("/api/matchmaking/", token=people[1][1])).json
    assert lone["status"] == "waiting"  # a ticket for two never joins a match of three
    match_id = matched[0]["match"]
    view = (await api.get(f"/api/ongoing_matches/{match_id}/")).json
    assert [s["user"]["username"] for s in view["seats"]] == [u["username"] for u, _ in trio]
    assert all(s["ready"] for s in view["seats"])
    peers = [await attach(base_url, match_id, token) for _, token in trio]
    started = await peers[0].next("event", "started")
    assert started["seq"] >= 1
