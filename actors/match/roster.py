"""Who is who in a match, and the match as the REST API shows it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.games import Seat, State
from actors.match.document import MatchDoc, all_ready, seats_of
from store.views import user_view

#: A role as the REST API codes it: every player but the host is a challenger.
ROLE_CODES = {"host": "H", "challenger": "C", "spectator": "S"}


class Roster:
    """The participants' user documents, by id, and the views made of them.

    A snapshot shows every spectator and most of them do not change, so a
    user's view is kept while their document and role are the same objects;
    and a large spectator list is looked up through a set kept while the list
    is the same object (a command replaces the list, never changes it).
    """

    __slots__ = ('_seats', '_spectators', '_views', 'match_id', 'score', 'users')

    def __init__(self, match_id: int, score: Callable[[State], dict[str, int]],
                 users: dict[str, dict[str, Any]]) -> None:
        self.match_id = match_id
        #: The game's ``score`` (a dormant match, whose game is not loaded,
        #: shows the score its state holds).
        self.score = score
        self.users = users
        self._spectators: tuple[list[str] | None, frozenset[str]] = (None, frozenset())
        #: The seats by player id, and every kind of viewer (each seat, then
        #: ``None``), kept while ``seat_ids`` is the same list.
        self._seats: tuple[list[str | None] | None, dict[str, Seat],
                           tuple[Seat | None, ...]] = (None, {}, ())
        #: user id -> (the user document it was made from, role, view)
        self._views: dict[str, tuple[dict[str, Any], str | None, dict[str, Any]]] = {}

    def role_of(self, doc: MatchDoc, user_id: str) -> str | None:
        """``host``, ``challenger`` (any other player), ``spectator`` or ``None``."""
        if user_id == doc["host_id"]:
            return "host"
        if user_id in self.seat_map(doc):
            return "challenger"
        if user_id in self.spectator_set(doc["spectator_ids"]):
            return "spectator"
        return None

    def seat_of(self, doc: MatchDoc, user_id: str) -> Seat | None:
        """The user's seat, if they are a player."""
        return self.seat_map(doc).get(user_id)

    def seat_map(self, doc: MatchDoc) -> dict[str, Seat]:
        """The players' seats by user id."""
        return self.seating(doc)[0]

    def seating(self, doc: MatchDoc) -> tuple[dict[str, Seat], tuple[Seat | None, ...]]:
        """The players' seats by user id, and the kinds of viewer a broadcast
        encodes for: ``None`` (anyone), then each seat.  A command replaces
        ``seat_ids``, never changes it, so both are kept while the list is the
        same object (every event asks)."""
        seats = self._seats
        if seats[0] is not doc["seat_ids"]:
            ids = doc["seat_ids"]
            names = seats_of(doc)
            seats = self._seats = (ids, {user_id: seat for seat, user_id
                                         in zip(names, ids, strict=True) if user_id is not None},
                                   (None, *names))
        return seats[1], seats[2]

    def spectator_set(self, ids: list[str]) -> frozenset[str]:
        if self._spectators[0] is not ids:
            self._spectators = (ids, frozenset(ids))
        return self._spectators[1]

    def forget(self, user_id: str) -> None:
        """The user left: a crowd that comes and goes leaves nothing behind."""
        self.users.pop(user_id, None)
        self._views.pop(user_id, None)

    def member_view(self, doc: MatchDoc, user_id: str | None,
                    role: str | None = None) -> dict[str, Any] | None:
        """The user as the REST API shows them in this match (``role``: theirs,
        when the caller knows it)."""
        if user_id is None or user_id not in self.users:
            return None
        role = role or self.role_of(doc, user_id)
        user = self.users[user_id]
        cached = self._views.get(user_id)
        if cached is not None and cached[0] is user and cached[1] == role:
            return cached[2]
        view = user_view({**user, "ongoing_match": self.match_id,
                          "role": ROLE_CODES.get(role or "")})
        self._views[user_id] = (user, role, view)
        return view

    def representation(self, doc: MatchDoc) -> dict[str, Any]:
        """The match as ``GET /api/matches/{id}/`` shows it."""
        out = doc.get("out") or ()
        return {
            "id": self.match_id,
            "game": doc["game"],
            "target_score": doc["target_score"],
            "host": self.member_view(doc, doc["host_id"]),
            "challenger": self.member_view(doc, doc["seat_ids"][1]),
            "seats": [{"seat": seat, "user": self.member_view(doc, user_id), "ready": ready,
                       "out": seat in out} for seat, user_id, ready
                      in zip(seats_of(doc), doc["seat_ids"], doc["ready"], strict=True)],
            "spectators": [self.member_view(doc, s, "spectator") for s in doc["spectator_ids"]],
            "creation_timestamp": doc["creation_timestamp"],
            "start_timestamp": doc["start_timestamp"],
            "is_started": doc["is_started"],
            "is_challenger_ready": all_ready(doc),
            "score": self.score(doc["state"]),
            "options": doc.get("options", {}),
        }
