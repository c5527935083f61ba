"""What ``register`` checks of a game, and how a match's options are settled."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from actors.games import GAMES, Game, GameContractError, check, register, unregister
from actors.games.options import OptionError, settle


class Good(Game):
    name = "good-game_2"
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "size": {"type": "integer", "default": 7, "minimum": 4, "maximum": 12},
        "mode": {"type": "string", "default": "fast", "enum": ["fast", "slow"]},
        "wrap": {"type": "boolean", "default": False},
    }


def broken(**settings: Any) -> Game:
    return type("Broken", (Good,), settings)()


@pytest.mark.parametrize(("settings", "said"), [
    ({"name": "Bad Name"}, "name must match"),
    ({"name": "x" * 33}, "name must match"),
    ({"name": ""}, "name must match"),
    ({"max_players": 17}, "max_players <= 16"),
    ({"min_players": 1}, "2 <= min_players"),
    ({"min_players": 3, "max_players": 4, "default_players": 2}, "min_players <= default"),
    ({"default_target": 0, "min_target": 0}, "1 <= min_target"),
    ({"default_target": 100}, "default_target <= max_target"),
    ({"tick_rate": 0}, "tick_rate must be a positive"),
    ({"tick_rate": 10, "send_rate": 20}, "send_rate must not exceed tick_rate"),
    ({"input_rate": -1.0}, "input_rate must be a positive"),
    ({"options": {"size": {"type": "float", "default": 1.0}}}, "needs a type"),
    ({"options": {"size": {"type": "integer", "default": "7"}}}, "default of type integer"),
    ({"options": {"size": {"type": "integer", "default": 3, "minimum": 4}}}, "out of its bounds"),
    ({"options": {"mode": {"type": "string", "default": "x", "enum": ["a"]}}}, "not one of"),
    ({"options": {"size": {"type": "integer", "default": 1, "step": 2}}}, "unknown keys"),
])
def test_register_refuses_a_game_that_breaks_the_contract(settings: dict[str, Any],
                                                          said: str) -> None:
    with pytest.raises(GameContractError, match=said):
        check(broken(**settings))


def test_a_name_is_taken_once_and_free_again_after_unregister() -> None:
    first = register(Good())
    try:
        with pytest.raises(GameContractError, match="name is taken"):
            register(Good())
        assert register(first) is first  # the same game again changes nothing
    finally:
        unregister(first.name)
    assert first.name not in GAMES


def test_options_are_completed_with_defaults_and_checked() -> None:
    game = Good()
    assert settle(game, None) == {"size": 7, "mode": "fast", "wrap": False}
    assert settle(game, {"size": 12, "wrap": True}) == {"size": 12, "mode": "fast", "wrap": True}
    for given, name in (({"size": 13}, "size"), ({"size": True}, "size"), ({"mode": "x"}, "mode"),
                        ({"wrap": 0}, "wrap"), ({"speed": 1}, "speed"), ([1], "")):
        with pytest.raises(OptionError) as refused:
            settle(game, given)
        assert refused.value.name == name
