"""One clock for every realtime match of the process at one tick rate.

A ticker holds one timer, however many matches it drives: at each tick it
calls ``post_tick`` on every member (the actor then finds a ``Tick`` in its
mailbox, so a tick is handled like any other command, never beside one).
Ticks are due at fixed times (``start + n * period``), so they do not drift;
a loop that falls more than a period behind skips the ticks it missed
instead of firing them in a burst.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Tickable(Protocol):
    def post_tick(self) -> None: ...


class Ticker:
    def __init__(self, rate: float) -> None:
        self.period = 1.0 / rate
        self.members: dict[int, Tickable] = {}  # by id(): actors hash by identity anyway
        self.handle: asyncio.TimerHandle | None = None
        self.due = 0.0

    def add(self, member: Tickable) -> None:
        self.members[id(member)] = member
        if self.handle is None:
            loop = asyncio.get_running_loop()
            self.due = loop.time() + self.period
            self.handle = loop.call_at(self.due, self.fire)

    def discard(self, member: Tickable) -> None:
        self.members.pop(id(member), None)
        if not self.members and self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def fire(self) -> None:
        for member in list(self.members.values()):
            member.post_tick()
        loop = asyncio.get_running_loop()
        self.due += self.period
        now = loop.time()
        if self.due < now - self.period:
            self.due = now  # behind by more than a tick: skip, do not burst
        self.handle = loop.call_at(self.due, self.fire)
