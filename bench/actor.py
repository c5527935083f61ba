"""The match actor alone, in process: CPU per rps throw through M actors.

No sockets and no database: each actor gets fake sockets that count what
they are sent and a journal whose append only yields to the loop, so what
is measured is the actor's own Python (the mailbox, the dispatch, the
rules, encoding each event once per view, the collector walking every
live actor's objects).  It tells whether a change to the actor costs CPU
before a full ``bench.compare`` run does.

``python -m bench.actor [--matches 1000] [--rounds 20] [--runs 3]
[--baseline REV]``: with ``--baseline`` the code at ``REV`` (a temporary
git worktree) and the working tree run alternately, each in a fresh
process, and the medians and their ratio are printed.  The driver also
runs the actor of trees from before ``actors/match/`` was a package.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def new_state(game: Any) -> Any:
    """An rps state to a target nobody reaches (before ``Setup``: two arguments)."""
    try:
        from actors.games import Setup
    except ImportError:
        return game.create(10**9, 0)
    return game.create(Setup.make(10**9))


async def measure(matches: int, rounds: int) -> float:
    """Microseconds of process CPU per throw, ``rounds`` rounds in each match."""
    try:
        from actors.match.actor import MatchActor
        from actors.match.messages import Attach, Frame
    except ImportError:  # a tree from before the package
        from actors.messages import Attach, Frame  # type: ignore[no-redef,import-not-found]

        from actors.match import MatchActor  # type: ignore[no-redef,attr-defined]
    from actors.games import GAMES
    from actors.metrics import Metrics
    from actors.ticker import Ticker

    class Journal:
        async def append(self, match: Any) -> None:
            await asyncio.sleep(0)

    class Users:
        async def release(self, *_: Any) -> None:
            pass

    class Store:
        journal, users = Journal(), Users()

    class Settings:
        grace_period, turn_timeout, idle_timeout, elo_k, tick_rate = 30.0, 60.0, 600.0, 100.0, 30

    class Host:
        store, config, metrics = Store(), Settings(), Metrics()

        def ticker(self, rate: float) -> Ticker:
            return Ticker(rate)

        def finished(self, *_: Any) -> None:
            pass

        drop = finished  # the registry's name for it before the package

    acked = 0
    round_done = asyncio.Event()

    class Socket:
        def __init__(self, user_id: str) -> None:
            self.user_id, self.sent = user_id, 0

        def send(self, data: Any) -> None:
            nonlocal acked
            self.sent += 1
            if data[:13] == b'{"type":"ack"':  # every move is acked: the round is done
                acked += 1
                if acked == 2 * matches:
                    round_done.set()

        send_state = send

        def close(self, *_: Any) -> None:
            pass

    host, tables = Host(), []
    for m in range(matches):
        users = {seat: {"_id": f"{seat}{m}", "username": f"{seat}{m}", "elo": 1000,
                        "date_joined": "2026-12-07"} for seat in ("h", "c", "s1", "s2")}
        ids = {seat: user["_id"] for seat, user in users.items()}
        doc = {"_id": f"m{m}", "id": m + 1, "game": "rps", "target_score": 10**9,
               "host_id": ids["h"], "seat_ids": [ids["h"], ids["c"]], "ready": [True, True],
               # the fields of before seats too, for a --baseline from before them
               "challenger_id": ids["c"], "is_challenger_ready": True,
               "spectator_ids": [ids["s1"], ids["s2"]], "creation_timestamp": "x",
               "start_timestamp": "x", "is_started": True,
               "matchmade": False, "state": new_state(GAMES["rps"]), "seq": 0,
               "phase": "live", "owner": "bench"}
        actor = MatchActor(doc, {user["_id"]: user for user in users.values()}, host)
        actor.start()
        sockets = {seat: Socket(ids[seat]) for seat in users}
        for seat, user in users.items():
            actor.post(Attach(sockets[seat], user))
        tables.append((actor, sockets))
    await asyncio.sleep(0.05)
    hands = ("rock", "paper", "scissors")
    gc.collect()
    started = time.process_time()
    for n in range(rounds):
        acked = 0
        round_done.clear()
        for actor, sockets in tables:
            for k, seat in enumerate(("h", "c")):
                actor.post(Frame(sockets[seat], {"type": "move", "id": n,
                                                 "move": {"throw": hands[(n + k) % 3]}}))
        await round_done.wait()
    spent = time.process_time() - started
    return spent / (2 * rounds * matches) * 1e6


def run(tree: Path, args: argparse.Namespace) -> float:
    """One measurement in a fresh process importing the actor from ``tree``."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(tree), "--matches", str(args.matches),
         "--rounds", str(args.rounds)], cwd=tree, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matches", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="a git revision to run alternately with this tree")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # one run, of the tree given
    args = parser.parse_args()
    if args.measure:
        sys.path[0] = args.measure  # its actor, not this tree's
        print(asyncio.run(measure(args.matches, args.rounds)))
        return
    sys.path.insert(0, str(ROOT))
    from bench.compare import checkout

    results: dict[str, list[float]] = {"baseline": [], "tree": []}
    with checkout(args.baseline) if args.baseline else contextlib.nullcontext() as baseline:
        for _ in range(args.runs):
            if baseline is not None:
                results["baseline"].append(run(baseline, args))
            results["tree"].append(run(ROOT, args))
    for name, figures in results.items():
        if figures:
            print(f"{name}: median {statistics.median(figures):.2f} µs per throw "
                  f"({', '.join(f'{f:.2f}' for f in figures)})")
    if results["baseline"]:
        ratio = statistics.median(results["tree"]) / statistics.median(results["baseline"])
        print(f"tree/baseline: {ratio:.2f}")


if __name__ == "__main__":
    main()
