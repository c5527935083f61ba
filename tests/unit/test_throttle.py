"""The failed-login throttle, with time passed in (no server, no database)."""

from __future__ import annotations

from handlers.security.throttle import ACCOUNT, ADDRESS, HELD, PAIR, LoginThrottle


def fail(throttle: LoginThrottle, times: int, account: str, address: str, now: float) -> None:
    """``times`` wrong passwords, one after another."""
    for _ in range(times):
        assert throttle.acquire(account, address, now) == 0
        throttle.decided(account, address, now, right=False)


def test_one_address_guessing_at_one_account_is_stopped_after_the_pairs_burst() -> None:
    throttle = LoginThrottle()
    fail(throttle, PAIR.burst, "marta", "10.0.0.1", 0.0)
    assert throttle.acquire("marta", "10.0.0.1", 0.0) == PAIR.refill
    assert throttle.acquire("Marta", "10.0.0.1", 0.0) == PAIR.refill  # any letter case
    assert throttle.acquire("marta", "10.0.0.1", PAIR.refill) == 0  # one more, later
    assert throttle.acquire("marta", "10.0.0.1", PAIR.refill) == HELD  # while it is checked
    throttle.decided("marta", "10.0.0.1", PAIR.refill, right=False)
    assert throttle.acquire("marta", "10.0.0.1", PAIR.refill) == PAIR.refill


def test_the_owner_from_another_address_is_not_locked_out_by_one_attacker() -> None:
    throttle = LoginThrottle()
    now = 0.0
    for _ in range(200):  # the attacker tries as fast as the throttle lets it
        wait = throttle.acquire("marta", "6.6.6.6", now)
        if wait == 0:
            throttle.decided("marta", "6.6.6.6", now, right=False)
        now += wait
    assert throttle.acquire("marta", "10.0.0.1", now) == 0
    # and the attacker's own pair opens again one refill after it stops
    assert throttle.acquire("marta", "6.6.6.6", now + PAIR.refill) == 0


def test_one_address_guessing_at_many_accounts_meets_the_address_bucket() -> None:
    throttle = LoginThrottle()
    for n in range(ADDRESS.burst):
        fail(throttle, 1, f"user{n}", "6.6.6.6", 0.0)
    assert throttle.acquire("someone-else", "6.6.6.6", 0.0) == ADDRESS.refill
    assert throttle.acquire("someone-else", "10.0.0.1", 0.0) == 0


def test_many_addresses_guessing_at_one_account_meet_the_account_bucket() -> None:
    throttle = LoginThrottle()
    for n in range(ACCOUNT.burst):
        fail(throttle, 1, "marta", f"10.1.{n // 250}.{n % 250}", 0.0)
    assert throttle.acquire("marta", "10.0.0.1", 0.0) == ACCOUNT.refill
    assert throttle.acquire("marta", "10.0.0.1", ACCOUNT.refill) == 0


def test_the_right_password_forgives_its_own_pair() -> None:
    throttle = LoginThrottle()
    fail(throttle, PAIR.burst - 1, "marta", "10.0.0.1", 0.0)
    assert throttle.acquire("marta", "10.0.0.1", 0.0) == 0
    throttle.decided("marta", "10.0.0.1", 0.0, right=True)
    fail(throttle, PAIR.burst, "marta", "10.0.0.1", 0.0)
    assert throttle.acquire("marta", "10.0.0.1", 0.0) > 0


def test_logging_in_often_with_the_right_password_is_never_throttled() -> None:
    throttle = LoginThrottle()
    for _ in range(1000):
        assert throttle.acquire("marta", "10.0.0.1", 0.0) == 0
        throttle.decided("marta", "10.0.0.1", 0.0, right=True)


def test_the_buckets_kept_are_bounded() -> None:
    throttle = LoginThrottle(max_buckets=30)
    for n in range(1000):
        throttle.acquire(f"user{n}", f"10.0.{n // 250}.{n % 250}", 0.0)
    assert len(throttle.buckets) <= 30


def test_attempts_in_flight_hold_others_back_instead_of_refusing_them() -> None:
    throttle = LoginThrottle()
    users = [f"user{n}" for n in range(ADDRESS.burst + 10)]  # many people, one address
    started = [u for u in users if throttle.acquire(u, "10.0.0.1", 0.0) == 0]
    assert len(started) == ADDRESS.burst
    waiting = users[ADDRESS.burst:]
    assert {throttle.acquire(u, "10.0.0.1", 0.0) for u in waiting} == {HELD}
    for user in started:  # the first ones had the right password
        throttle.decided(user, "10.0.0.1", 0.0, right=True)
    assert all(throttle.acquire(u, "10.0.0.1", 0.0) == 0 for u in waiting)


def test_held_attempts_are_refused_once_those_in_flight_fail() -> None:
    throttle = LoginThrottle()
    for _ in range(PAIR.burst):
        assert throttle.acquire("marta", "6.6.6.6", 0.0) == 0
    assert throttle.acquire("marta", "6.6.6.6", 0.0) == HELD
    for _ in range(PAIR.burst):
        throttle.decided("marta", "6.6.6.6", 0.0, right=False)
    assert throttle.acquire("marta", "6.6.6.6", 0.0) == PAIR.refill
    assert not throttle.held
