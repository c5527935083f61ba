"""Reading request fields with their types checked, for every endpoint.

A JSON body is a ``dict`` of arbitrary JSON values; each accessor checks the
type it promises, so ``{"username": {"$ne": null}}`` is a 400 naming
``username`` and can never reach a query as an operator.  Query parameters
are strings and are parsed here the same way.  Every failure is a
``FieldError`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from tornado.web import RequestHandler

from handlers.errors import FieldError
from store.timestamps import format_timestamp

REQUIRED = "This field is required."
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The widest integer any field takes, body or query: JavaScript's
#: ``Number.MAX_SAFE_INTEGER``, so every JSON client holds each value exactly,
#: and well inside BSON's 64-bit integers.  Fields narrow it further.
SAFE_INTEGER = 2**53 - 1
#: How deep a request body may nest arrays and objects.  No field takes more
#: than a list of strings; the bound keeps a pathological body from costing
#: more than its bytes.
MAX_DEPTH = 32


def ascii_integer(text: str) -> int | None:
    """A non-negative integer written in ASCII digits only (``str.isdigit``
    also takes ``²`` and ``٣``), at most ``SAFE_INTEGER``; ``None`` otherwise.
    Match ids in paths are read with it (``None``: no such match), and the
    ``seq`` a relayed socket resumes from."""
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        return None
    number = int(text)
    return number if number <= SAFE_INTEGER else None


class Body:
    """Typed access to the fields of a JSON (or form) request body."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return name in self.data

    def only(self, names: Collection[str]) -> None:
        """A 400 naming the first field the endpoint does not take (a typo
        in an optional field would otherwise go unnoticed)."""
        for name in self.data:
            if name not in names:
                raise FieldError(name, f"Unknown field; this endpoint takes: "
                                       f"{', '.join(sorted(names))}.")

    def string(
        self, name: str, *, required: bool = True, default: str = "", max_length: int | None = None,
        strip: bool = False,
    ) -> str:
        if name not in self.data or self.data[name] is None:
            if required:
                raise FieldError(name, REQUIRED)
            return default
        value = self.data[name]
        if not isinstance(value, str):
            raise FieldError(name, "Must be a string.")
        if strip:
            value = value.strip()
        if required and not value:
            raise FieldError(name, "This field may not be blank.")
        if max_length is not None and len(value) > max_length:
            raise FieldError(name, f"Ensure this field has no more than {max_length} characters.")
        return value

    def integer(
        self, name: str, *, required: bool = True, minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        if name not in self.data or self.data[name] is None:
            if required:
                raise FieldError(name, REQUIRED)
            return None
        value = self.data[name]
        if isinstance(value, float) and value.is_integer() and abs(value) <= SAFE_INTEGER:
            value = int(value)  # 5.0 is the integer 5 (JSON has one number type)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError(name, "A valid integer is required.")
        _check_range(name, value, minimum, maximum)
        return value

    def boolean(self, name: str) -> bool | None:
        """An optional boolean: ``None`` when absent or null."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise FieldError(name, "Must be a boolean.")
        return value

    def string_list(self, name: str) -> list[str]:
        if name not in self.data:
            raise FieldError(name, REQUIRED)
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise FieldError(name, "Must be a list of strings.")
        return value


def _check_range(name: str, value: int, minimum: int | None, maximum: int | None) -> None:
    """Refuse ``value`` outside ``[minimum, maximum]``, and always outside the
    safe range (no integer the database or a JavaScript client cannot hold)."""
    minimum = -SAFE_INTEGER if minimum is None else max(minimum, -SAFE_INTEGER)
    maximum = SAFE_INTEGER if maximum is None else min(maximum, SAFE_INTEGER)
    if not minimum <= value <= maximum:
        raise FieldError(name, f"Ensure this value is between {minimum} and {maximum}.")


def check_depth(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` nests arrays and objects at most ``limit`` deep (no recursion)."""
    level: list[Any] = [data] if isinstance(data, dict | list) else []
    for _ in range(limit):  # after k rounds, ``level`` holds the containers k + 1 deep
        level = [child for value in level
                 for child in (value.values() if isinstance(value, dict) else value)
                 if isinstance(child, dict | list)]
    return not level


_INTEGER = re.compile(r"-?\d{1,30}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Query:
    """Typed access to a request's query parameters (the last value wins)."""

    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler

    def string(self, name: str) -> str | None:
        return self.handler.get_query_argument(name, None)

    def typed(self, name: str) -> str | None:
        """The raw value of a parameter that is not a free string: absent is
        ``None``, and present but empty is refused like any malformed value."""
        raw = self.string(name)
        if raw == "":
            raise FieldError(name, "This parameter may not be empty.")
        return raw

    def integer(
        self, name: str, *, default: int | None = None, minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = self.typed(name)
        if raw is None:
            return default
        if not _INTEGER.fullmatch(raw.strip()):
            raise FieldError(name, "A valid integer is required.")
        value = int(raw)
        _check_range(name, value, minimum, maximum)
        return value

    def required_integer(self, name: str, **bounds: int) -> int:
        value = self.integer(name, **bounds)
        if value is None:
            raise FieldError(name, REQUIRED)
        return value

    def boolean(self, name: str) -> bool | None:
        raw = self.typed(name)
        if raw is None:
            return None
        if raw == "true":
            return True
        if raw == "false":
            return False
        raise FieldError(name, "Must be true or false.")

    def choice(self, name: str, choices: Collection[str]) -> str:
        """One of ``choices`` (case-sensitive), or ``""`` when absent."""
        raw = self.typed(name)
        if raw is None:
            return ""
        if raw not in choices:
            allowed = ", ".join(sorted(choices))
            raise FieldError(name, f"Invalid value {raw!r}; choose one of: {allowed}.")
        return raw

    def page(self) -> tuple[int, int]:
        """``(limit, offset)`` with the contract's defaults and bounds."""
        limit = self.integer("limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        offset = self.integer("offset", default=0, minimum=0)
        assert limit is not None and offset is not None
        return limit, offset

    def timestamp_bound(self, name: str, *, end_of_day: bool) -> str | None:
        """A date (``YYYY-MM-DD``, inclusive) or ISO datetime, as a stored timestamp string."""
        raw = self.typed(name)
        if raw is None:
            return None
        raw = raw.strip()
        try:
            if _DATE.fullmatch(raw):
                day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
                moment = day.replace(hour=23, minute=59, second=59, microsecond=999999) \
                    if end_of_day else day
            else:
                moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
        except ValueError:
            raise FieldError(name, "Enter a date (YYYY-MM-DD) or an ISO 8601 datetime.") from None
        return format_timestamp(moment)
