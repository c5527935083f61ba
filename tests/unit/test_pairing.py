"""The matchmaker's rules: windows, compatibility and who pairs with whom."""

from __future__ import annotations

import random

from actors.matchmaking.pairing import Waiting, Windows, compatible, groups, pairs

WINDOWS = Windows(start=100, widen=50, every=5.0)


def ticket(key: str, elo: int, queued_at: float = 0.0, game: str = "rps",
           target: int = 5) -> Waiting:
    return Waiting(key, game, target, elo, queued_at)


def keys(made: list[tuple[Waiting, Waiting]]) -> list[tuple[str, str]]:
    return [(host.key, challenger.key) for host, challenger in made]


def test_a_window_starts_at_100_and_widens_by_50_every_5_seconds() -> None:
    assert [WINDOWS.at(s) for s in (0, 4.99, 5, 9.99, 10, 20)] == [100, 100, 150, 150, 200, 300]
    assert WINDOWS.at(-3) == 100  # a clock a little behind another node's
    assert Windows(start=10, widen=0, every=1).at(100) == 10


def test_1000_and_1090_pair_at_once() -> None:
    assert keys(pairs([ticket("a", 1000, 0), ticket("b", 1090, 0.5)], WINDOWS, 0.5)) == [
        ("a", "b")]


def test_1000_and_1300_pair_only_once_both_windows_reach_300() -> None:
    tickets = [ticket("a", 1000, 0.0), ticket("b", 1300, 1.0)]
    for at in (0.0, 5.0, 15.0, 20.9):  # b has waited under 20 s: its window is below 300
        assert pairs(tickets, WINDOWS, at) == [], at
    assert keys(pairs(tickets, WINDOWS, 21.0)) == [("a", "b")]


def test_the_smaller_window_decides() -> None:
    old, new = ticket("old", 1000, 0.0), ticket("new", 1150, 60.0)  # old's window: 700
    assert not compatible(old, new, WINDOWS, 60.0)
    assert compatible(old, new, WINDOWS, 65.0)  # new's window is 150 now


def test_only_the_same_game_and_target_pair() -> None:
    tickets = [ticket("a", 1000), ticket("b", 1000, game="connect4"),
               ticket("c", 1000, target=3)]
    assert pairs(tickets, WINDOWS, 0.0) == []


def test_the_closest_elo_wins() -> None:
    tickets = [ticket("a", 1000, 0), ticket("far", 1080, 1), ticket("near", 1020, 2),
               ticket("below", 960, 3)]
    # far and below are 120 apart: too far for each other's windows
    assert keys(pairs(tickets, WINDOWS, 3)) == [("a", "near")]


def test_a_tie_goes_to_the_ticket_that_waited_longer() -> None:
    for above_first in (True, False):
        above = ticket("above", 1050, 1.0 if above_first else 2.0)
        below = ticket("below", 950, 2.0 if above_first else 1.0)
        made = keys(pairs([ticket("a", 1000, 0.0), above, below], WINDOWS, 3.0))
        assert made == [("a", "above" if above_first else "below")]


def test_the_ticket_that_waited_longer_hosts() -> None:
    assert keys(pairs([ticket("young", 1000, 5.0), ticket("old", 1010, 1.0)], WINDOWS, 5.0)) \
        == [("old", "young")]


def test_the_older_tickets_choose_first() -> None:
    # "mid" is the closest for both; the older of the two gets it
    tickets = [ticket("low", 950, 0.0), ticket("mid", 1000, 2.0), ticket("high", 1040, 1.0)]
    assert keys(pairs(tickets, WINDOWS, 3.0)) == [("low", "mid")]


def test_a_narrow_window_on_the_near_side_lets_a_farther_ticket_in() -> None:
    # "near" (new, window 100) is 120 away: too far for it; "far" (old, window 300) is
    # 200 away and within both windows
    tickets = [ticket("a", 1000, 0.0), ticket("near", 1120, 20.0), ticket("far", 800, 0.0)]
    assert keys(pairs(tickets, WINDOWS, 20.0)) == [("a", "far")]


def test_many_equal_elos_pair_two_by_two_in_queue_order() -> None:
    tickets = [ticket(f"t{i:03}", 1000, float(i)) for i in range(100)]
    made = keys(pairs(tickets, WINDOWS, 100.0))
    assert made == [(f"t{i:03}", f"t{i + 1:03}") for i in range(0, 100, 2)]


def test_random_queues_pair_each_ticket_once_and_leave_no_compatible_pair() -> None:
    rng = random.Random(7)
    for _ in range(200):
        at = 60.0
        tickets = [Waiting(f"u{i}", rng.choice(("rps", "pong")), rng.choice((3, 5)),
                           int(rng.gauss(1000, 250)), rng.uniform(0, at))
                   for i in range(rng.randint(0, 40))]
        made = pairs(tickets, WINDOWS, at)
        paired = [t.key for pair in made for t in pair]
        assert len(paired) == len(set(paired))
        for host, challenger in made:
            assert compatible(host, challenger, WINDOWS, at)
            assert (host.queued_at, host.key) < (challenger.queued_at, challenger.key)
        left = [t for t in tickets if t.key not in set(paired)]
        assert not any(compatible(a, b, WINDOWS, at)
                       for i, a in enumerate(left) for b in left[i + 1:])


def test_groups_of_n_take_the_closest_elos_that_fit_every_window() -> None:
    def waiting(key: str, elo: int, at: float, players: int) -> Waiting:
        return Waiting(key, "cycles", 3, elo, at, "{}", players)

    tickets = [waiting("old", 1000, 0, 3), waiting("far", 1150, 1, 3),
               waiting("near", 1040, 2, 3), waiting("pair", 1010, 3, 2),
               waiting("mid", 1090, 4, 3)]
    made = groups(tickets, WINDOWS, 4.0)
    # far is 150 away from old: outside the 100 window; the pair ticket queues for two
    assert [[t.key for t in group] for group in made] == [["old", "near", "mid"]]
    assert groups(tickets[:2], WINDOWS, 4.0) == []  # too few for a match of three
    # windows widen: at 10 s "far" fits within 200 of the group's lowest
    spread = [waiting("a", 1000, 0, 4), waiting("b", 1190, 0, 4), waiting("c", 1100, 0, 4),
              waiting("d", 1060, 0, 4)]
    assert groups(spread, WINDOWS, 5.0) == []
    assert [[t.key for t in g] for g in groups(spread, WINDOWS, 10.0)] == [["a", "b", "c", "d"]]
