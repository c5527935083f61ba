"""A match's timers and its turn clock.

Every timer fires into the mailbox (a ``Timeout``), so a clock running out
is a command like any other and never touches the match beside one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.match.messages import Timeout
from store.timestamps import format_timestamp


class Timers:
    """The match's pending timers, one per (kind, key)."""

    __slots__ = ('handles', 'post')

    def __init__(self, post: Callable[[Timeout], None]) -> None:
        self.post = post
        self.handles: dict[tuple[str, Hashable], asyncio.TimerHandle] = {}

    def set(self, kind: str, key: Hashable, delay: float) -> None:
        """Post ``Timeout(kind, key)`` in ``delay`` seconds, replacing such a timer."""
        self.clear(kind, key)
        loop = asyncio.get_running_loop()
        self.handles[(kind, key)] = loop.call_later(delay, self.post, Timeout(kind, key))

    def clear(self, kind: str, key: Hashable) -> None:
        handle = self.handles.pop((kind, key), None)
        if handle is not None:
            handle.cancel()

    def pending(self, kind: str, key: Hashable = None) -> bool:
        return (kind, key) in self.handles

    def fired(self, timeout: Timeout) -> bool:
        """Take a timeout from the mailbox: whether it still counts (it was
        not cleared or replaced after it fired)."""
        return self.handles.pop((timeout.kind, timeout.key), None) is not None

    def cancel_all(self) -> None:
        for handle in self.handles.values():
            handle.cancel()
        self.handles.clear()


class TurnClock:
    """The time a player has for the turn in play (``turn_timeout``).

    The deadline is on ``time.monotonic`` (the loop's own clock is reached
    through ``get_running_loop``, a ``getpid`` system call on Python 3.11,
    and every round reads it).  Each round of rps restarts the clock, so a
    restart only moves the deadline; the ``turn`` timer already set stays, and when it fires before
    the deadline it is set again for the rest (one timer per ``seconds``
    instead of a cancel and a new timer per round).
    """

    __slots__ = ('changed', 'deadline', 'seconds', 'timers')

    def __init__(self, timers: Timers, seconds: float) -> None:
        self.timers = timers
        self.seconds = seconds
        self.deadline = 0.0  # loop time
        #: Restarted by the command being handled: its events carry the clock.
        self.changed = False

    def restart(self, *, shown: bool) -> None:
        """Give the turn in play the whole ``seconds`` from now (``shown``: the
        match is started, so the events being made show the new clock)."""
        self.changed = shown
        self.deadline = time.monotonic() + self.seconds
        if not self.timers.pending("turn"):
            self.timers.set("turn", None, self.seconds)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run_out(self) -> bool:
        """The ``turn`` timer fired: whether the turn is over (if not, the
        clock was restarted since, and the timer is set for the rest)."""
        left = self.left()
        if left > 0:
            self.timers.set("turn", None, left)
            return False
        return True

    def view(self) -> dict[str, Any]:
        """The clock as clients see it: the seconds left in the turn in play
        (``left``: a client counts down from when it got them, whatever its
        own clock says), when that is on the server's clock (``deadline``,
        ISO) and how long a turn is (``seconds``)."""
        left = max(0.0, self.left())
        return {"left": round(left, 3),
                "deadline": format_timestamp(datetime.now(UTC) + timedelta(seconds=left)),
                "seconds": self.seconds}
