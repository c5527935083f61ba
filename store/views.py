"""The JSON shapes of users and matches, shared by REST handlers and the socket."""

from __future__ import annotations

from typing import Any

_PUBLIC_USER_FIELDS = ("username", "date_joined", "elo", "ongoing_match", "role",
                       "first_name", "last_name")
_COMPLETED_FIELDS = ("game", "winner", "loser", "start_timestamp", "completion_timestamp",
                     "winner_score", "loser_score", "winner_elo_before_match",
                     "loser_elo_before_match", "winner_elo_after_match",
                     "loser_elo_after_match", "reason")


def user_view(user: dict[str, Any], *, own: bool = False) -> dict[str, Any]:
    """A user as anyone may see them; ``own`` adds ``email`` and ``is_admin``."""
    view = {"id": user["_id"], **{name: user.get(name) for name in _PUBLIC_USER_FIELDS}}
    if own:
        view["email"] = user.get("email", "")
        view["is_admin"] = bool(user.get("is_admin"))
    return view


_STANDING_FIELDS = ("place", "seat", "username", "score", "elo_before_match",
                    "elo_after_match")


def completed_view(match: dict[str, Any]) -> dict[str, Any]:
    """A completed match: who won and lost (``None`` for a shared place),
    and ``standings``, every player best place first."""
    return {"id": match["id"], **{name: match[name] for name in _COMPLETED_FIELDS},
            "standings": [{name: entry[name] for name in _STANDING_FIELDS}
                          for entry in match.get("standings") or legacy_standings(match)]}


def legacy_standings(match: dict[str, Any]) -> list[dict[str, Any]]:
    """The standings of a match stored before they were (always a win)."""
    return [{"place": place, "seat": None, "username": match[side],
             "score": match[f"{side}_score"],
             "elo_before_match": match[f"{side}_elo_before_match"],
             "elo_after_match": match[f"{side}_elo_after_match"]}
            for place, side in ((1, "winner"), (2, "loser"))]
