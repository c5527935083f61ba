"""Games registered by a test for its own length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from actors.games import Game, register, unregister

G = TypeVar("G", bound=Game)


def registered(*games: G) -> Iterator[G]:
    """Register ``games`` (for a fixture: ``yield from``); the first is yielded,
    and all are taken out again afterwards."""
    for game in games:
        register(game)
    try:
        yield games[0]
    finally:
        for game in games:
            unregister(game.name)
