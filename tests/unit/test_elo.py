"""Elo, pure: the seed's example, K, rounding, symmetry."""

from __future__ import annotations

import pytest

from actors.match import elo


def test_the_seeds_example_1000_beats_1000_with_k_100() -> None:
    assert elo.after_match(1000, 1000, 100) == (1050, 950)


@pytest.mark.parametrize("k", [10, 32, 100])
def test_k_scales_the_change(k: float) -> None:
    winner, loser = elo.after_match(1200, 1200, k)
    assert winner - 1200 == round(k / 2) and 1200 - loser == round(k / 2)


def test_the_expected_scores_of_two_players_sum_to_one() -> None:
    for a, b in ((1000, 1000), (1400, 1000), (800, 2000)):
        assert elo.expected(a, b) + elo.expected(b, a) == pytest.approx(1.0)
    assert elo.expected(1400, 1000) == pytest.approx(1 / (1 + 10 ** -1))


def test_an_upset_moves_more_than_an_expected_win() -> None:
    favourite_wins = elo.after_match(1400, 1000, 100)
    upset = elo.after_match(1000, 1400, 100)
    assert favourite_wins == (1409, 991)  # 100 * (1 - 0.909) = 9.1, rounded
    assert upset == (1091, 1309)


def test_ratings_are_rounded_to_the_nearest_integer() -> None:
    winner, loser = elo.after_match(1013, 987, 100)
    expected = elo.expected(1013, 987)
    assert winner == round(1013 + 100 * (1 - expected))
    assert loser == round(987 - 100 * (1 - expected))
    assert isinstance(winner, int) and isinstance(loser, int)


def test_two_placings_are_the_two_player_rule() -> None:
    for a, b, k in ((1000, 1000, 100), (1400, 1000, 100), (1000, 1400, 32), (1234, 987, 24)):
        assert elo.after_placings([a, b], [1, 2], k) == list(elo.after_match(a, b, k))


def test_a_draw_between_equals_changes_nothing_and_moves_unequals_together() -> None:
    assert elo.after_placings([1000, 1000], [1, 1], 100) == [1000, 1000]
    stronger, weaker = elo.after_placings([1400, 1000], [1, 1], 100)
    assert stronger < 1400 and weaker > 1000 and stronger - 1400 == 1000 - weaker


def test_a_match_of_four_scores_every_pair_as_one_game() -> None:
    ratings, places, k = [1000, 1100, 1200, 900], [1, 2, 2, 4], 60
    after = elo.after_placings(ratings, places, k)
    for i, (rating, place) in enumerate(zip(ratings, places, strict=True)):
        total = sum((1.0 if place < places[j] else 0.5 if place == places[j] else 0.0)
                    - 1 / (1 + 10 ** ((ratings[j] - rating) / 400))
                    for j in range(4) if j != i)
        assert after[i] == round(rating + k / 3 * total)
    assert after[0] > 1000 and after[3] < 900  # first gains, last loses
    assert abs(sum(after) - sum(ratings)) <= 2  # zero-sum but for rounding
