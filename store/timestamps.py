"""Timestamps as Arena stores and shows them.

The contract shows ISO 8601 in UTC with microseconds and a ``Z``
(``2021-01-18T19:08:25.023237Z``).  BSON dates keep only milliseconds, so
timestamps are stored as these fixed-width strings: they sort and compare in
time order as plain strings, on MongoDB and FerretDB alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_FORMAT)


def now() -> str:
    return format_timestamp(datetime.now(UTC))
