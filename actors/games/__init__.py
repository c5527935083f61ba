"""The games Arena hosts: pure, synchronous rules, registered by name.

A game is one module with one ``Game`` subclass (``actors.games.base`` says
what it implements); the actor knows nothing of any particular game.  To add
one, write the module and call ``register`` with an instance, here for the
games that ship or from your own code before the server starts; it is then
listed by ``GET /api/game_types/`` and accepted by
``POST /api/ongoing_matches/``.  ``docs/writing-a-game.md`` walks through it.
"""

from __future__ import annotations

from actors.games.base import SEATS, Event, Game, IllegalMove, Outcome, Role, Seat, State, other
from actors.games.connect4 import Connect4
from actors.games.pong import Pong
from actors.games.rps import RockPaperScissors

#: Every registered game, by name.
GAMES: dict[str, Game] = {}


def register(game: Game) -> Game:
    """Make ``game`` playable under ``game.name`` (replacing one of that name)."""
    if not game.name:
        raise ValueError("a game needs a name")
    if not game.min_target <= game.default_target <= game.max_target:
        raise ValueError(f"{game.name}: default_target outside min_target..max_target")
    GAMES[game.name] = game
    return game


def unregister(name: str) -> None:
    """Take a game out again (its live matches play on)."""
    GAMES.pop(name, None)


for _game in (RockPaperScissors(), Connect4(), Pong()):
    register(_game)

__all__ = ["GAMES", "SEATS", "Event", "Game", "IllegalMove", "Outcome", "Role", "Seat", "State",
           "other", "register", "unregister"]
