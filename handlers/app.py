"""The route table, the Tornado application and the HTTP server that serves it."""

from __future__ import annotations

import re
from typing import Any

from tornado.httputil import HTTPConnection, HTTPMessageDelegate
from tornado.routing import URLSpec
from tornado.web import Application

from config import Config
from handlers.accounts import LoginHandler, LogoutHandler, SignUpHandler, TokenHandler
from handlers.base import NotFoundHandler, dumps, envelope_error, is_envelope_path
from handlers.context import AppContext
from handlers.errors import bad_request
from handlers.library import (
    ActionsHandler,
    FlagHandler,
    ListHandler,
    RatingsHandler,
    StatsHandler,
)
from handlers.lobbies import LobbiesHandler, LobbyListHandler, LobbyMembersHandler
from handlers.matches import (
    CompletedMatchesHandler,
    CompletedMatchHandler,
    GameTypesHandler,
    OngoingMatchesHandler,
    OngoingMatchHandler,
    OngoingMatchRoleHandler,
    UserOngoingMatchHandler,
)
from handlers.matchmaking import MatchmakingHandler
from handlers.ops import HealthHandler, MetricsHandler, OpenAPIHandler
from handlers.security.limits import ArenaHTTPServer, BodyLimit, drain_limit
from handlers.security.proxy import TrustedProxies
from handlers.socket import MatchSocket
from handlers.users import MeHandler, UserDetailHandler, UsersHandler
from handlers.web import WEB_ROUTES

# (path template, handler).  ``{name}`` is a path segment passed to the method.
ROUTES: list[tuple[str, type]] = [
    ("/api/users/sign_up/", SignUpHandler),
    ("/api/token/", TokenHandler),
    ("/api/login/", LoginHandler),
    ("/api/logout/", LogoutHandler),
    ("/api/users/", UsersHandler),
    ("/api/users/me/", MeHandler),
    ("/api/users/{username}/", UserDetailHandler),
    ("/api/users/{username}/ongoing_match/", UserOngoingMatchHandler),
    ("/api/game_types/", GameTypesHandler),
    ("/api/ongoing_matches/", OngoingMatchesHandler),
    ("/api/ongoing_matches/{match_id}/", OngoingMatchHandler),
    ("/api/ongoing_matches/{match_id}/{role}/", OngoingMatchRoleHandler),
    ("/api/completed_matches/", CompletedMatchesHandler),
    ("/api/completed_matches/{match_id}/", CompletedMatchHandler),
    ("/api/matchmaking/", MatchmakingHandler),
    ("/ws/matches/{match_id}", MatchSocket),
    ("/api/actions/", ActionsHandler),
    ("/api/actions/ratings/", RatingsHandler),
    ("/api/actions/stats/", StatsHandler),
    ("/api/actions/lists/{flag}/", ListHandler),
    ("/api/actions/{action}/", FlagHandler),
    ("/games", LobbiesHandler),
    ("/games/list", LobbyListHandler),
    ("/games/users", LobbyMembersHandler),
    ("/healthz", HealthHandler),
    ("/metrics", MetricsHandler),
    ("/api/openapi.json", OpenAPIHandler),
]


def _pattern(template: str) -> str:
    """``/api/users/{username}/`` → a regex; the trailing slash is optional."""
    body = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.rstrip("/"))
    return f"{body}/?$"


class ArenaApplication(Application):
    """The routes, with every request's body held to the configured limit."""

    def __init__(self, specs: list[URLSpec], context: AppContext, **settings: Any) -> None:
        super().__init__(specs, **settings)
        self.context = context

    def start_request(self, server_conn: object,
                      request_conn: HTTPConnection) -> HTTPMessageDelegate:
        return BodyLimit(super().start_request(server_conn, request_conn), request_conn,
                         self.context.config.body_limit, self._refusal, self._count)

    def _refusal(self, path: str) -> bytes:
        error = bad_request(
            f"Request body exceeds the limit of {self.context.config.body_limit} bytes.")
        return dumps(envelope_error(error) if is_envelope_path(path) else error.body)

    def _count(self, method: str, status: int) -> None:
        self.context.http_requests[(method, status)] += 1


def make_app(context: AppContext) -> ArenaApplication:
    specs = []
    for template, handler in ROUTES:
        kwargs: dict[str, Any] = {"context": context}
        if handler is OpenAPIHandler:
            kwargs["routes"] = ROUTES
        specs.append(URLSpec(_pattern(template), handler, kwargs))
    specs += [URLSpec(pattern, handler, kwargs) for pattern, handler, kwargs in WEB_ROUTES]
    return ArenaApplication(
        specs,
        context,
        cookie_secret=context.secret,
        websocket_max_message_size=context.config.frame_limit,
        default_handler_class=NotFoundHandler,
        default_handler_args={"context": context},
    )


def make_server(app: ArenaApplication, config: Config) -> ArenaHTTPServer:
    """The HTTP server for ``app`` with the configured connection limits."""
    return ArenaHTTPServer(
        app,
        max_body_size=drain_limit(config.body_limit),
        idle_connection_timeout=config.header_timeout,
        body_timeout=config.body_timeout,
        per_address=config.connections_per_address,
        proxies=TrustedProxies.parse(config.trusted_proxies),
    )
