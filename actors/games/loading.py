"""Games from outside Arena's tree: ``--games`` / ``ARENA_GAMES`` entries and
the ``arena.games`` entry points, loaded once per process before it serves.

An entry is ``package.module:Class`` (the class is made with no arguments
and registered) or ``package.module`` (imported; the module registers its
own games with ``register``).  Modules are imported as any Python module is,
from ``sys.path``: ``PYTHONPATH`` or an installed distribution.  Every
installed distribution's entry points in the group ``arena.games``, each
naming a ``Game`` subclass, are registered too, so ``pip install`` of a game
package is enough.

Anything wrong (an entry that cannot be imported, a class that is not a
game or breaks the contract, two games of one name) raises ``GameLoadError``
naming the entry and what is wrong, in words: the server refuses to start.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from actors.games import GAMES, Game, GameContractError, register

GROUP = "arena.games"


class GameLoadError(Exception):
    """A game could not be loaded; the message names the entry and why."""


def load_entries(text: str) -> list[str]:
    """Load every comma-separated entry of ``text``; the names registered."""
    loaded: list[str] = []
    for entry in (part.strip() for part in text.split(",")):
        if entry:
            loaded += load_entry(entry)
    return loaded


def load_entry(entry: str) -> list[str]:
    module_name, _, class_name = entry.partition(":")
    where = f"games entry {entry!r}"
    before = set(GAMES)
    try:
        module = importlib.import_module(module_name)
    except GameContractError as error:  # the module's own register call refused it
        raise GameLoadError(f"{where}: {error}") from error
    except Exception as error:
        raise GameLoadError(f"{where}: cannot import {module_name}: {error!r}") from error
    if not class_name:
        added = sorted(set(GAMES) - before)
        if not added:
            raise GameLoadError(f"{where}: importing {module_name} registered no game "
                                "(name a class: package.module:Class)")
        return added
    found = getattr(module, class_name, None)
    if found is None:
        raise GameLoadError(f"{where}: {module_name} has no {class_name}")
    return [register_class(found, where)]


def load_entry_points() -> list[str]:
    """Register the game of every ``arena.games`` entry point installed."""
    loaded = []
    for point in entry_points(group=GROUP):
        where = f"entry point {point.name} = {point.value} ({GROUP})"
        try:
            found = point.load()
        except Exception as error:
            raise GameLoadError(f"{where}: cannot load it: {error!r}") from error
        loaded.append(register_class(found, where))
    return loaded


def register_class(found: object, where: str) -> str:
    if not (isinstance(found, type) and issubclass(found, Game)):
        raise GameLoadError(f"{where}: {found!r} is not a Game subclass")
    try:
        game = found()
    except Exception as error:
        raise GameLoadError(f"{where}: {found.__name__}() failed: {error!r}") from error
    try:
        register(game)
    except GameContractError as error:
        raise GameLoadError(f"{where}: {error}") from error
    return game.name


def load_games(entries: str, default_game: str) -> list[str]:
    """The games of ``entries`` and of the installed entry points, loaded;
    ``default_game`` must then be one of the registered games."""
    loaded = load_entries(entries) + load_entry_points()
    if default_game not in GAMES:
        raise GameLoadError(f"--default-game {default_game!r} is no loaded game "
                            f"(loaded: {', '.join(sorted(GAMES))})")
    return loaded
