"""The end of a match, made exactly-once without transactions.

The decision (the result, with both new ratings computed from the ratings
before the match) is stored first, in the match document with
``phase: "ending"``.  Every step after it is idempotent, so the registry can
replay ``finish_ending`` at start-up after a crash at any point, and the
result is applied once.  Cancelling works the same way with
``phase: "cancelling"``.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from actors.games import Event, Game, Seat
from actors.match import elo
from actors.match.core import Draft, MatchCore
from actors.match.document import MatchDoc, players_of, seated, still_in
from actors.match.host import MatchStore
from actors.match.messages import CommandError
from store.timestamps import now
from store.views import completed_view

log = logging.getLogger("arena.match")


def fault_point(step: str) -> None:
    """Test hook: ``ARENA_CRASH_AT=<step>`` kills the process there (crash tests)."""
    if os.environ.get("ARENA_CRASH_AT") == step:
        log.warning("ARENA_CRASH_AT=%s: killing the process", step)
        os.kill(os.getpid(), signal.SIGKILL)


def defeat(doc: MatchDoc, loser: Seat) -> list[list[Seat]]:
    """The standings when ``loser`` resigns or forfeits a match of two."""
    return [[seat for seat in seated(doc) if seat != loser], [loser]]


def with_the_out(standings: list[list[Seat]], out: list[Seat]) -> list[list[Seat]]:
    """The final standings of a match some seats went out of: the game's
    standings of the seats still in, then those that went out, the last to go
    out placing highest."""
    if not out:
        return standings
    kept = [[seat for seat in place if seat not in out] for place in standings]
    return [place for place in kept if place] + [[seat] for seat in reversed(out)]


def decide_result(doc: MatchDoc, users: dict[str, dict[str, Any]], rules: Game,
                  standings: list[list[Seat]], reason: str, k: float) -> dict[str, Any]:
    """The completed match: the standings, the scores, and every player's
    rating before and after (``actors.match.elo``).  ``winner`` is the one
    alone in first place and ``loser`` the one alone in last, each ``None``
    when that place is shared (a draw).  Standings that do not name every
    seat of the match once raise ``ValueError`` (a bug in the game)."""
    seats = seated(doc)
    named = [seat for place in standings for seat in place]
    if sorted(named) != sorted(seats) or any(not place for place in standings):
        raise ValueError(f"standings {standings!r} do not place the seats {sorted(seats)}")
    score = rules.score(doc["state"])
    placed: list[tuple[int, Seat]] = []
    for place in standings:  # tied seats share a place, and the next place skips
        number = len(placed) + 1
        placed += [(number, seat) for seat in place]
    before = [int(users[seats[seat]]["elo"]) for _, seat in placed]
    after = elo.after_placings(before, [number for number, _ in placed], k)
    entries = [{"place": number, "seat": seat, "username": users[seats[seat]]["username"],
                "user_id": seats[seat], "score": int(score.get(seat, 0)),
                "elo_before_match": elo_before, "elo_after_match": elo_after}
               for (number, seat), elo_before, elo_after in zip(placed, before, after,
                                                                strict=True)]
    winner = entries[0] if len(standings[0]) == 1 else None
    loser = entries[-1] if len(standings[-1]) == 1 and len(standings) > 1 else None

    def side(name: str, entry: dict[str, Any] | None) -> dict[str, Any]:
        return {name: entry and entry["username"], f"{name}_id": entry and entry["user_id"],
                f"{name}_score": entry and entry["score"],
                f"{name}_elo_before_match": entry and entry["elo_before_match"],
                f"{name}_elo_after_match": entry and entry["elo_after_match"]}

    return {
        "id": int(doc["id"]), "game": doc["game"], **side("winner", winner),
        **side("loser", loser), "start_timestamp": doc["start_timestamp"],
        "completion_timestamp": now(), "reason": reason, "standings": entries,
    }


async def finish_ending(store: MatchStore, doc: MatchDoc) -> None:
    """Every step after the decision; each idempotent, so a replay completes it once."""
    result = doc.get("result")
    assert result is not None, "an ending document holds its result"
    match_id = int(doc["id"])
    await store.matches.store_completed(result)
    fault_point("completed_stored")
    players = [(entry["user_id"], entry["elo_after_match"], entry["elo_before_match"])
               for entry in result.get("standings") or []] or [
        (result[f"{side}_id"], result[f"{side}_elo_after_match"],
         result[f"{side}_elo_before_match"]) for side in ("winner", "loser")]  # before standings
    for n, (user_id, elo_after, elo_before) in enumerate(players):
        await store.users.finish_match(user_id, match_id, elo_after, elo_before)
        fault_point("winner_rated" if n == 0 else "loser_rated" if n == len(players) - 1
                    else "rated")
    for spectator in doc["spectator_ids"]:
        await store.users.release(spectator, match_id)
    fault_point("released")
    await remove_tickets(store, doc)
    await store.matches.remove(match_id)


async def finish_cancelling(store: MatchStore, doc: MatchDoc) -> None:
    match_id = int(doc["id"])
    for user_id in players_of(doc):
        await store.users.release(user_id, match_id)
    await remove_tickets(store, doc)
    await store.matches.remove(match_id)


async def remove_tickets(store: MatchStore, doc: MatchDoc) -> None:
    """A matchmade match's players' tickets go with it."""
    if doc.get("matchmade"):
        for user_id in seated(doc).values():
            await store.tickets.remove_for_match(user_id, int(doc["id"]))


class Ending:
    """How a live match ends (a result) or is called off (cancelled)."""

    __slots__ = ('core',)

    def __init__(self, core: MatchCore) -> None:
        self.core = core

    async def end(self, draft: Draft, standings: list[list[Seat]], reason: str) -> int:
        """Decide the result, store the decision, then finish it; the last seq."""
        core = self.core
        standings = with_the_out(standings, draft.doc.get("out") or [])
        try:
            result = decide_result(draft.doc, core.users, core.game, standings, reason,
                                   core.config.elo_k)
        except Exception:
            return await self.game_failed("score")
        draft.doc["phase"] = "ending"
        draft.doc["result"] = result
        draft.doc["seq"] = core.doc["seq"] + len(draft.events)  # seq of the events so far
        await self.record_decision(draft)
        fault_point("ending_recorded")
        await finish_ending(core.store, draft.doc)
        await core.claims.settle(core.emit)
        draft.events.append(Event("ended", {"result": completed_view(result)}))
        return self.close_out(draft)

    async def lose(self, draft: Draft, seats: list[Seat], reason: str) -> int:
        """``seats`` resigned, forfeited or ran out of time (``reason``).  In a
        match of two the other player wins at once.  In a match of three or
        more each goes *out* (``out``, an ``out`` event; it plays no more) and
        the match goes on, unless one seat is left in or the rules say it is
        over; the last seq."""
        core = self.core
        if len(draft.doc["seat_ids"]) == 2:
            return await self.end(draft, defeat(draft.doc, seats[0]), reason)
        if not any(seat in still_in(draft.doc) for seat in seats):
            return core.doc["seq"]  # out already
        turn_before = core.game.turn_number(draft.doc["state"])
        for seat in seats:
            user_id = still_in(draft.doc).get(seat)
            if user_id is None:
                continue
            draft.doc["out"] = [*(draft.doc.get("out") or []), seat]
            draft.events.append(Event("out", {"seat": seat, "user": core.member_view(user_id),
                                              "reason": reason}))
            try:
                draft.play(core.game.out(draft.doc["state"], seat, reason))
            except Exception:
                return await self.game_failed("out")
        left = list(still_in(draft.doc))
        if not left:
            return await self.cancel(draft)
        if len(left) == 1:
            return await self.end(draft, [left], reason)
        try:
            standings = core.game.standings(draft.doc["state"])
        except Exception:
            return await self.game_failed("standings")
        if standings is not None:
            return await self.end(draft, standings, "score")
        if core.game.turn_number(draft.doc["state"]) != turn_before:
            core.restart_turn_clock()
        return await core.commit(draft)

    async def game_failed(self, hook: str) -> int:
        """The game's ``hook`` raised where no sender can be told (a tick, the
        ending's score, a player dropping or returning, a restore): the match
        is cancelled with ``reason: "game_error"``, everyone is released and
        nobody is rated, so a game's bug never keeps a user in a match."""
        core = self.core
        log.exception("match %s: game %r failed in %s; cancelling the match", core.id,
                      core.doc["game"], hook)
        return await self.cancel(core.draft(), reason="game_error")

    async def cancel(self, draft: Draft, reason: str | None = None) -> int:
        core = self.core
        draft.doc["phase"] = "cancelling"
        draft.doc["seq"] = core.doc["seq"] + len(draft.events)
        await self.record_decision(draft)
        await finish_cancelling(core.store, draft.doc)
        await core.claims.settle(core.emit)
        draft.events.append(Event("cancelled", {"reason": reason} if reason else {}))
        return self.close_out(draft)

    async def record_decision(self, draft: Draft) -> None:
        """Store the decision in the match document, if this node still holds
        the match.  If another node has taken it over (this one was taken for
        dead), this actor stops where it stands: its sockets are closed with
        1012 and reconnect to the match's new home."""
        core = self.core
        if await core.store.matches.save(draft.doc):
            return
        log.warning("match %s: held by another node now; stopping here", core.id)
        core.stop(1012, "The match moved to another server")
        core.host.finished(core.id, core)
        raise CommandError("moved", "The match moved to another server; reconnect.")

    def close_out(self, draft: Draft) -> int:
        """Adopt the final state and send the last events; the actor's loop
        then closes the sockets with 4410."""
        core = self.core
        first_seq = core.doc["seq"] + 1
        draft.doc["seq"] = core.doc["seq"] + len(draft.events)
        core.doc = draft.doc
        core.broadcast(draft.events, first_seq)
        core.finish()
        return core.doc["seq"]
