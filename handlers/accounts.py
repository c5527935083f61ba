"""Accounts: sign-up, API tokens, cookie login and logout."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from handlers import errors, validation
from handlers.base import CSRF_COOKIE, SESSION_COOKIE, BaseHandler
from handlers.openapi import STRING, operation, optional
from handlers.security.credentials import derive_token, digest, new_key
from handlers.security.throttle import HELD
from store.users import UsernameTaken
from store.views import user_view

SESSION_LIFETIME = timedelta(days=14)
TAG = "accounts"
CREDENTIALS = {
    "username": {"type": "string", "minLength": 1, "maxLength": validation.USERNAME_MAX},
    "password": {"type": "string", "minLength": 1, "maxLength": validation.PASSWORD_MAX},
}
NEW_CREDENTIALS: dict[str, Any] = {
    "username": {"type": "string",
                 "pattern": rf"^[\w.@+-]{{1,{validation.USERNAME_MAX}}}$(?![\s\S])"},
    "password": {"type": "string", "minLength": validation.PASSWORD_MIN,
                 "maxLength": validation.PASSWORD_MAX},
}
NAME = optional({"type": "string", "maxLength": 150})
BAD_CREDENTIALS = "Unable to log in with provided credentials."


class CredentialsHandler(BaseHandler):
    """Endpoints that take a username and password (form or JSON)."""

    accepts_form = True
    csrf_exempt = frozenset({"POST"})

    async def check_credentials(self) -> dict[str, Any]:
        """The user these credentials belong to; the same 400 for any mismatch.

        Refused with 429 before bcrypt runs when failed logins for this
        account or from this address are over their rate (``handlers.security.throttle``).
        """
        username = self.body.string("username", max_length=validation.USERNAME_MAX)
        password = self.body.string("password", max_length=validation.PASSWORD_MAX)
        throttle, address = self.ctx.throttle, self.request.remote_ip or ""
        decided = self.ctx.login_decided
        while (retry_after := throttle.acquire(username, address, time.monotonic())) == HELD:
            async with decided:
                await decided.wait()
        if retry_after:
            raise errors.throttled(retry_after)
        right = False
        try:
            user = await self.ctx.store.users.by_username(username)
            hashed = user["password_hash"] if user is not None else None
            right = await self.ctx.hasher.check(password, hashed)
        finally:
            throttle.decided(username, address, time.monotonic(), right=right)
            async with decided:
                decided.notify_all()
        if not right:
            raise errors.APIError(400, "invalid_credentials", BAD_CREDENTIALS,
                                  {"non_field_errors": [BAD_CREDENTIALS]})
        assert user is not None
        return user


class SignUpHandler(BaseHandler):
    csrf_exempt = frozenset({"POST"})  # creates an account; acts on no one's behalf
    openapi = {"post": operation(
        "Create a user", tag=TAG,
        body={**NEW_CREDENTIALS,
              "email": optional({"type": "string", "maxLength": 254,
                                 "pattern": r"^\s*(?:[^@\s]+@[^@\s]+\.[^@\s]+)?\s*$(?![\s\S])"}),
              "first_name": NAME, "last_name": NAME},
        required=("username", "password"), responses=(201,),
    )}

    async def post(self) -> None:
        body = self.body
        username = body.string("username", max_length=validation.USERNAME_MAX)
        password = body.string("password", max_length=validation.PASSWORD_MAX)
        email = body.string("email", required=False, max_length=254).strip()
        first_name = body.string("first_name", required=False, max_length=150)
        last_name = body.string("last_name", required=False, max_length=150)
        problems = {
            field: messages
            for field, messages in (
                ("username", validation.username_errors(username)),
                ("password", validation.password_errors(password, username)),
                ("email", validation.email_errors(email)),
            )
            if messages
        }
        if problems:
            raise errors.ValidationFailed(problems)
        users = self.ctx.store.users
        try:
            async with users.reserve(username) as user_id:
                password_hash = await self.ctx.hasher.hash(password)
                user = await users.create(
                    user_id, username=username, password_hash=password_hash, email=email,
                    first_name=first_name, last_name=last_name,
                )
        except UsernameTaken:
            raise errors.ValidationFailed(
                {"username": ["A user with that username already exists."]}
            ) from None
        self.send(user_view(user, own=True), 201)


class TokenHandler(CredentialsHandler):
    openapi = {
        "post": operation("Get the API token (the same one until it is deleted)", tag=TAG,
                          body=CREDENTIALS, required=("username", "password"),
                          throttled=True),
        "delete": operation("Delete the API token of the header", tag=TAG, auth=True,
                            responses=(204,)),
    }

    async def post(self) -> None:
        user = await self.check_credentials()
        generation = user.get("token_generation", 0)
        token = derive_token(self.ctx.secret, user["_id"], generation)
        await self.ctx.store.tokens.issue(user["_id"], digest(token), generation)
        self.send({"token": token})

    async def delete(self) -> None:
        if self.user is None or self.session is not None:
            raise errors.not_authenticated()  # only a token can delete itself
        user_id, generation = self.user["_id"], self.user.get("token_generation", 0)
        await self.ctx.store.users.next_token_generation(user_id)  # dead from here on
        await self.ctx.store.tokens.revoke(digest(derive_token(self.ctx.secret, user_id,
                                                               generation)))
        self.set_status(204)
        self.finish()


class LoginHandler(CredentialsHandler):
    openapi = {"post": operation(
        "Log in with a session cookie", tag=TAG, body=CREDENTIALS,
        required=("username", "password"), query={"next": STRING}, responses=(302,),
        throttled=True,
    )}

    async def post(self) -> None:
        user = await self.check_credentials()
        if self.session is not None:  # no session fixation: the old one ends here
            await self.ctx.store.sessions.revoke(self.session["_id"])
        key, csrf = new_key(), new_key()
        await self.ctx.store.sessions.create(digest(key), user["_id"], csrf, SESSION_LIFETIME)
        days = SESSION_LIFETIME.days
        secure = self.request.protocol == "https"  # (behind a proxy: as it says)
        self.set_signed_cookie(SESSION_COOKIE, key, expires_days=days, httponly=True,
                               samesite="Lax", path="/", secure=secure)
        self.set_cookie(CSRF_COOKIE, csrf, expires_days=days, samesite="Lax", path="/",
                        secure=secure)
        self.redirect(validation.safe_redirect(self.get_query_argument("next", None)))


class LogoutHandler(BaseHandler):
    accepts_form = True  # a browser form may post here with an ``_xsrf`` field
    openapi = {"post": operation("Log out: revoke the session", tag=TAG, auth=True,
                                 responses=(200, 403))}

    async def post(self) -> None:
        if self.session is None:
            raise errors.not_authenticated()
        await self.ctx.store.sessions.revoke(self.session["_id"])
        self.clear_cookie(SESSION_COOKIE, path="/")
        self.clear_cookie(CSRF_COOKIE, path="/")
        self.send({"detail": "Successfully logged out."})
