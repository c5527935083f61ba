"""Realtime games at scale: Arena's state frames (against Colyseus's, for pong).

    python -m bench.pong [--targets arena,colyseus] [--matches 100,250,500]
                         [--spectators 2] [--tick-rate 30] [--runs 2]
                         [--seconds 20] [--warmup 5]
    python -m bench.pong --game cycles [--players 4] [--size 24]
                         [--matches 50,100,200] [--spectators 0] ...

For each number of matches M, each target in turn (A B A B …, fresh server
each time, pinned to CPU 0; the generator on CPU 1) hosts M pong matches,
each with two ball-following bots and S spectators on their own sockets, at
the tick rate given (Arena's ``--tick-rate``, the Colyseus room's
``setSimulationInterval``).  ``--game cycles`` runs M matches of cycles with
``--players`` bots each (4 by default, no spectators), Arena only, at the
game's own tick rate (10).  ``bench/peer/realtime-generator.mjs`` says what
it measures; the table quotes medians.  The verdict line names, per target, the
most matches whose state frames all arrived (98 % or more of ticks x
sockets: Colyseus's interval timer runs about 1 % slow) with a gap p99 under
50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from typing import Any

from bench.compare import (
    GENERATOR_CPU,
    NODE,
    PEER,
    SERVER_CPU,
    ColyseusProcess,
    install_peer,
    median,
    start,
)
from bench.server import ServerProcess
from store.embedded import die_with_parent

#: (key in the generator's output, label), in the table's order.
FIGURES = [
    ("state_frames_per_s", "state frames/s"),
    ("ideal_per_s", "ideal (ticks x sockets)/s"),
    ("delivered", "delivered share"),
    ("gap_p50_ms", "frame gap p50 ms"),
    ("gap_p99_ms", "frame gap p99 ms"),
    ("gap_max_ms", "frame gap max ms"),
    ("ticks_skipped", "ticks skipped"),
    ("points", "points (rounds) seen"),
    ("moves_per_s", "inputs/s"),
    ("point_lag_p50_ms", "point lag p50 ms"),
    ("point_lag_p99_ms", "point lag p99 ms"),
    ("gaps", "events lost/out of order"),
    ("unexpected_closes", "unexpected closes"),
    ("errors", "errors"),
    ("server_cpu_ms_per_match_s", "server CPU ms/match-s"),
    ("server_cpu_share", "server CPU share"),
    ("server_rss_kib_per_match", "RSS KiB/match"),
    ("generator_cpu_share", "generator CPU share"),
]
#: The frame gap p99 a target must stay under: 50 ms for pong (30 ticks a
#: second: a frame at most 17 ms late), and for cycles, which ticks 10 times a
#: second, its 100 ms period plus the same 50 ms.
GAP_TARGET_MS = {"pong": 50.0, "cycles": 150.0}
#: Colyseus's simulation interval runs about 1 % slow (a drifting setInterval):
#: a share this high counts as every tick delivered, for both.
DELIVERED_TARGET = 0.98


def serve(target: str, args: argparse.Namespace) -> ServerProcess:
    if target == "colyseus":
        return ColyseusProcess(2567, SERVER_CPU, "--tick-rate", str(args.tick_rate))
    return start(f"{target}+tick-rate={args.tick_rate}", args)


def generate(server: ServerProcess, matches: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    command = ["taskset", "-c", str(GENERATOR_CPU), str(NODE),
               str(PEER / "realtime-generator.mjs"), "--game", args.game,
               "--players", str(args.players), "--size", str(args.size),
               "--target-score", str(args.target_score),
               "--target", server.name, "--url", server.url, "--matches", str(matches),
               "--spectators", str(args.spectators), "--tick-rate", str(args.tick_rate),
               "--seconds", str(args.seconds), "--warmup", str(args.warmup),
               "--pids", ",".join(map(str, server.pids()))]
    done = subprocess.run(command, cwd=PEER, stdout=subprocess.PIPE, text=True, check=True,
                          preexec_fn=die_with_parent)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def report(results: dict[tuple[int, str], list[dict[str, Any]]], targets: list[str],
           args: argparse.Namespace) -> None:
    print(f"\nS={args.spectators}, tick rate {args.tick_rate}, medians of {args.runs} "
          f"alternated runs, {args.seconds:g} s windows after {args.warmup:g} s warm-up; "
          f"server on CPU {SERVER_CPU}, generator on CPU {GENERATOR_CPU}")
    held: dict[str, int] = defaultdict(int)
    for matches in sorted({m for m, _ in results}):
        medians = {t: {key: median([r.get(key) for r in results.get((matches, t), [])])
                       for key, _ in FIGURES} for t in targets if (matches, t) in results}
        print(f"\nM = {matches} {args.game} matches "
              f"({matches * (args.players + args.spectators)} sockets)")
        print(f"{'':28}" + "".join(f"{t:>12}" for t in medians))
        for key, label in FIGURES:
            digits = 3 if key == "delivered" else 2 if key.endswith("share") else 1
            print(f"{label:28}" + "".join(f"{m[key]:12.{digits}f}" for m in medians.values()))
        for target, figures in medians.items():
            if (figures["gap_p99_ms"] < GAP_TARGET_MS[args.game]
                    and figures["delivered"] >= DELIVERED_TARGET):
                held[target] = max(held[target], matches)
    print(f"\nMost matches with every state frame delivered (>= {DELIVERED_TARGET:.1%}) and a "
          f"frame gap p99 under {GAP_TARGET_MS[args.game]:g} ms: "
          + ", ".join(f"{t} {held.get(t, 0)}" for t in targets))


#: What each game's run defaults to, where the command line is silent.
DEFAULTS = {
    "pong": {"targets": "arena,colyseus", "matches": "100,250,500", "players": 2,
             "target_score": 99, "spectators": 2, "tick_rate": 30},
    "cycles": {"targets": "arena", "matches": "50,100,200", "players": 4,
               "target_score": 20, "spectators": 0, "tick_rate": 10},
}


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    for name, value in DEFAULTS[args.game].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(args: argparse.Namespace) -> None:
    install_peer()
    targets = args.targets.split(",")
    results: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for run in range(args.runs):
        for matches in [int(m) for m in args.matches.split(",")]:
            for target in targets:
                with serve(target, args) as server:
                    rows = generate(server, matches, args)
                for row in rows:
                    print(f"run {run + 1} M={matches} {target}: " + json.dumps(row), flush=True)
                    if row["window"] != "setup":
                        results[(matches, target)].append(row)
    report(results, targets, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", choices=("pong", "cycles"), default="pong")
    parser.add_argument("--targets", default=None,
                        help="default: arena,colyseus for pong, arena for cycles")
    parser.add_argument("--matches", default=None,
                        help="numbers of matches, one set-up and window each "
                             "(default 100,250,500; cycles 50,100,200)")
    parser.add_argument("--players", type=int, default=None, help="default: 2; cycles 4")
    parser.add_argument("--size", type=int, default=24, help="cycles: the grid's size")
    parser.add_argument("--target-score", type=int, default=None, help="default: 99; cycles 20")
    parser.add_argument("--spectators", type=int, default=None, help="default: 2; cycles 0")
    parser.add_argument("--tick-rate", type=int, default=None,
                        help="default 30 (pong: the server's --tick-rate); cycles fixes 10")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--bcrypt-rounds", type=int, default=4)
    if sys.platform != "linux":
        parser.error("the benchmark reads /proc and pins processes with taskset: Linux only")
    os.sched_setaffinity(0, {GENERATOR_CPU})
    main(with_defaults(parser.parse_args()))
