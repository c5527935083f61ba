"""Standard Elo: E = 1 / (1 + 10^((Rb - Ra) / 400)), R' = R + K (S - E), rounded."""

from __future__ import annotations

import math


def expected(rating: int, opponent: int) -> float:
    return 1.0 / (1.0 + math.pow(10.0, (opponent - rating) / 400.0))


def after_match(winner: int, loser: int, k: float) -> tuple[int, int]:
    """New ratings of the winner and the loser (1000 vs 1000 with K 100: 1050 / 950)."""
    return (round(winner + k * (1.0 - expected(winner, loser))),
            round(loser + k * (0.0 - expected(loser, winner))))
