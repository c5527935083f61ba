"""What every handler shares: configuration, the store, the password hasher."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from handlers.credentials import PasswordHasher
from store import Store

if TYPE_CHECKING:
    from actors.registry import Registry
    from server import Config


@dataclass
class AppContext:
    config: Config
    store: Store
    hasher: PasswordHasher
    secret: bytes
    registry: Registry | None = None
    http_requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    #: Functions that return Prometheus text lines for ``/metrics``.
    collectors: list[Callable[[], Iterable[str]]] = field(default_factory=list)
