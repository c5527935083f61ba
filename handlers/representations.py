"""How stored documents are shown: the JSON shapes of the contract."""

from __future__ import annotations

from typing import Any

_PUBLIC_USER_FIELDS = ("username", "date_joined", "elo", "ongoing_match", "role",
                       "first_name", "last_name")


def user_view(user: dict[str, Any], *, own: bool = False) -> dict[str, Any]:
    """A user as anyone may see them; ``own`` adds ``email`` and ``is_admin``."""
    view = {"id": user["_id"], **{name: user.get(name) for name in _PUBLIC_USER_FIELDS}}
    if own:
        view["email"] = user.get("email", "")
        view["is_admin"] = bool(user.get("is_admin"))
    return view
