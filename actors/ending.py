"""The end of a match, made exactly-once without transactions.

The decision (the result, with both new ratings computed from the ratings
before the match) is stored first, in the match document with
``phase: "ending"``.  Every step after it is idempotent, so the registry can
replay ``finish_ending`` at start-up after a crash at any point, and the
result is applied once.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from actors import elo
from actors.games import Game, Seat, other
from store.timestamps import now

log = logging.getLogger("arena.match")


def fault_point(step: str) -> None:
    """Test hook: ``ARENA_CRASH_AT=<step>`` kills the process there (crash tests)."""
    if os.environ.get("ARENA_CRASH_AT") == step:
        log.warning("ARENA_CRASH_AT=%s: killing the process", step)
        os.kill(os.getpid(), signal.SIGKILL)


def decide_result(doc: dict[str, Any], users: dict[str, dict[str, Any]], rules: Game,
                  winner: Seat, reason: str, k: float) -> dict[str, Any]:
    """The completed match: who won, the scores, and the ratings before and after."""
    winner_id = doc["host_id"] if winner == "host" else doc["challenger_id"]
    loser_id = doc["challenger_id"] if winner == "host" else doc["host_id"]
    winner_before = int(users[winner_id]["elo"])
    loser_before = int(users[loser_id]["elo"])
    winner_after, loser_after = elo.after_match(winner_before, loser_before, k)
    score = rules.score(doc["state"])
    return {
        "id": int(doc["id"]), "game": doc["game"],
        "winner": users[winner_id]["username"], "loser": users[loser_id]["username"],
        "winner_id": winner_id, "loser_id": loser_id,
        "start_timestamp": doc["start_timestamp"], "completion_timestamp": now(),
        "winner_score": score[winner], "loser_score": score[other(winner)],
        "winner_elo_before_match": winner_before, "loser_elo_before_match": loser_before,
        "winner_elo_after_match": winner_after, "loser_elo_after_match": loser_after,
        "reason": reason,
    }


async def finish_ending(store: Any, doc: dict[str, Any]) -> None:
    """Every step after the decision; each idempotent, so a replay completes it once."""
    result = doc["result"]
    match_id = int(doc["id"])
    await store.matches.store_completed(result)
    fault_point("completed_stored")
    await store.users.finish_match(result["winner_id"], match_id,
                                   result["winner_elo_after_match"],
                                   result["winner_elo_before_match"])
    fault_point("winner_rated")
    await store.users.finish_match(result["loser_id"], match_id, result["loser_elo_after_match"],
                                   result["loser_elo_before_match"])
    fault_point("loser_rated")
    for spectator in doc["spectator_ids"]:
        await store.users.release(spectator, match_id)
    fault_point("released")
    await remove_tickets(store, doc)
    await store.matches.remove(match_id)


async def finish_cancelling(store: Any, doc: dict[str, Any]) -> None:
    match_id = int(doc["id"])
    for user_id in filter(None, [doc["host_id"], doc["challenger_id"], *doc["spectator_ids"]]):
        await store.users.release(user_id, match_id)
    await remove_tickets(store, doc)
    await store.matches.remove(match_id)


async def remove_tickets(store: Any, doc: dict[str, Any]) -> None:
    """A matchmade match's players' tickets go with it."""
    if doc.get("matchmade"):
        for user_id in (doc["host_id"], doc["challenger_id"]):
            await store.tickets.remove_for_match(user_id, int(doc["id"]))
