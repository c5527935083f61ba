"""What every handler shares: configuration, the store, the password hasher."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from actors.cluster.ownership import ClusterRegistry
from actors.matchmaking.matchmaker import Matchmaker
from config import Config
from handlers.security.credentials import PasswordHasher
from handlers.security.throttle import LoginThrottle
from store import Store


@dataclass
class SocketCounts:
    """What the match sockets count for ``/metrics``; only ``handlers.socket``
    and ``handlers.cluster.relay`` change it (the actors count what they send:
    ``actors.metrics``)."""

    #: sockets between ``open`` and ``on_close``
    open: int = 0
    #: sockets opened since start (a relayed socket counts on both nodes)
    opened: int = 0
    #: client frames received (before the rate limit)
    frames_in: int = 0
    #: sockets closed for reading too slowly (1008)
    slow_closes: int = 0
    #: sockets open now whose match another node holds (relayed to it)
    relays: int = 0
    #: sockets relayed, and REST requests forwarded, to the node holding their match
    relayed: int = 0
    forwarded: int = 0
    #: relayed sockets that followed their match to its next owner
    moved: int = 0

    def lines(self) -> list[str]:
        return [
            "# TYPE arena_sockets gauge", f"arena_sockets {self.open}",
            "# TYPE arena_sockets_total counter", f"arena_sockets_total {self.opened}",
            "# TYPE arena_frames_in_total counter", f"arena_frames_in_total {self.frames_in}",
            "# TYPE arena_slow_reader_closes_total counter",
            f"arena_slow_reader_closes_total {self.slow_closes}",
            "# TYPE arena_relayed_sockets gauge", f"arena_relayed_sockets {self.relays}",
            "# TYPE arena_relayed_sockets_total counter",
            f"arena_relayed_sockets_total {self.relayed}",
            "# TYPE arena_relayed_sockets_moved_total counter",
            f"arena_relayed_sockets_moved_total {self.moved}",
            "# TYPE arena_forwarded_requests_total counter",
            f"arena_forwarded_requests_total {self.forwarded}",
        ]


@dataclass
class AppContext:
    config: Config
    store: Store
    hasher: PasswordHasher
    secret: bytes
    registry: ClusterRegistry | None = None
    matchmaker: Matchmaker | None = None
    http_requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    sockets: SocketCounts = field(default_factory=SocketCounts)
    #: Functions that return Prometheus text lines for ``/metrics``.
    collectors: list[Callable[[], Iterable[str]]] = field(default_factory=list)
    #: REST requests begun and not yet finished (counted by ``BaseHandler``).
    in_flight: int = 0
    #: Failed logins by account and address (``POST /api/token/``, ``/api/login/``).
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    #: Notified whenever a login attempt is decided (attempts ``HELD`` wait on it).
    login_decided: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def drain(self, timeout: float) -> bool:
        """Wait until no REST request is in flight (or ``timeout`` passes).

        The shutdown calls this after it stops accepting connections and before
        it closes the store, so a request that was already being answered gets
        its answer instead of a 500 from a closed database client.  Polled: it
        runs once per process life, and a counter costs requests nothing.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.in_flight and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return not self.in_flight
