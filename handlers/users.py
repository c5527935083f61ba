"""Users: the list, one's own view, and a user by username."""

from __future__ import annotations

from handlers import errors
from handlers.base import BaseHandler
from handlers.openapi import PAGING, operation
from store.users import USER_ORDERINGS
from store.views import user_view

TAG = "users"
ORDERINGS = [name for name in USER_ORDERINGS if name]


class UsersHandler(BaseHandler):
    openapi = {"get": operation(
        "List users", tag=TAG,
        query={"ordering": {"type": "string", "enum": ORDERINGS}, **PAGING},
    )}

    async def get(self) -> None:
        ordering = self.query.choice("ordering", ORDERINGS)
        limit, offset = self.query.page()
        users, total = await self.ctx.store.users.page(ordering, limit, offset)
        self.send_page([user_view(user) for user in users], total)


class MeHandler(BaseHandler):
    openapi = {"get": operation("The authenticated user, with email and is_admin", tag=TAG,
                                auth=True, responses=(200, 401))}

    async def get(self) -> None:
        self.send(user_view(self.require_user(), own=True))


class UserDetailHandler(BaseHandler):
    openapi = {"get": operation("A user by username", tag=TAG, responses=(200, 404))}

    async def get(self, username: str) -> None:
        user = await self.ctx.store.users.by_username(username)
        if user is None:
            raise errors.not_found()
        own = self.user is not None and self.user["_id"] == user["_id"]
        self.send(user_view(user, own=own))
