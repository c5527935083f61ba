"""The ongoing match document: the one shape a live match has in memory, in
its journal and in ``ongoing_matches``, and the one place that builds it."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

from actors.games import Seat, seat_names
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
    #: The host's id, which is also ``seat_ids[0]`` (it never changes).
    host_id: str
    #: Who sits in each seat, in the order of ``seat_names`` (``None``: free);
    #: as many as the match has seats, fixed at creation.
    seat_ids: list[str | None]
    #: Whether each seat's player is ready (the host always is).
    ready: list[bool]
    spectator_ids: list[str]
    creation_timestamp: str
    start_timestamp: str | None
    is_started: bool
    #: The seats that went out (matches of three or more), first out first.
    out: NotRequired[list[Seat]]
    #: Made by the matchmaker: every player seated, it starts by itself.
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


def new_match(match_id: int, game: str, target_score: int, seat_ids: list[str | None],
              state: dict[str, Any], owner: str, options: dict[str, Any] | None = None,
              *, matchmade: bool = False) -> MatchDoc:
    """A match just created: by a host alone (``seat_ids``: the host, then a
    free seat each), or by the matchmaker with every seat taken and ready."""
    assert seat_ids[0] is not None, "the host sits in the first seat"
    return {
        "_id": match_key(match_id), "id": match_id, "game": game,
        "target_score": target_score, "host_id": seat_ids[0], "seat_ids": seat_ids,
        "ready": [True, *(matchmade for _ in seat_ids[1:])],
        "spectator_ids": [], "creation_timestamp": now(), "start_timestamp": None,
        "is_started": False, "matchmade": matchmade, "state": state,
        "options": options or {}, "seq": 0, "phase": "live", "owner": owner,
    }


def seats_of(doc: MatchDoc) -> tuple[Seat, ...]:
    """The match's seats, in order."""
    return seat_names(len(doc["seat_ids"]))


def sit(doc: MatchDoc, seat: Seat, user_id: str | None, *, ready: bool = False) -> None:
    """Put ``user_id`` in ``seat`` (``None``: free it), with its readiness.
    The lists are replaced, never changed in place: the adopted document
    shares them with a draft, and the roster keeps its seat map while
    ``seat_ids`` is the same list."""
    index = seats_of(doc).index(seat)
    doc["seat_ids"] = [*doc["seat_ids"]]
    doc["seat_ids"][index] = user_id
    doc["ready"] = [*doc["ready"]]
    doc["ready"][index] = ready


def seated(doc: MatchDoc) -> dict[Seat, str]:
    """The seated players' ids, by seat, in seat order."""
    return {seat: user_id for seat, user_id in zip(seats_of(doc), doc["seat_ids"], strict=True)
            if user_id is not None}


def still_in(doc: MatchDoc) -> dict[Seat, str]:
    """The seated players who have not gone out, by seat."""
    out = doc.get("out") or ()
    return {seat: user_id for seat, user_id in seated(doc).items() if seat not in out}


def is_full(doc: MatchDoc) -> bool:
    return None not in doc["seat_ids"]


def all_ready(doc: MatchDoc) -> bool:
    """Every seat taken and every player ready: the host may start."""
    return is_full(doc) and all(doc["ready"])


def phase_of(doc: MatchDoc) -> Phase:
    """The document's phase (documents from before phases were stored are live)."""
    return doc.get("phase", "live")


def players_of(doc: MatchDoc) -> list[str]:
    """The ids of everyone in the match: the players, then the spectators."""
    return [*filter(None, doc["seat_ids"]), *doc["spectator_ids"]]


def stored(raw: dict[str, Any]) -> MatchDoc:
    """A match document read back from ``ongoing_matches`` or the journal;
    one stored before matches had more than two seats is brought up to date."""
    if "seat_ids" not in raw:
        upgraded = {key: value for key, value in raw.items()
                    if key not in ("challenger_id", "is_challenger_ready")}
        upgraded["seat_ids"] = [raw["host_id"], raw.get("challenger_id")]
        upgraded["ready"] = [True, bool(raw.get("is_challenger_ready"))]
        raw = upgraded
    return cast(MatchDoc, raw)
