"""Pong: a realtime game on the unit square, first to the target in points.

The court runs from ``x = 0`` (the host's goal line) to ``x = 1`` (the
challenger's) and from ``y = 0`` (top) to ``y = 1`` (bottom); positions are
in court units, velocities in court units per second.  The players only
steer their paddles (``{"paddle": "up" | "down" | "stop"}``); the server
moves everything, one fixed step per tick.

- Paddles stand at ``x = 0.03`` (host) and ``x = 0.97`` (challenger), 0.2
  high, centred on ``y`` (0.5 at the start of every point) and kept within
  ``0.1 <= y <= 0.9``; each moves at 1.5 a second in its direction.
- A serve puts the ball at the centre, waits 1 s, and sends it at 0.6
  toward one side at 15-45 degrees above or below the horizontal: the
  first serve toward a random side, later ones toward the player who
  conceded the last point.
- The ball reflects off the top and bottom.  Crossing a paddle's line within
  its span (``|y - paddle| <= 0.1``) while moving toward that goal, it
  bounces back at ``45 degrees * offset / 0.1`` from the horizontal (below
  it for a positive offset), 5 % faster, at most 1.2.
- Past ``x < 0`` the challenger scores, past ``x > 1`` the host: a
  ``point`` event, then the next serve.

Randomness comes from a seed kept in the state, so every hook is a pure
function of its arguments.  The view is the same for everyone: pong hides
nothing.
"""

from __future__ import annotations

import math
import random
from typing import Any

from actors.games.base import (
    SEATS,
    Event,
    Game,
    IllegalMove,
    Outcome,
    Seat,
    Setup,
    State,
    other,
)

PADDLE_X: dict[Seat, float] = {"host": 0.03, "challenger": 0.97}
PADDLE_HALF = 0.1
PADDLE_MIN, PADDLE_MAX = 0.1, 0.9
PADDLE_SPEED = 1.5
SERVE_SPEED = 0.6
SERVE_DELAY = 1.0
SERVE_ANGLES = (15.0, 45.0)
SPEED_UP, MAX_SPEED = 1.05, 1.2
MAX_BOUNCE_ANGLE = 45.0
DIRECTIONS = {"up": -1, "down": 1, "stop": 0}


def _centre_ball() -> dict[str, float]:
    return {"x": 0.5, "y": 0.5, "vx": 0.0, "vy": 0.0}


def serve_velocity(toward: Seat, seed: int) -> tuple[float, float, int]:
    """The serve's velocity toward ``toward``'s goal, and the next seed."""
    rng = random.Random(seed)
    angle = math.radians(rng.uniform(*SERVE_ANGLES)) * rng.choice((-1, 1))
    sign = -1.0 if toward == "host" else 1.0
    return (sign * SERVE_SPEED * math.cos(angle), SERVE_SPEED * math.sin(angle),
            rng.getrandbits(32))


def bounce(ball_y: float, paddle_y: float, speed: float, toward: Seat) -> tuple[float, float]:
    """The velocity of a ball hitting a paddle at ``ball_y``, leaving toward ``toward``."""
    offset = max(-1.0, min(1.0, (ball_y - paddle_y) / PADDLE_HALF))
    angle = math.radians(MAX_BOUNCE_ANGLE * offset)
    speed = min(speed * SPEED_UP, MAX_SPEED)
    sign = -1.0 if toward == "host" else 1.0
    return sign * speed * math.cos(angle), speed * math.sin(angle)


def reflect(y: float, vy: float) -> tuple[float, float]:
    """A position past the top or bottom wall, folded back inside, and the new ``vy``."""
    while y < 0 or y > 1:
        if y < 0:
            y, vy = -y, -vy
        else:
            y, vy = 2 - y, -vy
    return y, vy


class Pong(Game):
    name = "pong"
    default_target = 5
    turn_clock = False
    realtime = True
    public_view = True

    def create(self, setup: Setup) -> State:
        rng = random.Random(setup.seed)
        return {
            "target": setup.target, "score": {"host": 0, "challenger": 0}, "tick": 0,
            "ball": _centre_ball(),
            "paddles": {seat: {"y": 0.5, "dir": "stop"} for seat in SEATS},
            "serve_in": SERVE_DELAY, "serve_to": rng.choice(SEATS),
            "seed": rng.getrandbits(32),
        }

    def restored(self, state: State) -> State:
        """After a restart the point starts over: a fresh serve, the score kept."""
        return self._new_point(state, state["serve_to"])

    def returned(self, state: State, seat: Seat) -> Outcome:
        """Play resumes where it stopped, a second after the players are back."""
        return {**state, "serve_in": max(state["serve_in"], SERVE_DELAY)}, []

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        direction = move.get("paddle") if isinstance(move, dict) else None
        if direction not in DIRECTIONS:
            raise IllegalMove("illegal_move", 'A move is {"paddle": "up" | "down" | "stop"}.')
        paddles = {**state["paddles"], seat: {**state["paddles"][seat], "dir": direction}}
        return {**state, "paddles": paddles}, []

    def tick(self, state: State, dt: float) -> Outcome:
        paddles = {
            seat: {**p, "y": min(PADDLE_MAX, max(PADDLE_MIN, p["y"] + DIRECTIONS[p["dir"]]
                                                 * PADDLE_SPEED * dt))}
            for seat, p in state["paddles"].items()
        }
        state = {**state, "paddles": paddles, "tick": state["tick"] + 1}
        if state["serve_in"] > 0:
            serve_in = state["serve_in"] - dt
            if serve_in < 1e-9:  # (30 steps of 1/30 leave a rounding error, not time)
                serve_in = 0.0
            state = {**state, "serve_in": serve_in}
            ball = state["ball"]
            if serve_in == 0 and ball["vx"] == 0 and ball["vy"] == 0:
                vx, vy, seed = serve_velocity(state["serve_to"], state["seed"])
                state = {**state, "ball": {**ball, "vx": vx, "vy": vy}, "seed": seed}
            return state, []
        return self._move_ball(state, dt)

    def _move_ball(self, state: State, dt: float) -> Outcome:
        ball = state["ball"]
        x, y, vx, vy = ball["x"], ball["y"], ball["vx"], ball["vy"]
        nx, ny = x + vx * dt, y + vy * dt
        toward: Seat = "host" if vx < 0 else "challenger"
        line = PADDLE_X[toward]
        crossed = (x >= line > nx) if toward == "host" else (x <= line < nx)
        if crossed:
            part = (line - x) / (nx - x)  # of this step, spent reaching the line
            cy, _ = reflect(y + vy * dt * part, vy)
            paddle_y = state["paddles"][toward]["y"]
            if abs(cy - paddle_y) <= PADDLE_HALF:
                vx, vy = bounce(cy, paddle_y, math.hypot(vx, vy), other(toward))
                rest = dt * (1 - part)
                nx, ny = line + vx * rest, cy + vy * rest
        ny, vy = reflect(ny, vy)
        if nx < 0 or nx > 1:
            scorer: Seat = "challenger" if nx < 0 else "host"
            score = {**state["score"], scorer: state["score"][scorer] + 1}
            state = self._new_point({**state, "score": score}, other(scorer))
            return state, [Event("point", {"scorer": scorer, "score": dict(score)})]
        return {**state, "ball": {"x": nx, "y": ny, "vx": vx, "vy": vy}}, []

    @staticmethod
    def _new_point(state: State, serve_to: Seat) -> State:
        return {**state, "ball": _centre_ball(), "serve_in": SERVE_DELAY, "serve_to": serve_to,
                "paddles": {seat: {**p, "y": 0.5} for seat, p in state["paddles"].items()}}

    def view(self, state: State, viewer: Seat | None) -> State:
        return {"tick": state["tick"], "ball": dict(state["ball"]),
                "paddles": {seat: dict(p) for seat, p in state["paddles"].items()},
                "score": dict(state["score"]), "target_score": state["target"],
                "serve_in": round(state["serve_in"], 3)}
