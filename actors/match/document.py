"""The ongoing match document: the one shape a live match has in memory, in
its journal and in ``ongoing_matches``, and the one place that builds it."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

from store.matches import match_key
from store.timestamps import now

#: ``live`` while played or waited for; ``ending``/``cancelling`` once the
#: decision is stored and its steps are being applied (``actors.match.ending``).
Phase = Literal["live", "ending", "cancelling"]


class MatchDoc(TypedDict):
    """A live match.  ``seq`` is the number of the last event clients were
    sent; ``state`` is the game's own (``actors.games``); ``owner`` names the
    node that runs its actor (``actors.cluster``)."""

    _id: str
    id: int
    game: str
    target_score: int
    host_id: str
    challenger_id: str | None
    spectator_ids: list[str]
    creation_timestamp: str
    start_timestamp: str | None
    is_started: bool
    is_challenger_ready: bool
    #: Made by the matchmaker: both players seated, it starts by itself.
    matchmade: NotRequired[bool]
    state: dict[str, Any]
    #: The game's options for this match, checked and completed (``actors.games.options``).
    options: NotRequired[dict[str, Any]]
    seq: int
    phase: NotRequired[Phase]
    owner: NotRequired[str]
    #: Which holding by ``owner`` this is (``MatchRepository.take``).
    tenure: NotRequired[str]
    #: Set by an owner that has not loaded the game (``actors.match.dormant``).
    dormant: NotRequired[bool]
    #: The completed match, once decided (``phase: "ending"``).
    result: NotRequired[dict[str, Any]]


def new_match(match_id: int, game: str, target_score: int, host_id: str,
              challenger_id: str | None, state: dict[str, Any], owner: str,
              options: dict[str, Any] | None = None) -> MatchDoc:
    """A match just created: by a host alone, or by the matchmaker with its
    challenger seated and ready."""
    return {
        "_id": match_key(match_id), "id": match_id, "game": game,
        "target_score": target_score, "host_id": host_id, "challenger_id": challenger_id,
        "spectator_ids": [], "creation_timestamp": now(), "start_timestamp": None,
        "is_started": False, "is_challenger_ready": challenger_id is not None,
        "matchmade": challenger_id is not None, "state": state, "options": options or {},
        "seq": 0,
        "phase": "live", "owner": owner,
    }


def phase_of(doc: MatchDoc) -> Phase:
    """The document's phase (documents from before phases were stored are live)."""
    return doc.get("phase", "live")


def players_of(doc: MatchDoc) -> list[str]:
    """The ids of everyone in the match: the players, then the spectators."""
    return [doc["host_id"], *filter(None, [doc["challenger_id"]]), *doc["spectator_ids"]]


def stored(raw: dict[str, Any]) -> MatchDoc:
    """A match document read back from ``ongoing_matches`` or the journal."""
    return cast(MatchDoc, raw)
