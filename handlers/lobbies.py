"""Private lobbies (``/games``): a host invites up to four others.

Every answer is the seed's envelope.  Checks run in a fixed order and the
first failing one answers, with its own ``error.code``: the request's shape
(``invalid_request``), then the lobby (``lobby_not_found``), the caller's
right (``forbidden``), the target user, and last the lobby's rules.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, NoReturn

from handlers import errors
from handlers.base import EnvelopeHandler
from handlers.errors import APIError
from handlers.openapi import UUID, operation, trimmed
from store.lobbies import MAX_PLAYERS, AlreadyHosting, Lobby

TAG = "lobbies"
NAME_MAX = 100
MAX_INVITEES = MAX_PLAYERS - 1
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def lobby_view(lobby: Lobby) -> dict[str, Any]:
    return {
        "game": {"name": lobby["name"], "id": lobby["_id"], "created": lobby["created"],
                 "hostId": lobby["host_id"]},
        "users": list(lobby["users"]),
    }


def invalid(message: str) -> APIError:
    return errors.bad_request(message)


def canonical_uuid(value: str, name: str) -> str:
    if not _UUID.fullmatch(value):
        raise invalid(f"{name} is not a valid UUID.")
    return value.lower()


def lobby_not_found() -> APIError:
    return errors.not_found("No active lobby with that id.", "lobby_not_found")


class LobbyHandler(EnvelopeHandler):
    """Shared pieces: the caller, ids from the query or the body, the lobby and rights."""

    async def prepare(self) -> None:
        await super().prepare()
        self.require_user()

    @property
    def caller(self) -> dict[str, Any]:
        assert self.user is not None
        return self.user

    @property
    def is_admin(self) -> bool:
        return bool(self.caller.get("is_admin"))

    def uuid_param(self, name: str) -> str:
        value = self.optional_uuid_param(name)
        if value is None:
            raise invalid(f"{name} is required.")
        return value

    def optional_uuid_param(self, name: str) -> str | None:
        """A UUID from the JSON body (POST) or the query string, in canonical form."""
        value: Any = None
        if self.request.method == "POST" and self.body.has(name):
            value = self.body.data[name]
        else:
            value = self.get_query_argument(name, None)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string.")
        return canonical_uuid(value, name)

    async def active_lobby(self, lobby_id: str) -> Lobby:
        lobby = await self.ctx.store.lobbies.active(lobby_id)
        if lobby is None:
            raise lobby_not_found()
        return lobby

    def require_host(self, lobby: Lobby, action: str) -> None:
        if lobby["host_id"] != self.caller["_id"] and not self.is_admin:
            raise errors.forbidden(f"Only the host or an administrator can {action}.")

    async def require_user_exists(self, user_id: str) -> None:
        if await self.ctx.store.users.by_id(user_id) is None:
            raise errors.not_found(f"No user with id {user_id}.", "user_not_found")


class LobbiesHandler(LobbyHandler):
    openapi = {
        "get": operation("A lobby (members and administrators)", tag=TAG, auth=True,
                         query={"id": UUID}, required_query=("id",),
                         responses=(200, 403, 404), envelope=True),
        "post": operation("Create a lobby and invite up to four users", tag=TAG, auth=True,
                          body={"name": trimmed(NAME_MAX),
                                "users": {"type": "array", "items": UUID,
                                          "maxItems": MAX_INVITEES, "uniqueItems": True}},
                          required=("name", "users"), responses=(201, 404, 409),
                          envelope=True),
        "delete": operation("Delete a lobby (host or administrator)", tag=TAG, auth=True,
                            query={"id": UUID}, required_query=("id",),
                            responses=(200, 403, 404), envelope=True),
    }

    async def get(self) -> None:
        lobby = await self.active_lobby(self.uuid_param("id"))
        if self.caller["_id"] not in lobby["users"] and not self.is_admin:
            raise errors.forbidden("Only members and administrators can read a lobby.")
        self.send(lobby_view(lobby))

    async def post(self) -> None:
        name = self.body.string("name", max_length=NAME_MAX, strip=True)
        invitees = [canonical_uuid(u, "users") for u in self.body.string_list("users")]
        host_id = self.caller["_id"]
        if host_id in invitees:
            raise errors.bad_request("The host cannot be in users.", "host_in_users")
        if len(set(invitees)) != len(invitees):
            raise errors.bad_request("users holds the same user twice.", "duplicate_users")
        if len(invitees) > MAX_INVITEES:
            raise errors.bad_request(f"At most {MAX_INVITEES} users can be invited.",
                                     "too_many_invitees")
        for invitee in invitees:
            await self.require_user_exists(invitee)
        try:
            lobby = await self.ctx.store.lobbies.create(str(uuid.uuid4()), name, host_id,
                                                        invitees)
        except AlreadyHosting:
            raise errors.conflict("already_hosting", "You already host an active lobby.") from None
        self.send(lobby_view(lobby), 201)

    async def delete(self) -> None:
        lobby = await self.active_lobby(self.uuid_param("id"))
        self.require_host(lobby, "delete a lobby")
        closed = await self.ctx.store.lobbies.close(lobby["_id"])
        if closed is None:  # deleted by a racing request
            raise lobby_not_found()
        self.send(lobby_view(closed))


class LobbyListHandler(LobbyHandler):
    openapi = {"get": operation(
        "Active lobbies: all (administrators) or those a user hosts or is invited to",
        tag=TAG, auth=True, query={"userId": UUID}, responses=(200, 403),
        envelope=True,
    )}

    async def get(self) -> None:
        user_id = self.optional_uuid_param("userId")
        if user_id != self.caller["_id"] and not self.is_admin:
            raise errors.forbidden("Listing other users' lobbies needs an administrator.")
        lobbies = await self.ctx.store.lobbies.list_active(member=user_id)
        self.send({"games": [lobby_view(lobby) for lobby in lobbies]})


class LobbyMembersHandler(LobbyHandler):
    openapi = {
        "post": operation("Invite a user (host or administrator)", tag=TAG, auth=True,
                          body={"gameId": UUID, "userId": UUID}, required=("gameId", "userId"),
                          responses=(200, 403, 404, 409), envelope=True),
        "delete": operation("Remove an invitee (host or administrator)", tag=TAG, auth=True,
                            query={"gameId": UUID, "userId": UUID},
                            required_query=("gameId", "userId"),
                            responses=(200, 403, 404), envelope=True),
    }

    async def target(self, action: str) -> tuple[Lobby, str]:
        lobby_id, user_id = self.uuid_param("gameId"), self.uuid_param("userId")
        lobby = await self.active_lobby(lobby_id)
        self.require_host(lobby, action)
        return lobby, user_id

    async def post(self) -> None:
        lobby, user_id = await self.target("invite")
        await self.require_user_exists(user_id)
        if user_id in lobby["users"]:
            raise errors.conflict("already_member", "That user is already in the lobby.")
        if len(lobby["users"]) >= MAX_PLAYERS:
            raise errors.conflict("lobby_full", f"A lobby holds at most {MAX_PLAYERS} players.")
        updated = await self.ctx.store.lobbies.add_user(lobby["_id"], user_id)
        if updated is None:  # a racing request changed the lobby: say what stands now
            await self.refusal_after_race(lobby["_id"], user_id)
        self.send(lobby_view(updated))

    async def refusal_after_race(self, lobby_id: str, user_id: str) -> NoReturn:
        lobby = await self.active_lobby(lobby_id)
        if user_id in lobby["users"]:
            raise errors.conflict("already_member", "That user is already in the lobby.")
        raise errors.conflict("lobby_full", f"A lobby holds at most {MAX_PLAYERS} players.")

    async def delete(self) -> None:
        lobby, user_id = await self.target("remove players")
        if user_id == lobby["host_id"]:
            raise errors.bad_request("The host cannot be removed; delete the lobby instead.",
                                     "cannot_remove_host")
        if user_id not in lobby["users"]:
            raise errors.not_found("That user is not in the lobby.", "not_member")
        updated = await self.ctx.store.lobbies.remove_user(lobby["_id"], user_id)
        if updated is None:
            await self.active_lobby(lobby["_id"])  # 404 if it was deleted meanwhile
            raise errors.not_found("That user is not in the lobby.", "not_member")
        self.send(lobby_view(updated))
