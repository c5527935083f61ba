"""The errors a handler raises, and nothing about how they are shown.

Each error carries what both response shapes need: the HTTP status, a
snake_case ``code`` and a sentence for the ``/games`` envelope, and the
DRF-style body (``{"detail": ...}``, ``{"field": [...]}`` or a list of
messages) for the ``/api/`` family.  The handler's family picks the shape.
"""

from __future__ import annotations

from typing import Any

from tornado.web import HTTPError


class APIError(HTTPError):
    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(status, reason=None, log_message=None)
        self.code = code
        self.message = message
        self.body = body if body is not None else {"detail": message}
        #: Response headers that belong to this answer (``Retry-After``).
        self.headers: dict[str, str] = {}


class FieldError(APIError):
    """A request field (body or query) is missing, mistyped or out of range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, "invalid_request", f"{field}: {message}", {field: [message]})
        self.field = field


class RuleViolation(APIError):
    """A domain rule refused the request; DRF shows these as a list of messages."""

    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(400, code, message, [message])


def bad_request(message: str, code: str = "invalid_request") -> APIError:
    return APIError(400, code, message)


def not_authenticated() -> APIError:
    return APIError(401, "unauthorized", "Authentication credentials were not provided.")


def invalid_token() -> APIError:
    return APIError(401, "unauthorized", "Invalid token.")


def forbidden(message: str = "You do not have permission to perform this action.") -> APIError:
    return APIError(403, "forbidden", message)


def not_found(message: str = "Not found.", code: str = "not_found") -> APIError:
    return APIError(404, code, message)


def throttled(retry_after: int) -> APIError:
    error = APIError(429, "throttled",
                     f"Too many failed logins. Try again in {retry_after} seconds.")
    error.headers["Retry-After"] = str(retry_after)
    return error


def unavailable(message: str) -> APIError:
    """A part of the service this request needs does not answer; try again."""
    error = APIError(503, "unavailable", message)
    error.headers["Retry-After"] = "1"
    return error


def conflict(code: str, message: str) -> APIError:
    return APIError(409, code, message)


class ValidationFailed(APIError):
    """Several fields failed their rules: ``{"field": ["message", ...], ...}``."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first_field, messages = next(iter(fields.items()))
        super().__init__(400, "invalid_request", f"{first_field}: {messages[0]}", fields)
