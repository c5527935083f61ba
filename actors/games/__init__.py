"""The games Arena hosts: pure, synchronous rules, registered by name.

A game is one module with one ``Game`` subclass (``actors.games.base`` says
what it implements); the actor knows nothing of any particular game.  To add
one, write the module and call ``register`` with an instance, here for the
games that ship or from your own code before the server starts; it is then
listed by ``GET /api/game_types/`` and accepted by
``POST /api/ongoing_matches/``.  ``docs/writing-a-game.md`` walks through it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from actors.games.base import (
    MAX_SEATS,
    SEATS,
    Event,
    Game,
    IllegalMove,
    Outcome,
    Player,
    Seat,
    Setup,
    State,
    other,
    seat_names,
)
from actors.games.connect4 import Connect4
from actors.games.cycles import Cycles
from actors.games.pong import Pong
from actors.games.rps import RockPaperScissors

#: Every registered game, by name.
GAMES: dict[str, Game] = {}


#: What a game's name may be: it is a path segment and a key everywhere.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}\Z")
OPTION_TYPES = {"integer": int, "boolean": bool, "string": str}


class GameContractError(ValueError):
    """A game that breaks the contract ``register`` checks; the message says how."""


def check(game: Game) -> None:
    """Raise ``GameContractError`` if ``game``'s settings break the contract."""
    name = game.name if isinstance(game.name, str) else repr(game.name)

    def broken(what: str) -> GameContractError:
        return GameContractError(f"game {name!r}: {what}")

    if not isinstance(game.name, str) or not NAME.match(game.name):
        raise broken("its name must match [a-z0-9][a-z0-9_-]{0,31}")
    default_players = game.default_players or game.min_players
    if not 2 <= game.min_players <= default_players <= game.max_players <= 16:
        raise broken("needs 2 <= min_players <= default_players <= max_players <= 16")
    if not 1 <= game.min_target <= game.default_target <= game.max_target:
        raise broken("needs 1 <= min_target <= default_target <= max_target")
    for setting in ("tick_rate", "send_rate", "input_rate", "input_burst", "turn_timeout"):
        value = getattr(game, setting, None)
        if value is not None and not (isinstance(value, int | float) and value > 0
                                      and math.isfinite(value)):
            raise broken(f"{setting} must be a positive number or None")
    if game.send_rate is not None and game.send_rate > (game.tick_rate or math.inf):
        raise broken("send_rate must not exceed tick_rate")
    if not isinstance(game.options, dict):
        raise broken("options must be a dict of declarations")
    for option, declaration in game.options.items():
        check_option(option, declaration, broken)


def check_option(option: str, declaration: object,
                 broken: Callable[[str], GameContractError]) -> None:
    """An option's declaration: a type, a default of it, and bounds that hold."""
    if not isinstance(declaration, dict) or declaration.get("type") not in OPTION_TYPES:
        raise broken(f"option {option!r} needs a type: integer, boolean or string")
    kind = OPTION_TYPES[declaration["type"]]
    unknown = set(declaration) - {"type", "default", "minimum", "maximum", "enum",
                                  "description"}
    if unknown:
        raise broken(f"option {option!r} has unknown keys: {', '.join(sorted(unknown))}")
    default = declaration.get("default")
    if not isinstance(default, kind) or (kind is int and isinstance(default, bool)):
        raise broken(f"option {option!r} needs a default of type {declaration['type']}")
    if "enum" in declaration and default not in declaration["enum"]:
        raise broken(f"option {option!r}: its default is not one of its enum")
    for bound in ("minimum", "maximum"):
        if bound in declaration and not (kind is int and isinstance(declaration[bound], int)):
            raise broken(f"option {option!r}: {bound} applies to integers only")
    if declaration.get("minimum", default) > default or declaration.get("maximum",
                                                                         default) < default:
        raise broken(f"option {option!r}: its default is out of its bounds")


def register(game: Game) -> Game:
    """Make ``game`` playable under ``game.name``, after checking the contract;
    a name already taken by another game is refused."""
    check(game)
    taken = GAMES.get(game.name)
    if taken is not None and taken is not game:
        raise GameContractError(f"game {game.name!r}: that name is taken "
                                f"(by {type(taken).__module__}.{type(taken).__name__})")
    GAMES[game.name] = game
    return game


def unregister(name: str) -> None:
    """Take a game out again (its live matches play on)."""
    GAMES.pop(name, None)


for _game in (RockPaperScissors(), Connect4(), Pong(), Cycles()):
    register(_game)

__all__ = ["GAMES", "MAX_SEATS", "SEATS", "Event", "Game", "GameContractError", "IllegalMove",
           "Outcome", "Player", "Seat", "Setup", "State", "check", "other", "register",
           "seat_names", "unregister"]
