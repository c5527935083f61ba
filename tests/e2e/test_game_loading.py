"""Games from a package outside Arena's tree, loaded by real server processes.

The package is written by the test into a directory of its own and reached
through ``PYTHONPATH``, as a developer's would be: by ``--games``, by
``ARENA_GAMES``, and as an installed distribution's ``arena.games`` entry
point.  A match of a game that is not loaded is dormant, never lost.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import account, counted, seated
from tests.support.process import ServerProcess, run_cli
from tests.support.ws import Peer

GAMES_MODULE = '''
from actors.games import Event, Game, IllegalMove, register

class Race(Game):
    """Each move is a step; the first to the target wins."""
    name = "race"
    default_target = 2
    turn_clock = False

    def create(self, setup):
        return {"target": setup.target, "score": {seat: 0 for seat in setup.seats}}

    def apply(self, state, seat, move):
        if move != {"step": 1}:
            raise IllegalMove("illegal_move", 'A move is {"step": 1}.')
        score = {**state["score"], seat: state["score"][seat] + 1}
        return {**state, "score": score}, [Event("stepped", {"seat": seat})]

    def view(self, state, viewer):
        return state


class Fragile(Race):
    """Cannot be restored: a bug that shows only after a restart."""
    name = "fragile"

    def restored(self, state):
        raise RuntimeError("a bug in restored")
'''
SELF_REGISTERING = '''
from actors.games import register
from arena_extra.games import Race

class Dash(Race):
    name = "dash"

register(Dash())
'''


def write_package(root: Path, *, entry_point: str | None = None) -> Path:
    """``arena_extra`` under ``root`` (and, with ``entry_point``, an installed
    distribution naming it in ``arena.games``); ``root`` for ``PYTHONPATH``."""
    package = root / "arena_extra"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "games.py").write_text(textwrap.dedent(GAMES_MODULE))
    (package / "selfreg.py").write_text(textwrap.dedent(SELF_REGISTERING))
    if entry_point is not None:
        info = root / "arena_extra-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: arena-extra\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[arena.games]\n{entry_point}\n")
    return root


def path_env(root: Path, **more: str) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(root),
                                                         os.environ.get("PYTHONPATH")])),
            **more}


async def started(server: ServerProcess, game: str,
                  prefix: str) -> tuple[dict[str, Any], Peer, Peer, str]:
    """A match of ``game`` between two new users (``<prefix>h`` hosting,
    ``<prefix>c``), started: the match, the two peers, the host's token."""
    host_token, challenger_token = account(server, f"{prefix}h"), account(server, f"{prefix}c")
    status, match = server.request("POST", "/api/ongoing_matches/", {"game": game},
                                   token=host_token)
    assert status == 201, match
    host = await seated(server, match["id"], host_token)
    challenger = await seated(server, match["id"], challenger_token)
    assert (await challenger.command("join", role="challenger"))["type"] == "ack"
    assert (await challenger.command("ready"))["type"] == "ack"
    assert (await host.command("start"))["type"] == "ack"
    return match, host, challenger, host_token


async def play_to_the_end(server: ServerProcess, game: str, prefix: str) -> dict[str, Any]:
    """A match of ``game`` to 2 between two new users, over the socket; its result."""
    _, host, challenger, _ = await started(server, game, prefix)
    assert (await host.command("move", move={"step": 2}))["code"] == "illegal_move"
    for _ in range(2):
        assert (await host.command("move", move={"step": 1}))["type"] == "ack"
    ended = await challenger.next("event", "ended")
    host.close()
    challenger.close()
    return ended["result"]


@pytest.mark.gen_test(timeout=120)
@pytest.mark.parametrize("way", ["flag", "environment", "entry point"])
async def test_a_game_from_outside_is_loaded_and_played_each_way(tmp_path: Path,
                                                                  way: str) -> None:
    root = write_package(tmp_path / "site", entry_point=(
        "race = arena_extra.games:Race" if way == "entry point" else None))
    flags = ("--games", "arena_extra.games:Race") if way == "flag" else ()
    env = path_env(root, **({"ARENA_GAMES": "arena_extra.selfreg"}
                            if way == "environment" else {}))
    game = "dash" if way == "environment" else "race"
    server = ServerProcess(tmp_path / "data", *flags, env=env).start()
    try:
        names = [g["name"] for g in server.request("GET", "/api/game_types/")[1]]
        assert game in names and "rps" in names
        result = await play_to_the_end(server, game, "p")
        assert (result["game"], result["winner"], result["reason"]) == (game, "ph", "score")
        assert (result["winner_elo_after_match"], result["loser_elo_after_match"]) == (1050, 950)
    finally:
        assert server.stop() == 0


@pytest.mark.gen_test(timeout=180)
async def test_every_node_of_workers_loads_the_games(tmp_path: Path) -> None:
    root = write_package(tmp_path / "site")
    server = ServerProcess(tmp_path / "data", "--workers", "2", "--games",
                           "arena_extra.games:Race", env=path_env(root)).start()
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:  # the kernel spreads connections
            names = [g["name"] for g in server.request("GET", "/api/game_types/")[1]]
            assert "race" in names
            seen.add(server.request_text("/metrics").split('arena_node_info{name="')[1]
                     .split('"')[0])
        assert len(seen) == 2
        for n in range(3):  # matches on either node, played to the end
            result = await play_to_the_end(server, "race", f"w{n}")
            assert result["winner"] == f"w{n}h"
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(("flags", "env", "said"), [
    (("--games", "arena_missing.games:Race"), {}, "cannot import arena_missing"),
    (("--games", "arena_extra.games:Nothing"), {}, "has no Nothing"),
    (("--games", "arena_extra.games:Race,arena_extra.games:Race"), {}, "name is taken"),
    (("--games", "arena_extra.broken:Broken"), {}, "its name must match"),
    (("--default-game", "chess"), {}, "--default-game 'chess' is no loaded game"),
    ((), {"ARENA_GAMES": "arena_extra.games"}, "registered no game"),
])
def test_a_game_that_cannot_be_loaded_stops_the_server_saying_why(
        tmp_path: Path, flags: tuple[str, ...], env: dict[str, str], said: str) -> None:
    root = write_package(tmp_path / "site")
    (root / "arena_extra" / "broken.py").write_text(
        "from arena_extra.games import Race\n\nclass Broken(Race):\n    name = 'Broken Race'\n")
    done = run_cli("--port", "0", "--data-dir", str(tmp_path / "data"), *flags,
                   env=path_env(root, **env))
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Arena did not start: ") and said in last, done.stderr[-2000:]
    assert not (tmp_path / "data" / "ferretdb").exists()  # refused before anything started


@pytest.mark.gen_test(timeout=180)
async def test_a_match_whose_game_is_gone_sleeps_until_it_is_back(tmp_path: Path) -> None:
    root = write_package(tmp_path / "site")
    data = tmp_path / "data"
    with_game = ("--games", "arena_extra.games:Race")
    server = ServerProcess(data, *with_game, env=path_env(root)).start()
    match, host, _, host_token = await started(server, "race", "d")
    assert (await host.command("move", move={"step": 1}))["type"] == "ack"
    assert server.stop() == 0

    server = ServerProcess(data, env=path_env(root)).start()  # without the game
    try:
        status, shown = server.request("GET", f"/api/ongoing_matches/{match['id']}/")
        assert status == 200 and shown["score"] == {"host": 1, "challenger": 0}
        assert shown["challenger"]["username"] == "dc"
        assert server.request("GET", "/api/users/dh/")[1]["ongoing_match"] == match["id"]
        listed = server.request("GET", "/api/ongoing_matches/")[1]
        assert [m["id"] for m in listed] == [match["id"]]
        assert counted(server, "arena_dormant_matches") == 1
        peer = await Peer.connect(server.url, match["id"], host_token)
        assert await peer.closed() == 1013
        assert "race" in (peer.connection.close_reason or "")
        assert any("dormant" in line and "race" in line for line in server.output)
        cancel = server.request("DELETE", f"/api/ongoing_matches/{match['id']}/",
                                token=host_token)
        assert cancel[0] == 503
    finally:
        assert server.stop() == 0

    server = ServerProcess(data, *with_game, env=path_env(root)).start()  # the game is back
    try:
        host = await seated(server, match["id"], host_token)
        assert (await host.command("move", move={"step": 1}))["type"] == "ack"
        ended = await host.next("event", "ended")
        assert (ended["result"]["winner"], ended["result"]["winner_score"]) == ("dh", 2)
        assert counted(server, "arena_dormant_matches") == 0
    finally:
        assert server.stop() == 0


@pytest.mark.gen_test(timeout=180)
async def test_admin_cancel_match_releases_everyone_server_running_or_not(
        tmp_path: Path) -> None:
    root = write_package(tmp_path / "site")
    data = tmp_path / "data"
    server = ServerProcess(data, "--games", "arena_extra.games:Race", env=path_env(root)).start()
    tokens = [account(server, name) for name in ("ah", "ac", "bh")]
    first = server.request("POST", "/api/ongoing_matches/", {"game": "race"},
                           token=tokens[0])[1]
    challenger = await seated(server, first["id"], tokens[1])
    assert (await challenger.command("join", role="challenger"))["type"] == "ack"
    challenger.close()
    second = server.request("POST", "/api/ongoing_matches/", {"game": "race"},
                            token=tokens[2])[1]
    live_token = account(server, "rh")
    live = server.request("POST", "/api/ongoing_matches/", {"game": "rps"},
                          token=live_token)[1]
    assert server.stop() == 0

    server = ServerProcess(data, env=path_env(root)).start()  # dormant: race is not loaded
    try:
        watching = await seated(server, live["id"], live_token)  # played here: its node ends it
        done = run_cli("admin", "cancel-match", str(live["id"]), "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        assert (await watching.next("event", "cancelled"))["seq"] > 0
        assert server.request("GET", "/api/users/rh/")[1]["ongoing_match"] is None
        done = run_cli("admin", "cancel-match", str(first["id"]), "--data-dir", str(data))
        assert done.returncode == 0, done.stderr
        assert f"Match {first['id']} is cancelled" in done.stdout
        for name in ("ah", "ac"):
            assert server.request("GET", f"/api/users/{name}/")[1]["ongoing_match"] is None
        assert server.request("GET", "/api/users/bh/")[1]["ongoing_match"] == second["id"]
        deadline = time.monotonic() + 5
        while (server.request("GET", f"/api/ongoing_matches/{first['id']}/")[0] != 404
               and time.monotonic() < deadline):
            time.sleep(0.1)
        assert server.request("GET", f"/api/ongoing_matches/{first['id']}/")[0] == 404
        assert counted(server, "arena_dormant_matches") == 1
        assert server.request("GET", f"/api/completed_matches/{first['id']}/")[0] == 404
    finally:
        assert server.stop() == 0
    done = run_cli("admin", "cancel-match", str(second["id"]), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr  # no server running: the same
    missing = run_cli("admin", "cancel-match", "999", "--data-dir", str(data))
    assert missing.returncode == 1 and "no ongoing match 999" in missing.stderr


@pytest.mark.gen_test(timeout=120)
async def test_a_game_that_cannot_be_restored_releases_its_players(tmp_path: Path) -> None:
    root = write_package(tmp_path / "site")
    data = tmp_path / "data"
    flags = ("--games", "arena_extra.games:Fragile")
    server = ServerProcess(data, *flags, env=path_env(root)).start()
    match, *_ = await started(server, "fragile", "f")
    assert server.stop() == 0

    server = ServerProcess(data, *flags, env=path_env(root)).start()
    try:
        deadline = time.monotonic() + 5
        while (server.request("GET", "/api/users/fc/")[1]["ongoing_match"] is not None
               and time.monotonic() < deadline):
            time.sleep(0.05)
        for name in ("fh", "fc"):
            user = server.request("GET", f"/api/users/{name}/")[1]
            assert (user["ongoing_match"], user["elo"]) == (None, 1000)
        assert server.request("GET", f"/api/ongoing_matches/{match['id']}/")[0] == 404
        assert server.request("GET", f"/api/completed_matches/{match['id']}/")[0] == 404
        assert any("failed in restored" in line for line in server.output)
    finally:
        assert server.stop() == 0
