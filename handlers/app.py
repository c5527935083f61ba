"""The route table and the Tornado application."""

from __future__ import annotations

import re
from typing import Any

from tornado.web import Application, URLSpec

from handlers.accounts import LoginHandler, LogoutHandler, SignUpHandler, TokenHandler
from handlers.base import NotFoundHandler
from handlers.context import AppContext
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
    OngoingMatchesHandler,
    OngoingMatchHandler,
    OngoingMatchRoleHandler,
    UserOngoingMatchHandler,
)
from handlers.ops import HealthHandler, MetricsHandler, OpenAPIHandler
from handlers.socket import MatchSocket
from handlers.users import MeHandler, UserDetailHandler, UsersHandler

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
    ("/api/ongoing_matches/", OngoingMatchesHandler),
    ("/api/ongoing_matches/{match_id}/", OngoingMatchHandler),
    ("/api/ongoing_matches/{match_id}/{role}/", OngoingMatchRoleHandler),
    ("/api/completed_matches/", CompletedMatchesHandler),
    ("/api/completed_matches/{match_id}/", CompletedMatchHandler),
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


def make_app(context: AppContext) -> Application:
    specs = []
    for template, handler in ROUTES:
        kwargs: dict[str, Any] = {"context": context}
        if handler is OpenAPIHandler:
            kwargs["routes"] = ROUTES
        specs.append(URLSpec(_pattern(template), handler, kwargs))
    return Application(
        specs,
        cookie_secret=context.secret,
        websocket_max_message_size=context.config.frame_limit,
        default_handler_class=NotFoundHandler,
        default_handler_args={"context": context},
    )
