"""The ranked queue over REST: queue, look, leave (``actors.matchmaking.matchmaker`` pairs)."""

from __future__ import annotations

from actors.matchmaking.matchmaker import Matchmaker
from handlers import errors
from handlers.base import BaseHandler
from handlers.matches import GAME_FIELDS, chosen
from handlers.openapi import operation

TAG = "matchmaking"


class MatchmakingHandler(BaseHandler):
    openapi = {
        "post": operation("Queue for a ranked match; a retry returns the same ticket",
                          tag=TAG, auth=True, body=GAME_FIELDS,
                          responses=(200, 201)),
        "get": operation("The caller's ticket", tag=TAG, auth=True, responses=(200, 404)),
        "delete": operation("Leave the queue (a matched ticket's match goes on)", tag=TAG,
                            auth=True, responses=(204, 404)),
    }

    @property
    def matchmaker(self) -> Matchmaker:
        assert self.ctx.matchmaker is not None
        return self.ctx.matchmaker

    async def post(self) -> None:
        user = self.require_user()
        match = chosen(self)
        tickets = self.ctx.store.tickets
        ticket = await tickets.of(user["_id"])
        if ticket is not None:
            self.send(self.matchmaker.view(ticket), 200)
            return
        if user.get("ongoing_match") is not None:
            raise errors.RuleViolation(f"User {user['username']} is already in a match")
        ticket, new = await tickets.open(user, match.game, match.target, match.options,
                                         match.players)
        if new:
            self.matchmaker.remember(ticket)
        self.send(self.matchmaker.view(ticket), 201 if new else 200)

    async def get(self) -> None:
        user = self.require_user()
        ticket = await self.ctx.store.tickets.of(user["_id"])
        if ticket is None:
            raise errors.not_found()
        self.send(self.matchmaker.view(ticket))

    async def delete(self) -> None:
        user = self.require_user()
        if not await self.ctx.store.tickets.discard(user["_id"]):
            raise errors.not_found()
        self.matchmaker.forget(user["_id"])
        self.set_status(204)
        self.finish()
