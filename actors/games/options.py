"""A match's options: what a client asked for, checked against the game's
declarations (``Game.options``) and completed with their defaults."""

from __future__ import annotations

from typing import Any

from actors.games.base import Game

KINDS: dict[str, type] = {"integer": int, "boolean": bool, "string": str}


class OptionError(ValueError):
    """An option that is unknown, of the wrong type or out of range; ``name``
    is the option, for a 400 naming ``options.<name>``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def settle(game: Game, given: Any) -> dict[str, Any]:
    """``given`` (a JSON object, or ``None``) as the match's options."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise OptionError("", "Options are a JSON object.")
    settled: dict[str, Any] = {}
    for name in given:
        if name not in game.options:
            known = ", ".join(sorted(game.options)) or "none"
            raise OptionError(name, f"{game.name} has no option {name!r} (it has: {known}).")
    for name, declaration in game.options.items():
        value = given.get(name, declaration["default"])
        kind = KINDS[declaration["type"]]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise OptionError(name, f"Expected a {declaration['type']}.")
        if "enum" in declaration and value not in declaration["enum"]:
            raise OptionError(name, f"Choose one of: {', '.join(map(str, declaration['enum']))}.")
        if "minimum" in declaration and value < declaration["minimum"]:
            raise OptionError(name, f"At least {declaration['minimum']}.")
        if "maximum" in declaration and value > declaration["maximum"]:
            raise OptionError(name, f"At most {declaration['maximum']}.")
        settled[name] = value
    return settled
