"""How many frames a socket may send: a token bucket, and when a flood ends.

Each socket may send ``rate`` frames a second on average and ``burst`` at
once.  A frame over that budget is refused (the socket gets ``rate_limited``
and stays open); a socket whose refused frames within ``WINDOW`` seconds
outnumber twice the burst is flooding, and is closed (1008).  The refusals
are counted over the window, not since the last frame that got through, so
a client that floods steadily, with a frame passing now and then as the
bucket refills, is closed all the same.

Pure and synchronous; time comes in as an argument.
"""

from __future__ import annotations

from collections import deque
from enum import Enum

#: Seconds over which refused frames are counted.
WINDOW = 10.0


class Verdict(Enum):
    PASS = "pass"
    REFUSE = "refuse"
    FLOOD = "flood"


class FrameBudget:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.refilled = now
        #: when the refusals of the last ``WINDOW`` seconds happened (at most
        #: one more than a flood's worth is kept)
        self.refusals: deque[float] = deque(maxlen=2 * burst + 1)

    def take(self, now: float) -> Verdict:
        """Spend one frame of the budget at ``now``, or say why not."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return Verdict.PASS
        refusals = self.refusals
        refusals.append(now)
        while refusals and refusals[0] <= now - WINDOW:
            refusals.popleft()
        return Verdict.FLOOD if len(refusals) > 2 * self.burst else Verdict.REFUSE
