"""The live-match metrics as ``/metrics`` shows them."""

from __future__ import annotations

from actors.metrics import Metrics


def test_the_write_histogram_is_cumulative_like_prometheus_buckets() -> None:
    metrics = Metrics()
    for seconds in (0.0005, 0.001, 0.003, 0.2, 2.0):
        metrics.observe_write(seconds)
    lines = dict(line.rsplit(" ", 1) for line in
                 metrics.lines(live_matches=0, mailbox_depth=0)
                 if line.startswith("arena_db_write_seconds"))
    bucket = 'arena_db_write_seconds_bucket{le="%s"}'
    assert lines[bucket % "0.001"] == "2"  # 1 ms itself is in the 1 ms bucket
    assert lines[bucket % "0.0025"] == "2"
    assert lines[bucket % "0.005"] == "3"
    assert lines[bucket % "0.1"] == "3"
    assert lines[bucket % "0.25"] == "4"
    assert lines[bucket % "1.0"] == "4"
    assert lines[bucket % "+Inf"] == "5"
    assert lines["arena_db_write_seconds_count"] == "5"
