"""The base handler: authentication, CSRF, bodies, errors and JSON for every endpoint.

Every convention of the contract lives here once: who the caller is (token
header, ``Bearer``, the seed's ``Authentication`` typo, or the session
cookie), the CSRF check on cookie-authenticated writes, body size and type
checks, list paging, and the two response shapes (plain DRF-style JSON under
``/api/``, the ``{success, data, error}`` envelope under ``/games``).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from tornado.web import HTTPError, RequestHandler

from handlers import errors
from handlers.context import AppContext
from handlers.errors import APIError
from handlers.request import MAX_DEPTH, Body, Query, check_depth
from handlers.security.credentials import digest

log = logging.getLogger("arena.http")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADERS = ("X-CSRFToken", "X-XSRFToken")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


class JSONErrors(RequestHandler):
    """Every error answered in JSON, never Tornado's HTML page: ``{"detail":
    ...}`` (or what ``render_error`` makes of it), ``Allow`` on a 405, and a
    server fault's details in the log only."""

    def render_error(self, error: APIError) -> Any:
        return error.body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        error = exc if isinstance(exc, APIError) else self._error_for_status(status_code, exc)
        self.set_status(error.status_code)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.finish(dumps(self.render_error(error)))

    def _error_for_status(self, status: int, exc: BaseException | None) -> APIError:
        if status == 405:
            error = APIError(405, "method_not_allowed",
                             f'Method "{self.request.method}" not allowed.')
            error.headers["Allow"] = ", ".join(self.allowed_methods())
            return error
        if status == 404:
            return errors.not_found()
        if 400 <= status < 500:
            reason = exc.log_message if isinstance(exc, HTTPError) and exc.log_message else None
            return APIError(status, "invalid_request", reason or self._reason)
        return APIError(500, "internal_error", "Internal server error")

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler answers (for ``Allow`` on a 405)."""
        return [method for method in cls.SUPPORTED_METHODS
                if getattr(cls, method.lower()) is not getattr(RequestHandler, method.lower())]

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, APIError):
            return  # an expected refusal, already answered
        super().log_exception(typ, value, tb)


class BaseHandler(JSONErrors):
    """Plain-JSON (``/api/``) handler; subclasses implement HTTP methods."""

    #: Take form-encoded bodies too (login and token endpoints, for browsers).
    accepts_form: ClassVar[bool] = False
    #: Methods that skip the CSRF check (login: there is no session yet to forge with).
    csrf_exempt: ClassVar[frozenset[str]] = frozenset()
    #: OpenAPI operations by lower-case method, read by ``handlers.openapi``.
    openapi: ClassVar[dict[str, dict[str, Any]]] = {}

    ctx: AppContext
    user: dict[str, Any] | None
    session: dict[str, Any] | None

    def initialize(self, context: AppContext) -> None:
        self.ctx = context
        context.in_flight += 1  # until on_finish, which Tornado calls for every request
        self.user = None
        self.session = None
        self._body: Body | None = None

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")

    # -- authentication -------------------------------------------------

    async def prepare(self) -> None:
        # (a body over the limit never gets here: ``handlers.security.limits.BodyLimit``)
        await self.authenticate()
        if self.requires_auth and self.user is None:
            raise errors.not_authenticated()
        if self.request.method in WRITE_METHODS and self.request.body:
            self.body  # noqa: B018 - parsed now: a malformed body is a 400 on every endpoint
        if (
            self.request.method in WRITE_METHODS
            and self.session is not None
            and self.request.method not in self.csrf_exempt
        ):
            self.check_csrf()

    async def authenticate(self) -> None:
        """Set ``self.user`` (and ``self.session`` for cookie logins).

        A token that is not (or no longer) valid is refused with 401 only where
        the operation needs a user.  Public reads and the credentials
        endpoints treat it as no token at all, so a client holding a revoked
        token can still read, sign up and ask for a new token without first
        knowing to drop its header.
        """
        identity = await identify(self, self.ctx)
        if identity.bad_token and self.requires_auth:
            raise errors.invalid_token()
        self.user, self.session = identity.user, identity.session

    @property
    def requires_auth(self) -> bool:
        """Whether this request's operation needs a user: what its OpenAPI
        operation declares, so the document and the behaviour cannot disagree."""
        operation = self.openapi.get((self.request.method or "").lower(), {})
        return "security" in operation

    def check_csrf(self) -> None:
        assert self.session is not None
        sent = next((self.request.headers.get(h) for h in CSRF_HEADERS
                     if self.request.headers.get(h)), None)
        if sent is None and self.request.body_arguments:
            sent = self.get_body_argument("_xsrf", None)
        if not sent or not hmac.compare_digest(sent, self.session["csrf"]):
            raise errors.forbidden("CSRF Failed: CSRF token missing or incorrect.")

    def require_user(self) -> dict[str, Any]:
        if self.user is None:
            raise errors.not_authenticated()
        return self.user

    # -- requests ----------------------------------------------------------

    @property
    def body(self) -> Body:
        if self._body is None:
            self._body = Body(self._parse_body())
        return self._body

    def _parse_body(self) -> dict[str, Any]:
        """The body as a dict: JSON, or a form where the handler takes forms.

        A body that looks like JSON is read as JSON whatever its Content-Type
        says (``curl -d '{...}'`` sends a form type).
        """
        raw = self.request.body
        if not raw.strip():
            return {}
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if self.accepts_form and content_type in FORM_TYPES and not raw.lstrip().startswith(b"{"):
            return {name: values[-1].decode("utf-8", "replace")
                    for name, values in self.request.body_arguments.items()}
        try:
            data = orjson.loads(raw)  # strict JSON: no NaN, no lone surrogates
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"JSON parse error: {exc}") from None
        if not isinstance(data, dict):
            raise errors.bad_request("The request body must be a JSON object.")
        if not check_depth(data):
            raise errors.bad_request(
                f"The request body nests deeper than {MAX_DEPTH} levels.")
        return data

    @property
    def query(self) -> Query:
        return Query(self)

    # -- responses ---------------------------------------------------------

    def render_success(self, data: Any) -> Any:
        return data

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(dumps(self.render_success(data)))

    def send_page(self, items: list[Any], total: int) -> None:
        self.set_header("X-Total-Count", str(total))
        self.send(items)

    def on_finish(self) -> None:
        self.ctx.in_flight -= 1
        self.ctx.http_requests[(self.request.method or "", self.get_status())] += 1


@dataclass
class Identity:
    user: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    bad_token: bool = False  # a token was sent and it is not valid


async def identify(handler: RequestHandler, ctx: AppContext) -> Identity:
    """Who sent this request: a token header (``Token``/``Bearer``, under
    ``Authorization`` or the seed's ``Authentication``) or the session cookie."""
    headers = handler.request.headers
    header = headers.get("Authorization") or headers.get("Authentication")
    if header:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() in ("token", "bearer"):
            user = await user_for_token(ctx, token.strip())
            return Identity(user=user, bad_token=user is None)
    key = handler.get_signed_cookie(SESSION_COOKIE)
    if key:
        session = await ctx.store.sessions.live(digest(key.decode()))
        if session is not None:
            user = await ctx.store.users.by_id(session["user_id"])
            if user is not None:
                return Identity(user=user, session=session)
    return Identity()


async def user_for_token(ctx: AppContext, token: str) -> dict[str, Any] | None:
    """The user a token authenticates, or ``None``; one indexed lookup, no bcrypt."""
    if not token or len(token) > 200:
        return None
    record = await ctx.store.tokens.by_digest(digest(token))
    if record is None:
        return None
    user = await ctx.store.users.by_id(record["user_id"])
    if user is None or user.get("token_generation", 0) != record.get("generation"):
        return None
    return user


def envelope_success(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "error": None}


def envelope_error(error: APIError) -> dict[str, Any]:
    return {"success": False, "data": None,
            "error": {"code": error.code, "message": error.message}}


class EnvelopeHandler(BaseHandler):
    """A ``/games`` handler: every answer inside ``{success, data, error}``."""

    def render_success(self, data: Any) -> Any:
        return envelope_success(data)

    def render_error(self, error: APIError) -> Any:
        return envelope_error(error)


def is_envelope_path(path: str) -> bool:
    """Whether ``path`` is under ``/games``, whose answers are envelopes."""
    return path == "/games" or path.startswith("/games/")


class NotFoundHandler(BaseHandler):
    """Unknown paths: 404 in the shape of the family the path falls under."""

    async def prepare(self) -> None:
        envelope = is_envelope_path(self.request.path)
        raise errors.not_found("No such path." if envelope else "Not found.")

    def render_error(self, error: APIError) -> Any:
        return envelope_error(error) if is_envelope_path(self.request.path) else error.body
