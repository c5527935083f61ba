"""Cycles' rules, tick by tick: moving, turning, crashing, rounds, the end."""

from __future__ import annotations

from actors.games import Setup
from actors.games.cycles import Cycles, starts

GAME = Cycles()
FOUR = ("host", "challenger", "p3", "p4")


def ready(size: int = 8, seats: tuple[str, ...] = ("host", "challenger"),
          target: int = 2) -> dict:
    """A new match whose cycles move on the next tick."""
    state = GAME.create(Setup.make(target, seats=seats, options={"size": size}))
    return {**state, "start_in": 0}


def run(state: dict, ticks: int) -> tuple[dict, list]:
    events: list = []
    for _ in range(ticks):
        state, happened = GAME.tick(state, 0.1)
        events += happened
    return state, events


def turn(state: dict, seat: str, direction: str) -> dict:
    state, events = GAME.apply(state, seat, {"turn": direction})
    assert events == []
    return state


def test_cycles_wait_out_the_start_then_move_a_cell_a_tick_leaving_a_trail() -> None:
    state = GAME.create(Setup.make(2, options={"size": 8}))
    waited, _ = run(state, state["start_in"])
    assert waited["cycles"] == state["cycles"]  # nobody moved during the countdown
    moved, events = run(waited, 2)
    assert events == []
    host = moved["cycles"]["host"]
    x, y, _ = starts(8, 2)[0]
    assert (host["x"], host["y"]) == (x + 2, y)
    assert moved["grid"][y * 8 + x: y * 8 + x + 3] == "000"


def test_turning_back_onto_itself_is_ignored_and_a_turn_takes_the_next_step() -> None:
    state = turn(ready(), "host", "left")  # the host faces right: ignored
    state, _ = run(state, 1)
    assert state["cycles"]["host"]["dir"] == "right"
    state, _ = run(turn(state, "host", "up"), 1)
    host = state["cycles"]["host"]
    assert (host["dir"], host["y"]) == ("up", starts(8, 2)[0][1] - 1)


def test_a_cycle_that_reaches_the_wall_crashes_and_the_last_riding_scores() -> None:
    # size 8: the host starts on row 4 (4 cells below the top wall), the
    # challenger on row 4 too (3 cells above the bottom): down, it hits first
    state = turn(turn(ready(), "host", "up"), "challenger", "down")
    state, events = run(state, 3)
    assert events == []
    state, events = run(state, 1)
    assert [(e.kind, e.fields.get("seat"), e.fields.get("winner")) for e in events] == [
        ("crashed", "challenger", None), ("round_over", None, "host")]
    assert state["score"] == {"host": 1, "challenger": 0} and state["round"] == 2
    assert state["start_in"] > 0 and all(c["riding"] for c in state["cycles"].values())


def test_a_cycle_that_runs_into_a_trail_crashes() -> None:
    state, _ = run(ready(size=16), 1)  # the host from (2, 8) to (3, 8), heading right
    for direction in ("down", "left", "up"):  # (3, 9), (2, 9), then its own trail at (2, 8)
        state, events = run(turn(state, "host", direction), 1)
    assert [(e.kind, e.fields.get("seat"), e.fields.get("winner")) for e in events] == [
        ("crashed", "host", None), ("round_over", None, "challenger")]
    assert state["score"] == {"host": 0, "challenger": 1}


def test_two_cycles_reaching_one_cell_both_crash_and_nobody_scores() -> None:
    state = ready(size=9)  # from (1, 4) and (7, 4): both reach (4, 4) on the third tick
    state, events = run(state, 2)
    assert events == []
    state, events = run(state, 1)
    assert sorted(e.fields["seat"] for e in events if e.kind == "crashed") == [
        "challenger", "host"]
    assert events[-1].kind == "round_over" and events[-1].fields["winner"] is None
    assert state["score"] == {"host": 0, "challenger": 0} and state["round"] == 2


def test_four_riders_start_apart_and_the_last_one_riding_scores() -> None:
    state = ready(size=8, seats=FOUR)
    assert sorted((c["x"], c["y"]) for c in state["cycles"].values()) == sorted(
        (x, y) for x, y, _ in starts(8, 4))
    # p3 (down from the top) and p4 (up from the bottom) meet head on in the
    # middle column; the host turns up and the challenger down, into the walls
    state = turn(turn(state, "host", "up"), "challenger", "down")
    state, events = run(state, 3)
    assert sorted(e.fields["seat"] for e in events) == ["p3", "p4"]  # the round goes on
    state, events = run(state, 1)
    assert [(e.kind, e.fields.get("seat"), e.fields.get("winner")) for e in events] == [
        ("crashed", "challenger", None), ("round_over", None, "host")]
    assert state["score"] == {"host": 1, "challenger": 0, "p3": 0, "p4": 0}


def test_the_first_to_the_target_ends_the_match() -> None:
    state = turn(turn(ready(target=1), "host", "up"), "challenger", "down")
    state, events = run(state, 4)
    assert events[-1].fields["winner"] == "host"
    assert GAME.standings(state) == [["host"], ["challenger"]]
    assert GAME.standings(ready()) is None


def test_a_rider_who_goes_out_stops_and_rides_no_more_rounds() -> None:
    state = ready(size=16, seats=("host", "challenger", "p3"), target=3)
    state, events = GAME.out(state, "p3", "resign")
    assert events == [] and not state["cycles"]["p3"]["riding"]
    state, _ = run(state, 1)
    assert state["cycles"]["host"]["riding"] and state["cycles"]["challenger"]["riding"]
    # the challenger goes out too: the host, the last one riding, scores the round
    state, _ = GAME.out(state, "challenger", "forfeit")
    state, events = run(state, 1)
    assert [(e.kind, e.fields.get("winner")) for e in events] == [("round_over", "host")]
    assert state["round"] == 2 and state["score"]["host"] == 1
    riding = {seat for seat, cycle in state["cycles"].items() if cycle["riding"]}
    assert riding == {"host"}  # the next round sets out only the riders still in
    assert state["grid"].count("0") == 1 and state["grid"].count("2") == 0
