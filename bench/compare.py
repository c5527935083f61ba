"""Arena against its limit and its peer, one scenario, one table.

    python -m bench.compare [--targets arena,relay,colyseus] [--runs 3]
                            [--matches 1000] [--spectators 2]
                            [--rates 0.5,1,1.5,2,2.5,4,8] [--seconds 15]
                            [--warmup 5] [--storm 20]

Targets, each started fresh per run and pinned to CPU 0 (the generator runs
on CPU 1), in turn A B C A B C … so the noise of a shared machine falls on
all of them alike; the table quotes medians:

- ``arena``: Arena on its embedded database, write-ahead on;
- ``relay``: the bare Tornado relay of ``bench/relay.py`` (no actor, no
  database), the limit a stock Tornado server reaches;
- ``colyseus``: Colyseus 0.18 running the same rps room
  (``bench/peer/colyseus-server.mjs``).

A target may carry Arena flags to compare settings in the same run:
``--targets arena,arena+event-loop=asyncio`` runs Arena twice, the second
with ``--event-loop asyncio``.  Two kinds of target measure a cluster, every
process of it on CPU 0 too, so what they show is what several nodes cost,
not what they gain:

- ``arena+workers=N``: ``server.py --workers N``, N nodes behind one port,
  the kernel spreading the connections over them;
- ``arena@N``: the database alone (``server.py database``) and N nodes on
  ports of their own; the generator sets table i up through node i mod N and
  opens its n-th socket on node (i + n) mod N;
- ``arena@N:owner``: the same nodes, every socket of table i opened on node
  i mod N, which holds its matches (a proxy routing sockets by match).

``--baseline REV`` adds the target ``baseline``, first (the one the
table's ratios are against): ``arena`` as it was at the git revision
``REV``, checked out into a temporary worktree, so that a change is
measured against the code before it in one run.  A target may name it
with flags too (``baseline+workers=2``).

For every Arena target the table adds the share of the generator's sockets
that reached a node other than their match's and were relayed (from the
nodes' ``arena_sockets_total`` and ``arena_relayed_sockets_total``).

One generator (``bench/peer/generator.mjs``, Node with ``ws`` and
``@colyseus/sdk``) drives all three with the same scenario; see its header
for what it measures.  Each run sets the matches up once and then measures
one window per rate, in the order given.  The first use installs the Node
packages (Node 22 itself comes from the npm package ``node``) with
``npm install`` (the lock file's versions) into ``bench/peer/node_modules``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.server import ROOT, ArenaProcess, ClusterProcess, RelayProcess, ServerProcess
from store.embedded import die_with_parent

PEER = ROOT / "bench" / "peer"
NODE = PEER / "node_modules" / ".bin" / "node"
SERVER_CPU, GENERATOR_CPU = 0, 1

#: What the table shows, in order: (key in the generator's output, label).
FIGURES = [
    ("throws_per_s", "throws/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("max_ms", "max ms"),
    ("gaps", "events lost/out of order"),
    ("unexpected_closes", "unexpected closes"),
    ("errors", "errors"),
    ("matches_replaced", "matches replaced"),
    ("server_cpu_s_per_1k_throws", "server CPU s/1k throws"),
    ("server_cpu_share", "server CPU share"),
    ("server_rss_kib_per_socket", "RSS KiB/socket"),
    ("server_rss_kib_per_match", "RSS KiB/match"),
    ("relayed_share", "sockets relayed (share)"),
    ("generator_cpu_share", "generator CPU share"),
    ("burst_p99", "throws in busy 10 ms/mean"),
]
#: Shown for the storm windows only.
STORM_FIGURES = [("sign_ups_per_s", "sign-ups answered/s")]


class ColyseusProcess(ServerProcess):
    name = "colyseus"

    def __init__(self, port: int = 2567, cpu: int | None = None, *extra: str) -> None:
        super().__init__([str(NODE), str(PEER / "colyseus-server.mjs"), "--port", str(port),
                          *extra], "Colyseus listening on ", cpu)


def install_peer() -> None:
    """Node 22, ``ws``, Colyseus and its SDK, the versions of the lock file, once.

    ``npm install`` rather than ``npm ci``: npm 11.19 (seen on this machine)
    refuses the lock file in ``ci`` over optional platform packages of
    ``msgpackr-extract`` that it does not list, while ``install`` takes the
    same versions from it and leaves it unchanged (checked on a fresh copy).
    """
    if not NODE.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=PEER, check=True)


def start(target: str, args: argparse.Namespace) -> ServerProcess | ClusterProcess:
    """Start ``target``: ``relay``, ``colyseus``, ``arena[@N][+flag=value…]``,
    or ``baseline[+flag=value…]`` (Arena at ``--baseline``)."""
    kind, *settings = target.split("+")
    if kind == "relay":
        return RelayProcess(cpu=SERVER_CPU)
    if kind == "colyseus":
        return ColyseusProcess(cpu=SERVER_CPU)
    kind, _, cluster = kind.partition("@")
    nodes, _, route = cluster.partition(":")
    root = args.baseline_root if kind == "baseline" else ROOT
    if kind == "baseline" and (root is None or nodes):
        raise SystemExit("the baseline target needs --baseline REV, and runs one node")
    if kind not in ("arena", "baseline") or not (nodes or "1").isdigit() \
            or route not in ("", "owner"):
        raise SystemExit(f"unknown target {target!r}")
    flags = [part for setting in settings
             for part in ("--" + setting.partition("=")[0], setting.partition("=")[2])]
    # Clocks long enough that matches set up first do not time out while the
    # rest are being set up; the rate limit is the generator's, not the server's.
    flags = ["--rate-limit", "100000", "--rate-burst", "100000", "--turn-timeout", "3600",
             "--idle-timeout", "3600", "--bcrypt-rounds", str(args.bcrypt_rounds), *flags]
    if nodes:
        return ClusterProcess(int(nodes), *flags, cpu=SERVER_CPU, route=route or "spread")
    return ArenaProcess(*flags, cpu=SERVER_CPU, root=root)


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The code at git ``revision``, in a worktree removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="arena-baseline-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), revision], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                       check=False, capture_output=True)


def relay_share(server: ServerProcess | ClusterProcess) -> float | None:
    """The share of the clients' sockets that a node relayed to another
    (a relayed socket is opened twice: by the client, then by the relay)."""
    if not isinstance(server, ArenaProcess | ClusterProcess):
        return None
    counts = server.metrics()
    relayed = counts["arena_relayed_sockets_total"]
    return relayed / (counts["arena_sockets_total"] - relayed)


def generate(server: ServerProcess | ClusterProcess, args: argparse.Namespace
             ) -> list[dict[str, Any]]:
    """Run the generator against ``server``; its JSON lines, one per window."""
    command = ["taskset", "-c", str(GENERATOR_CPU), str(NODE), str(PEER / "generator.mjs"),
               "--target", server.name, "--url", ",".join(server.urls),
               "--matches", str(args.matches), "--spectators", str(args.spectators),
               "--rates", args.rates, "--seconds", str(args.seconds),
               "--warmup", str(args.warmup), "--target-score", str(args.target_score),
               "--pids", ",".join(map(str, server.pids()))]
    if isinstance(server, ClusterProcess):
        command += ["--route", server.route]
    if args.storm and server.name == "arena":  # the generator knows only Arena's sign-up
        command += ["--storm", str(args.storm)]
    done = subprocess.run(command, cwd=PEER, stdout=subprocess.PIPE, text=True, check=True,
                          preexec_fn=die_with_parent)
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    share = relay_share(server)
    for row in rows:
        row["relayed_share"] = share
    return rows


def median(values: list[Any]) -> float:
    numbers = [v for v in values if v is not None]
    return statistics.median(numbers) if numbers else math.nan


def spread(values: list[Any]) -> float:
    """Half the range of ``values`` over their median (0.05: ±5 %); how far
    apart the alternated runs of one target landed."""
    numbers = [v for v in values if v is not None]
    if not numbers or max(numbers) == min(numbers):
        return 0.0 if numbers else math.nan
    middle = statistics.median(numbers)
    return (max(numbers) - min(numbers)) / 2 / abs(middle) if middle else math.inf


def report(results: dict[str, list[dict[str, Any]]], targets: list[str],
           args: argparse.Namespace) -> None:
    windows: dict[tuple[str, float], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list))
    for target, rows in results.items():
        for row in rows:
            if row["window"] != "setup":
                windows[(row["window"], row["rate"])][target].append(row)
    print(f"\nM={args.matches} S={args.spectators}, medians of {args.runs} alternated runs, "
          f"{args.seconds:g} s windows after {args.warmup:g} s warm-up; server on CPU "
          f"{SERVER_CPU}, generator on CPU {GENERATOR_CPU}")
    first, others = targets[0], targets[1:]
    saturation: dict[str, float] = {}
    steadies: dict[float, dict[str, float]] = {}
    storms: dict[float, dict[str, float]] = {}
    for (window, rate), by_target in sorted(windows.items(), key=lambda kv: (kv[0][0] != "steady",
                                                                            kv[0][1])):
        figures = FIGURES + (STORM_FIGURES if window == "storm" else [])
        medians = {t: {key: median([r.get(key) for r in rows]) for key, _ in figures}
                   for t, rows in by_target.items()}
        spreads = {t: {key: spread([r.get(key) for r in rows]) for key, _ in figures}
                   for t, rows in by_target.items()}
        if window == "storm" and first in medians:
            storms[rate] = medians[first]
        print(f"\nR = {rate:g} throws per player per second ({window})")
        shown = [t for t in targets if t in medians]
        ratios = [t for t in others if t in medians] if first in medians else []
        columns = [(t, max(11, len(t) + 2)) for t in shown]
        ratio_columns = [(t, max(11, len(first) + len(t) + 3)) for t in ratios]
        print(f"{'':26}" + "".join(f"{t:>{w}}" for t, w in columns)
              + "".join(f"{first + '/' + t:>{w}}" for t, w in ratio_columns)
              + "".join(f"{'±' + t:>{w}}" for t, w in columns))
        for key, label in figures:
            digits = 2 if key.endswith(("share", "1k_throws")) else 1
            row = f"{label:26}" + "".join(f"{medians[t][key]:{w}.{digits}f}" for t, w in columns)
            for t, w in ratio_columns:
                ours, theirs = medians[first][key], medians[t][key]
                row += f"{ours / theirs:{w}.2f}" if theirs else f"{'-':>{w}}"
            for t, w in columns:
                row += f"{spreads[t][key]:{w}.1%}"
            print(row)
        if window == "steady":
            if first in medians:
                steadies[rate] = medians[first]
            for t in shown:
                if medians[t]["p99_ms"] < 100:
                    saturation[t] = max(saturation.get(t, 0.0), medians[t]["throws_per_s"])
    print("\nHighest throughput with p99 under 100 ms (throws/s): " + ", ".join(
        f"{t} {saturation.get(t, 0.0):.0f}" for t in targets))
    if first in saturation:
        print(", ".join(f"{first}/{t} {saturation[first] / saturation[t]:.2f}"
                        for t in others if saturation.get(t)))
    for rate, stormy in storms.items():
        calm = steadies[rate]
        per_run = {window: ", ".join(f"{row['p99_ms']:.1f}"
                                     for row in windows[(window, rate)][first])
                   for window in ("steady", "storm")}
        print(f"Storm of {args.storm:g} sign-ups/s at R={rate:g} ({first}): p99 "
              f"{calm['p99_ms']:.1f} -> {stormy['p99_ms']:.1f} ms "
              f"({stormy['p99_ms'] / calm['p99_ms']:.2f}x), "
              f"{stormy['sign_ups_per_s']:.1f} sign-ups answered/s; p99 per run, calm: "
              f"{per_run['steady']}; storm: {per_run['storm']}")
    setups = {t: median([r["users_s"] + r["matches_s"] for r in rows if r["window"] == "setup"])
              for t, rows in results.items()}
    print("Set-up time (s): " + ", ".join(f"{t} {s:.1f}" for t, s in setups.items()))


def main(args: argparse.Namespace) -> None:
    install_peer()
    targets = args.targets.split(",")
    with contextlib.ExitStack() as stack:
        args.baseline_root = None
        if args.baseline:
            args.baseline_root = stack.enter_context(checkout(args.baseline))
            if not any(t.split("+")[0] == "baseline" for t in targets):
                targets.insert(0, "baseline")
        results: dict[str, list[dict[str, Any]]] = {target: [] for target in targets}
        for run in range(args.runs):
            for target in targets:
                with start(target, args) as server:
                    rows = generate(server, args)
                results[target].extend(rows)
                for row in rows:
                    print(f"run {run + 1} {target}: " + json.dumps(row), flush=True)
    report(results, targets, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="arena,relay,colyseus")
    parser.add_argument("--baseline", metavar="REV",
                        help="also run Arena as it was at this git revision, first")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--matches", type=int, default=1000)
    parser.add_argument("--spectators", type=int, default=2)
    parser.add_argument("--rates", default="0.5,1,1.5,2,2.5,4,8",
                        help="throws per player per second, one window each, in this order")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--target-score", type=int, default=99,
                        help="a match ends at this score and its table starts another")
    parser.add_argument("--storm", type=float, default=0,
                        help="also measure Arena during this many sign-ups per second")
    parser.add_argument("--bcrypt-rounds", type=int, default=4,
                        help="Arena's bcrypt cost: 4 makes set-up quick; use the server's "
                             "default, 12, with --storm (and fewer --matches)")
    if sys.platform != "linux":
        parser.error("the benchmark reads /proc and pins processes with taskset: Linux only")
    os.sched_setaffinity(0, {GENERATOR_CPU})
    main(parser.parse_args())
