"""Set up matches for the protocol tests: users, sockets, a started match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.client import Api
from tests.support.ws import Peer


@dataclass(eq=False)
class Seat:
    user: dict[str, Any]
    token: str
    peer: Peer


@dataclass
class Table:
    match_id: int
    host: Seat
    challenger: Seat
    spectator: Seat | None


async def create_match(api: Api, token: str, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/ongoing_matches/", body, token=token)
    assert response.status == 201, response.body
    return response.json


async def attach(base_url: str, match_id: int, token: str) -> Peer:
    peer = await Peer.connect(base_url, match_id, token)
    await peer.next("snapshot")
    return peer


async def table(api: Api, base_url: str, *, game: str = "rps", target: int = 5,
                spectator: bool = True, start: bool = True) -> Table:
    """A match with a host, a ready challenger and a spectator, started by default."""
    host_user, host_token = await api.new_user()
    match = await create_match(api, host_token, game=game, target_score=target)
    host = Seat(host_user, host_token, await attach(base_url, match["id"], host_token))
    challenger_user, challenger_token = await api.new_user()
    challenger = Seat(challenger_user, challenger_token,
                      await attach(base_url, match["id"], challenger_token))
    assert (await challenger.peer.command("join", role="challenger"))["type"] == "ack"
    assert (await challenger.peer.command("ready"))["type"] == "ack"
    watcher = None
    if spectator:
        spectator_user, spectator_token = await api.new_user()
        watcher = Seat(spectator_user, spectator_token,
                       await attach(base_url, match["id"], spectator_token))
        assert (await watcher.peer.command("join", role="spectator"))["type"] == "ack"
    if start:
        assert (await host.peer.command("start"))["type"] == "ack"
    return Table(match["id"], host, challenger, watcher)


async def seated(api: Api, base_url: str, *, game: str, players: int,
                 start: bool = True, **body: Any) -> tuple[int, list[Seat]]:
    """A match of ``players`` seats, each taken in order by a new user, each
    player but the host ready, started by default: its id, and the seats."""
    host_user, host_token = await api.new_user()
    match = await create_match(api, host_token, game=game, players=players, **body)
    seats = [Seat(host_user, host_token, await attach(base_url, match["id"], host_token))]
    for _ in range(players - 1):
        user, token = await api.new_user()
        seat = Seat(user, token, await attach(base_url, match["id"], token))
        assert (await seat.peer.command("join", role="player"))["type"] == "ack"
        assert (await seat.peer.command("ready"))["type"] == "ack"
        seats.append(seat)
    if start:
        assert (await seats[0].peer.command("start"))["type"] == "ack"
    return match["id"], seats


async def throw(seat: Seat, what: str) -> dict[str, Any]:
    reply = await seat.peer.command("move", move={"throw": what})
    assert reply["type"] == "ack", reply
    return reply
