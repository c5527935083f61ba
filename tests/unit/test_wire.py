"""Every frame a match sends, read back the way the relay reads it."""

from __future__ import annotations

import orjson

from actors.match import wire


def test_events_and_snapshots_carry_a_seq_the_relay_can_read() -> None:
    event = wire.event(41, "moved", {"user": {"id": "u"}}, {"board": [1]}, None).decode()
    snapshot = wire.snapshot(7, "host", {"id": 3}, {"board": []}, None).decode()
    assert wire.seq_of(event) == 41
    assert wire.seq_of(snapshot) == 7
    assert orjson.loads(event) == {"type": "event", "seq": 41, "kind": "moved",
                                   "user": {"id": "u"}, "state": {"board": [1]}}
    assert orjson.loads(snapshot)["you"] == "host"


def test_other_frames_have_no_seq_for_the_relay() -> None:
    for frame in (wire.ack(1, 9), wire.pong(2), wire.error(3, "forbidden", "No."),
                  wire.state(9, 120, {"ball": [0, 0]})):
        assert wire.seq_of(frame.decode()) is None


def test_only_state_frames_read_as_state() -> None:
    assert wire.is_state(wire.state(9, 120, {"ball": [0, 0]}).decode())
    for frame in (wire.event(1, "x", {}, {}, None), wire.snapshot(1, None, {}, {}, None),
                  wire.ack(1, 1), wire.pong(1), wire.error(1, "c", "m")):
        assert not wire.is_state(frame.decode())


def test_an_event_shows_the_clock_only_when_given_one() -> None:
    clock = {"left": 60.0, "deadline": "2026-12-07T00:01:00Z", "seconds": 60.0}
    assert orjson.loads(wire.event(1, "started", {}, {}, clock))["clock"] == clock
    assert "clock" not in orjson.loads(wire.event(2, "moved", {}, {}, None))


def test_replies_answer_the_frame_they_reply_to() -> None:
    assert orjson.loads(wire.ack("a", 5)) == {"type": "ack", "id": "a", "seq": 5}
    assert orjson.loads(wire.pong(None)) == {"type": "pong", "id": None}
    assert orjson.loads(wire.error(7, "rate_limited", "Slow down.")) == {
        "type": "error", "id": 7, "code": "rate_limited", "message": "Slow down."}
