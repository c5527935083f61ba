"""Ranked matches over REST: create, list, read, delete; completed matches.

Live matches are read from their actors (the REST view always reflects the
live state); a delete goes through the actor's mailbox like any command.
Completed matches are read from the store.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from actors.cluster.ownership import ClusterRegistry
from actors.games import GAMES, MAX_SEATS
from actors.games.options import OptionError, settle
from actors.match.actor import MatchActor
from actors.match.dormant import DormantMatch
from actors.match.messages import Cancel, CommandError
from actors.registry import AlreadyInMatch, GameSetupFailed
from handlers import errors
from handlers.base import BaseHandler
from handlers.cluster.forward import forward, gather
from handlers.cluster.owners import Owner, find_owner
from handlers.cluster.proof import passed_on
from handlers.openapi import BOOLEAN, INTEGER, PAGING, STRING, operation, optional
from handlers.request import SAFE_INTEGER, ascii_integer
from store.matches import COMPLETED_ORDERINGS
from store.views import completed_view

TAG = "matches"
ONGOING_ORDERINGS = ("host_elo", "-host_elo")
#: The parts of a match readable on their own: ``…/{id}/{part}/``.
ROLES = ("host", "challenger", "spectators", "players")


MATCH_ID = {"type": "integer", "minimum": 0, "maximum": SAFE_INTEGER}
TIMESTAMP_BOUND = {"anyOf": [{"type": "string", "format": "date"},
                             {"type": "string", "format": "date-time"}]}


class MatchHandler(BaseHandler):
    path_schemas = {"match_id": MATCH_ID, "role": {"type": "string", "enum": list(ROLES)}}

    @property
    def registry(self) -> ClusterRegistry:
        assert self.ctx.registry is not None
        return self.ctx.registry

    async def held(self, match_id: str) -> MatchActor | DormantMatch | Owner:
        """The live match's actor here (or the match, dormant here), or the
        other node that holds it (the request is then ``forward``-ed there);
        404 if there is no such match.  A match whose node is gone is taken
        over here first."""
        key = ascii_integer(match_id)
        if key is None:
            raise errors.not_found()
        if (dormant := self.registry.dormant.get(key)) is not None:
            return dormant
        actor = await self.registry.arrival(key)
        if actor is None or not actor.live:
            owner = await find_owner(self.ctx, self.request, key)
            if owner is not None:
                return owner
            actor = self.registry.get(key)  # its node was gone: taken over just now, here
        if actor is None or not actor.live:
            raise errors.not_found()
        return actor


#: The body fields that choose a game, its target score, its seats and options.
GAME_FIELDS = {
    "game": optional({"type": "string", "minLength": 1, "maxLength": 100,
                      "description": "a name from GET /api/game_types/"}),
    "target_score": optional({"type": "integer", "minimum": 1, "maximum": SAFE_INTEGER,
                              "description": "within the game's bounds (GET /api/game_types/)"}),
    "players": optional({"type": "integer", "minimum": 2, "maximum": MAX_SEATS,
                         "description": "seats: the game's min_players to max_players"}),
    "options": optional({"type": "object", "description":
                         "the game's options (GET /api/game_types/), defaults filled in"}),
}


class Chosen(NamedTuple):
    """What a request's body asks of a new match (``GAME_FIELDS``)."""

    game: str
    target: int
    players: int
    options: dict[str, Any]


def chosen(handler: BaseHandler) -> Chosen:
    """The match a request's body asks for, each field defaulting (the
    server's default game, the game's own target, seats and options); a 400
    naming the field that is wrong, or unknown."""
    body = handler.body
    body.only(GAME_FIELDS)
    game = body.string("game", required=False, default=handler.ctx.config.default_game,
                       max_length=100)
    if game not in GAMES:
        raise errors.FieldError("game", f"Choose one of: {', '.join(sorted(GAMES))}.")
    rules = GAMES[game]
    target = body.integer("target_score", required=False, minimum=rules.min_target,
                          maximum=rules.max_target) or rules.default_target
    players = body.integer("players", required=False, minimum=rules.min_players,
                           maximum=rules.max_players) or rules.default_players \
        or rules.min_players
    try:
        options = settle(rules, body.data.get("options"))
    except OptionError as error:
        raise errors.FieldError(f"options.{error.name}" if error.name else "options",
                                error.message) from None
    return Chosen(game, target, players, options)


class GameTypesHandler(BaseHandler):
    openapi = {"get": operation("The games this server hosts, by name", tag=TAG)}

    def get(self) -> None:
        rate = self.ctx.config.tick_rate
        self.send([GAMES[name].describe(rate) for name in sorted(GAMES)])


class OngoingMatchesHandler(MatchHandler):
    openapi = {
        "post": operation("Create a match; the caller hosts it", tag=TAG, auth=True,
                          body=GAME_FIELDS, responses=(201,)),
        "get": operation("Ongoing matches", tag=TAG, query={
            "ordering": {"type": "string", "enum": list(ONGOING_ORDERINGS)},
            "is_full": BOOLEAN, "min_elo": INTEGER, "max_elo": INTEGER, **PAGING}),
    }

    async def post(self) -> None:
        user = self.require_user()
        match = chosen(self)
        try:
            actor = await self.registry.create(user, match.game, match.target,
                                               players=match.players, options=match.options)
        except AlreadyInMatch as exc:
            raise errors.RuleViolation(str(exc)) from None
        except GameSetupFailed:
            raise errors.FieldError("game", "The game could not set up this match.") from None
        self.send(actor.representation(), 201)

    async def get(self) -> None:
        ordering = self.query.choice("ordering", ONGOING_ORDERINGS)
        is_full = self.query.boolean("is_full")
        min_elo = self.query.integer("min_elo")
        max_elo = self.query.integer("max_elo")
        limit, offset = self.query.page()
        matches = []
        for actor in self.registry.ongoing():
            view = actor.representation()
            host_elo = view["host"]["elo"]
            full = all(seat["user"] is not None for seat in view["seats"])
            if is_full is not None and full != is_full:
                continue
            if (min_elo is not None and host_elo < min_elo) or (
                max_elo is not None and host_elo > max_elo
            ):
                continue
            matches.append(view)
        if passed_on(self.request):
            self.send(matches)  # this node's part of another node's answer: all of it
            return
        matches += await gather(self.ctx, self)
        matches.sort(key=lambda m: m["id"])
        if ordering:
            matches.sort(key=lambda m: m["host"]["elo"], reverse=ordering.startswith("-"))
        self.send_page(matches[offset:offset + limit], len(matches))


class OngoingMatchHandler(MatchHandler):
    openapi = {
        "get": operation("An ongoing match", tag=TAG, responses=(200, 404)),
        "delete": operation("Delete a match: the host, before the start", tag=TAG, auth=True,
                            responses=(204, 403, 404)),
    }

    async def get(self, match_id: str) -> None:
        match = await self.held(match_id)
        if isinstance(match, Owner):
            return await forward(self.ctx, self, match.url)
        self.send(match.representation())

    async def delete(self, match_id: str) -> None:
        user = self.require_user()
        actor = await self.held(match_id)
        if isinstance(actor, Owner):
            return await forward(self.ctx, self, actor.url)
        if isinstance(actor, DormantMatch):
            raise errors.unavailable(f"{actor.reason}; an administrator can cancel it "
                                     "(admin cancel-match).")
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        actor.post(Cancel(reply, user_id=user["_id"]))
        try:
            await reply
        except CommandError as error:
            if error.code == "not_found":
                raise errors.not_found() from None
            if error.code in ("forbidden", "already_started"):
                raise errors.forbidden(error.message) from None
            raise
        self.set_status(204)
        self.finish()


class OngoingMatchRoleHandler(MatchHandler):
    openapi = {"get": operation("The host, the challenger (or null), the spectators, or the "
                                "players (the seated users in seat order)",
                                tag=TAG, responses=(200, 404))}

    async def get(self, match_id: str, role: str) -> None:
        if role not in ROLES:
            raise errors.not_found()
        match = await self.held(match_id)
        if isinstance(match, Owner):
            return await forward(self.ctx, self, match.url)
        view = match.representation()
        if role == "players":
            self.send([seat["user"] for seat in view["seats"] if seat["user"] is not None])
        else:
            self.send(view[role])


class UserOngoingMatchHandler(MatchHandler):
    openapi = {"get": operation("The ongoing match a user is in", tag=TAG,
                                responses=(200, 404))}

    async def get(self, username: str) -> None:
        user = await self.ctx.store.users.by_username(username)
        if user is None or user.get("ongoing_match") is None:
            raise errors.not_found()
        match = await self.held(str(user["ongoing_match"]))
        if isinstance(match, Owner):
            return await forward(self.ctx, self, match.url)
        self.send(match.representation())


class CompletedMatchesHandler(MatchHandler):
    orderings = [*COMPLETED_ORDERINGS, *(f"-{name}" for name in COMPLETED_ORDERINGS)]
    openapi = {"get": operation("Completed matches", tag=TAG, query={
        "ordering": {"type": "string", "enum": orderings},
        "winner": STRING, "loser": STRING, "user": STRING,
        "end_timestamp_after": TIMESTAMP_BOUND, "end_timestamp_before": TIMESTAMP_BOUND,
        **PAGING})}

    async def get(self) -> None:
        ordering = self.query.choice("ordering", self.orderings)
        filters: dict[str, Any] = {
            name: value for name in ("winner", "loser", "user")
            if (value := self.query.string(name))
        }
        filters["after"] = self.query.timestamp_bound("end_timestamp_after", end_of_day=False)
        filters["before"] = self.query.timestamp_bound("end_timestamp_before", end_of_day=True)
        limit, offset = self.query.page()
        matches, total = await self.ctx.store.matches.completed_page(filters, ordering, limit,
                                                                     offset)
        self.send_page([completed_view(m) for m in matches], total)


class CompletedMatchHandler(MatchHandler):
    openapi = {"get": operation("A completed match", tag=TAG, responses=(200, 404))}

    async def get(self, match_id: str) -> None:
        key = ascii_integer(match_id)
        match = await self.ctx.store.matches.completed_by_id(key) if key is not None else None
        if match is None:
            raise errors.not_found()
        self.send(completed_view(match))
