"""A stored match whose game is not loaded on this node.

It stays exactly as stored, its users stay in it, and nothing runs: REST
shows it as before, a socket to it is closed with 1013 naming the game, and
a node started again with the game resumes it as after any restart.  Only a
node that holds the match itself keeps it dormant; a node never takes over a
match of a game it has not loaded.
"""

from __future__ import annotations

from typing import Any

from actors.match.document import MatchDoc
from actors.match.roster import Roster

#: The close code of a socket to a dormant match (RFC 6455: try again later).
CLOSE_CODE = 1013


def stored_score(state: dict[str, Any]) -> dict[str, int]:
    score = state.get("score") if isinstance(state, dict) else None
    return dict(score) if isinstance(score, dict) else {}


class DormantMatch:
    __slots__ = ("doc", "id", "roster")

    def __init__(self, doc: MatchDoc, users: dict[str, dict[str, Any]]) -> None:
        self.doc = doc
        self.id = int(doc["id"])
        self.roster = Roster(self.id, stored_score, users)

    @property
    def game(self) -> str:
        return self.doc["game"]

    @property
    def reason(self) -> str:
        """Why nobody can play it here: the close reason of its sockets."""
        return f"The game {self.game!r} is not loaded on this server"

    def representation(self) -> dict[str, Any]:
        return self.roster.representation(self.doc)
