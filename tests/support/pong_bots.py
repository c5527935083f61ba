"""Pong players for the tests and the benchmark: one follows the ball, one parks."""

from __future__ import annotations

from typing import Any

from tests.support.ws import Peer

#: How far off its target the follower's paddle may be before it moves.
DEADBAND = 0.02
#: Where on its paddle the follower takes the ball: this far off centre, on
#: the side that sends it away from the opponent's paddle (a centred hit
#: returns it flat, and a flat ball can rally with a parked paddle for ever).
AIM = 0.05


def steer(state: dict[str, Any], seat: str) -> str:
    """The direction that brings ``seat``'s paddle to where it meets the ball
    ``AIM`` off centre, angled away from the opponent."""
    paddles = state["paddles"]
    opponent = "challenger" if seat == "host" else "host"
    aim = AIM if paddles[opponent]["y"] < 0.5 else -AIM  # a positive offset sends it down
    target, paddle = state["ball"]["y"] - aim, paddles[seat]["y"]
    if target > paddle + DEADBAND:
        return "down"
    if target < paddle - DEADBAND:
        return "up"
    return "stop"


async def follow(peer: Peer, seat: str, timeout: float = 10.0) -> dict[str, Any] | None:
    """Play ``seat`` by following the ball (sending only changes of direction)
    until the match ends; the ``ended`` event, or ``None`` if the socket closed."""
    direction = "stop"
    while True:
        frame = await peer.read(timeout)
        if frame is None:
            return None
        if frame["type"] == "event" and frame["kind"] == "ended":
            return frame
        if frame["type"] == "state":
            wanted = steer(frame["state"], seat)
            if wanted != direction:
                peer.send({"type": "move", "move": {"paddle": wanted}})
                direction = wanted


async def park(peer: Peer, timeout: float = 10.0) -> dict[str, Any] | None:
    """Move the paddle to the top once and leave it there until the match ends."""
    peer.send({"type": "move", "move": {"paddle": "up"}})
    while True:
        frame = await peer.read(timeout)
        if frame is None or (frame["type"] == "event" and frame["kind"] == "ended"):
            return frame
