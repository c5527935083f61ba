"""Rock-paper-scissors: both throw each round, in any order; first to the target wins.

Until both have thrown, nobody but the thrower learns what was thrown: the
view shows only *that* a seat has thrown.
"""

from __future__ import annotations

from typing import Any

from actors.games.base import SEATS, Event, Game, IllegalMove, Outcome, Seat, Setup, State

THROWS = ("rock", "paper", "scissors")
BEATS = {"rock": "scissors", "paper": "rock", "scissors": "paper"}


class RockPaperScissors(Game):
    name = "rps"
    default_target = 5
    turn_clock = True

    def create(self, setup: Setup) -> State:
        return {"target": setup.target, "round": 1, "score": {"host": 0, "challenger": 0},
                "throws": {"host": None, "challenger": None}, "last_round": None}

    def apply(self, state: State, seat: Seat, move: Any) -> Outcome:
        throw = move.get("throw") if isinstance(move, dict) else None
        if throw not in THROWS:
            raise IllegalMove("illegal_move", 'A move is {"throw": "rock" | "paper" | "scissors"}.')
        if state["throws"][seat] is not None:
            raise IllegalMove("illegal_move", "You have already thrown this round.")
        throws = {**state["throws"], seat: throw}
        if any(throws[s] is None for s in SEATS):
            return {**state, "throws": throws}, [Event("moved", {"seat": seat})]
        host, challenger = throws["host"], throws["challenger"]
        winner: Seat | None = None
        if BEATS[host] == challenger:
            winner = "host"
        elif BEATS[challenger] == host:
            winner = "challenger"
        score = dict(state["score"])
        if winner is not None:
            score[winner] += 1
        finished = {"round": state["round"], "throws": throws, "winner": winner}
        next_state = {**state, "round": state["round"] + 1, "score": score,
                      "throws": {"host": None, "challenger": None}, "last_round": finished}
        return next_state, [Event("round_over", {**finished, "score": score})]

    def view(self, state: State, viewer: Seat | None) -> State:
        return {
            "round": state["round"],
            "target_score": state["target"],
            "score": dict(state["score"]),
            "thrown": {seat: state["throws"][seat] is not None for seat in SEATS},
            "your_throw": state["throws"][viewer] if viewer is not None else None,
            "last_round": state["last_round"],
        }

    def owing(self, state: State) -> list[Seat]:
        return [seat for seat in SEATS if state["throws"][seat] is None]

    def turn_number(self, state: State) -> int:
        return int(state["round"])
