"""Pong's physics, tick by tick, without a server."""

from __future__ import annotations

import math

import pytest

from actors.games import Setup
from actors.games.base import IllegalMove
from actors.games.pong import MAX_SPEED, Pong

PONG = Pong()
DT = 1 / 30


def run(state: dict, ticks: int) -> tuple[dict, list]:
    events: list = []
    for _ in range(ticks):
        state, new = PONG.tick(state, DT)
        events += new
    return state, events


def in_flight(x: float, y: float, vx: float, vy: float, **changes: object) -> dict:
    """A state with the ball moving (no serve pending)."""
    state = PONG.create(Setup.make(5, seed=1))
    return {**state, "serve_in": 0.0, "ball": {"x": x, "y": y, "vx": vx, "vy": vy}, **changes}


def angle_of(vx: float, vy: float) -> float:
    return math.degrees(math.atan2(vy, abs(vx)))


@pytest.mark.parametrize("seed", range(40))
def test_a_serve_waits_a_second_then_goes_at_0_6_between_15_and_45_degrees(seed: int) -> None:
    state = PONG.create(Setup.make(5, seed=seed))
    state, _ = run(state, 29)
    assert state["ball"] == {"x": 0.5, "y": 0.5, "vx": 0.0, "vy": 0.0}  # still waiting
    state, _ = run(state, 1)
    ball = state["ball"]
    assert math.hypot(ball["vx"], ball["vy"]) == pytest.approx(0.6)
    assert 15 <= abs(angle_of(ball["vx"], ball["vy"])) <= 45
    assert (ball["vx"] < 0) == (state["serve_to"] == "host")


def test_the_first_serves_go_to_both_sides_and_both_ways() -> None:
    sides, ups = set(), set()
    for seed in range(40):
        state, _ = run(PONG.create(Setup.make(5, seed=seed)), 30)
        sides.add(state["ball"]["vx"] > 0)
        ups.add(state["ball"]["vy"] > 0)
    assert sides == {True, False} and ups == {True, False}


def test_the_ball_reflects_off_the_top_and_the_bottom() -> None:
    state, _ = run(in_flight(0.5, 0.01, 0.2, -0.6), 1)
    assert state["ball"]["y"] == pytest.approx(0.01)  # 0.02 up: 0.01 past the wall, folded back
    assert state["ball"]["vy"] == pytest.approx(0.6) and state["ball"]["vx"] == 0.2
    state, _ = run(in_flight(0.5, 0.99, 0.2, 0.6), 1)
    assert state["ball"]["y"] == pytest.approx(0.99) and state["ball"]["vy"] == pytest.approx(-0.6)


@pytest.mark.parametrize(("offset", "angle"), [(0.0, 0.0), (0.05, 22.5), (-0.1, -45.0),
                                               (0.1, 45.0), (-0.02, -9.0)])
def test_a_paddle_hit_leaves_at_45_degrees_times_the_offset(offset: float, angle: float) -> None:
    paddles = {"host": {"y": 0.5, "dir": "stop"}, "challenger": {"y": 0.5, "dir": "stop"}}
    # moving straight at the host's paddle, 0.01 from its line
    state, events = run(in_flight(0.04, 0.5 + offset, -0.6, 0.0, paddles=paddles), 1)
    ball = state["ball"]
    assert events == [] and ball["vx"] > 0  # back toward the challenger
    assert angle_of(ball["vx"], ball["vy"]) == pytest.approx(angle)
    assert math.hypot(ball["vx"], ball["vy"]) == pytest.approx(0.6 * 1.05)


def test_the_speed_up_stops_at_1_2() -> None:
    paddles = {"host": {"y": 0.5, "dir": "stop"}, "challenger": {"y": 0.5, "dir": "stop"}}
    state, _ = run(in_flight(0.96, 0.5, 1.19, 0.0, paddles=paddles), 1)
    assert state["ball"]["vx"] == pytest.approx(-MAX_SPEED)


def test_a_ball_outside_the_paddle_is_a_point_and_the_conceder_gets_the_serve() -> None:
    paddles = {"host": {"y": 0.2, "dir": "stop"}, "challenger": {"y": 0.5, "dir": "stop"}}
    state, events = run(in_flight(0.05, 0.5, -0.6, 0.0, paddles=paddles), 5)
    assert [e.kind for e in events] == ["point"]
    assert events[0].fields == {"scorer": "challenger", "score": {"host": 0, "challenger": 1}}
    assert state["score"] == {"host": 0, "challenger": 1}
    assert state["serve_to"] == "host" and state["serve_in"] > 0
    assert state["ball"]["x"] == 0.5 and state["paddles"]["host"]["y"] == 0.5
    state, _ = run(state, 30)
    assert state["ball"]["vx"] < 0  # served toward the host, who conceded


def test_the_host_scores_past_the_far_line_and_the_target_ends_it() -> None:
    paddles = {"host": {"y": 0.5, "dir": "stop"}, "challenger": {"y": 0.9, "dir": "stop"}}
    state = in_flight(0.95, 0.3, 0.6, 0.0, paddles=paddles,
                      score={"host": 4, "challenger": 2})
    state, events = run(state, 5)
    assert events[0].fields["scorer"] == "host"
    assert PONG.standings(state) == [["host"], ["challenger"]]


def test_paddles_move_at_1_5_a_second_and_stay_within_their_limits() -> None:
    state = PONG.create(Setup.make(5))
    state, _ = PONG.apply(state, "host", {"paddle": "up"})
    state, _ = PONG.apply(state, "challenger", {"paddle": "down"})
    moved, _ = run(state, 3)
    assert moved["paddles"]["host"]["y"] == pytest.approx(0.5 - 1.5 * 3 * DT)
    far, _ = run(state, 20)  # (before the serve: no point resets them)
    assert far["paddles"]["host"]["y"] == 0.1 and far["paddles"]["challenger"]["y"] == 0.9
    stopped, _ = PONG.apply(far, "host", {"paddle": "stop"})
    assert run(stopped, 5)[0]["paddles"]["host"]["y"] == 0.1


def test_a_bad_input_is_refused_and_an_input_makes_no_event() -> None:
    state = PONG.create(Setup.make(5))
    for move in ({"paddle": "left"}, {"paddle": None}, "up", None):
        with pytest.raises(IllegalMove):
            PONG.apply(state, "host", move)
    assert PONG.apply(state, "host", {"paddle": "down"})[1] == []


def test_after_a_restart_the_point_starts_over_with_the_score_kept() -> None:
    state = in_flight(0.3, 0.7, 0.4, 0.1, score={"host": 2, "challenger": 3}, serve_to="host")
    restored = PONG.restored(state)
    assert restored["score"] == {"host": 2, "challenger": 3}
    assert restored["ball"] == {"x": 0.5, "y": 0.5, "vx": 0.0, "vy": 0.0}
    assert restored["serve_in"] == 1.0


def test_a_returning_player_gets_a_second_before_the_ball_moves_on() -> None:
    state = in_flight(0.3, 0.7, 0.4, 0.1)
    back, _ = PONG.returned(state, "host")
    assert back["serve_in"] == 1.0 and back["ball"] == state["ball"]
    waited, _ = run(back, 29)
    assert waited["ball"]["x"] == 0.3
    moving, _ = run(waited, 2)
    assert moving["ball"]["x"] > 0.3 and moving["ball"]["vx"] == 0.4


def test_the_view_hides_nothing_and_counts_ticks() -> None:
    state, _ = run(PONG.create(Setup.make(3, seed=5)), 7)
    view = PONG.view(state, None)
    assert view == PONG.view(state, "host") == PONG.view(state, "challenger")
    assert view["tick"] == 7 and view["target_score"] == 3
    assert set(view) == {"tick", "ball", "paddles", "score", "target_score", "serve_in"}
