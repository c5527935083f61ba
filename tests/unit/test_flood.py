"""A socket's frame budget and when a flood ends (``handlers.websocket.flood``)."""

from __future__ import annotations

from handlers.websocket.flood import WINDOW, FrameBudget, Verdict


def test_the_burst_passes_then_frames_are_refused() -> None:
    budget = FrameBudget(rate=20, burst=4, now=0.0)
    assert [budget.take(0.0) for _ in range(5)] == [Verdict.PASS] * 4 + [Verdict.REFUSE]
    assert budget.take(0.05) is Verdict.PASS  # one frame's worth refilled


def test_refusals_close_the_socket_though_frames_pass_between_them() -> None:
    budget = FrameBudget(rate=20, burst=4, now=0.0)
    verdicts = []
    moment = 0.0
    while Verdict.FLOOD not in verdicts:  # 100 frames a second, for ever
        verdicts.append(budget.take(moment))
        moment += 0.01
    assert verdicts.count(Verdict.REFUSE) == 2 * 4
    assert verdicts.count(Verdict.PASS) > 4  # some got through as it refilled
    assert moment < 1.0


def test_refusals_spread_wider_than_the_window_never_close() -> None:
    budget = FrameBudget(rate=1, burst=1, now=0.0)
    moment = 0.0
    for _ in range(100):  # each second: one frame passes, one is refused
        assert budget.take(moment) is Verdict.PASS
        assert budget.take(moment) is Verdict.REFUSE
        moment += WINDOW / 2
