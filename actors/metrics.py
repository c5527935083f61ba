"""What the live matches and the matchmaker count, for ``/metrics`` (Prometheus
text); the sockets' own counts are ``handlers.context.SocketCounts``."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate

# Upper bounds (seconds) of the database write latency histogram.
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
# Upper bounds (seconds) of the matchmaking wait histogram (queued → paired).
WAIT_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass
class Histogram:
    """A Prometheus histogram: ``observe`` is cheap (one bisect), ``lines``
    adds the buckets up (Prometheus buckets are cumulative)."""

    name: str
    bounds: tuple[float, ...]
    count: int = 0
    total: float = 0.0
    buckets: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.buckets = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.count += 1
        self.total += value
        # the first bucket it fits; the largest values count only in +Inf
        self.buckets[bisect_left(self.bounds, value)] += 1

    def lines(self) -> list[str]:
        lines = [f"# TYPE {self.name} histogram"]
        for bound, count in zip(self.bounds, accumulate(self.buckets), strict=False):
            lines.append(f'{self.name}_bucket{{le="{bound}"}} {count}')
        return [*lines, f'{self.name}_bucket{{le="+Inf"}} {self.count}',
                f"{self.name}_sum {self.total:.6f}", f"{self.name}_count {self.count}"]


def gauge(name: str, value: float) -> list[str]:
    return [f"# TYPE {name} gauge", f"{name} {value}"]


def counter(name: str, value: float) -> list[str]:
    return [f"# TYPE {name} counter", f"{name} {value}"]


@dataclass
class Metrics:
    frames_out: int = 0
    state_frames: int = 0
    moves: int = 0
    writes: Histogram = field(
        default_factory=lambda: Histogram("arena_db_write_seconds", WRITE_BUCKETS))

    def observe_write(self, seconds: float) -> None:
        """Count one write (every command's commit: keep it cheap)."""
        self.writes.observe(seconds)

    def lines(self, *, live_matches: int, mailbox_depth: int,
              dormant_matches: int = 0) -> list[str]:
        return [
            *gauge("arena_live_matches", live_matches),
            *gauge("arena_dormant_matches", dormant_matches),
            *gauge("arena_mailbox_depth", mailbox_depth),
            *counter("arena_frames_out_total", self.frames_out),
            *counter("arena_state_frames_total", self.state_frames),
            *counter("arena_moves_total", self.moves),
            *self.writes.lines(),
        ]


@dataclass
class MatchmakingMetrics:
    """The matchmaker's counts: the queue, the pairings and what they cost."""

    waiting: int = 0  # tickets waiting, as of the last round
    pairings: int = 0
    rounds: int = 0
    round_seconds: float = 0.0  # the rounds' time in this process, database waits included
    waits: Histogram = field(
        default_factory=lambda: Histogram("arena_matchmaking_wait_seconds", WAIT_BUCKETS))

    def lines(self) -> list[str]:
        return [
            *gauge("arena_matchmaking_tickets", self.waiting),
            *counter("arena_matchmaking_pairings_total", self.pairings),
            *counter("arena_matchmaking_rounds_total", self.rounds),
            *counter("arena_matchmaking_round_seconds_total", round(self.round_seconds, 6)),
            *self.waits.lines(),
        ]
