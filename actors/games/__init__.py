"""Game rules: pure, synchronous, free of I/O, registered by name.

A game is one module with one ``Rules`` object; the actor knows nothing of
any particular game.  State is plain data (dicts, lists, strings, ints) that
round-trips through BSON.  Seats are ``"host"`` and ``"challenger"``.

To add a game: write ``actors/games/<name>.py`` with a ``Rules`` subclass and
add it to ``GAMES`` below.
"""

from __future__ import annotations

from actors.games.base import Event, IllegalMove, Rules, Seat, other
from actors.games.connect4 import Connect4
from actors.games.rps import RockPaperScissors

GAMES: dict[str, Rules] = {rules.name: rules for rules in (RockPaperScissors(), Connect4())}

__all__ = ["GAMES", "Event", "IllegalMove", "Rules", "Seat", "other"]
