"""Elo for matches of two or more: every pair of players is scored as one game.

E = 1 / (1 + 10^((Rb - Ra) / 400)); S = 1 to the better place, 1/2 each for a
shared place, 0 to the worse.  A player's new rating is R + K / (n - 1) x
sum(S - E) over the n - 1 others, rounded once.  With two players this is
standard Elo: 1000 v 1000 with K 100 gives 1050 / 950, and a draw between
equals changes nothing.
"""

from __future__ import annotations

import math


def expected(rating: int, opponent: int) -> float:
    return 1.0 / (1.0 + math.pow(10.0, (opponent - rating) / 400.0))


def after_match(winner: int, loser: int, k: float) -> tuple[int, int]:
    """New ratings of the winner and the loser (1000 vs 1000 with K 100: 1050 / 950)."""
    return (round(winner + k * (1.0 - expected(winner, loser))),
            round(loser + k * (0.0 - expected(loser, winner))))


def after_placings(ratings: list[int], places: list[int], k: float) -> list[int]:
    """Each player's new rating, given everyone's rating before and place
    (1 is first; equal places tie)."""
    n = len(ratings)
    if n < 2:
        return list(ratings)
    after = []
    for i, (rating, place) in enumerate(zip(ratings, places, strict=True)):
        total = 0.0
        for j, (other, other_place) in enumerate(zip(ratings, places, strict=True)):
            if i != j:
                won = 1.0 if place < other_place else 0.5 if place == other_place else 0.0
                total += won - expected(rating, other)
        after.append(round(rating + k / (n - 1) * total))
    return after
