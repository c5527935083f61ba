"""What the live matches count, for ``/metrics`` (Prometheus text); the sockets'
own counts are ``handlers.context.SocketCounts``."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate

# Upper bounds (seconds) of the database write latency histogram.
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Metrics:
    frames_out: int = 0
    state_frames: int = 0
    moves: int = 0
    write_count: int = 0
    write_seconds: float = 0.0
    write_buckets: list[int] = field(default_factory=lambda: [0] * (len(WRITE_BUCKETS) + 1))

    def observe_write(self, seconds: float) -> None:
        """Count one write (every command's commit: keep it cheap)."""
        self.write_count += 1
        self.write_seconds += seconds
        # the first bucket it fits; ``lines`` adds them up (Prometheus buckets are
        # cumulative), the slowest ones counting only in +Inf
        self.write_buckets[bisect_left(WRITE_BUCKETS, seconds)] += 1

    def lines(self, *, live_matches: int, mailbox_depth: int) -> list[str]:
        lines = [
            "# TYPE arena_live_matches gauge", f"arena_live_matches {live_matches}",
            "# TYPE arena_mailbox_depth gauge", f"arena_mailbox_depth {mailbox_depth}",
            "# TYPE arena_frames_out_total counter", f"arena_frames_out_total {self.frames_out}",
            "# TYPE arena_state_frames_total counter",
            f"arena_state_frames_total {self.state_frames}",
            "# TYPE arena_moves_total counter", f"arena_moves_total {self.moves}",
            "# TYPE arena_db_write_seconds histogram",
        ]
        for bound, count in zip(WRITE_BUCKETS, accumulate(self.write_buckets), strict=False):
            lines.append(f'arena_db_write_seconds_bucket{{le="{bound}"}} {count}')
        lines += [f'arena_db_write_seconds_bucket{{le="+Inf"}} {self.write_count}',
                  f"arena_db_write_seconds_sum {self.write_seconds:.6f}",
                  f"arena_db_write_seconds_count {self.write_count}"]
        return lines
