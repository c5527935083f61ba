"""Arena's entry point: configuration, the database, the application, signals.

Run it::

    python server.py --port 8000 --data-dir ./var/
    python server.py admin grant <username>
    python server.py admin cancel-match <id> [<id> …]
    python server.py database --data-dir ./var/ [--port 27017]

Every option is a command-line flag with an environment-variable twin
(``ARENA_<NAME>``; ``MONGODB_URI`` for the database); the flag wins.  Without
``MONGODB_URI`` the server runs an embedded database as its child process
(see ``store.embedded``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any

from config import Config, parse

if TYPE_CHECKING:
    from store.embedded import EmbeddedDatabase

log = logging.getLogger("arena")


# -- serving ------------------------------------------------------------------


async def serve(config: Config, uri: str, *, indexed_lookups: bool | None = None) -> None:
    from tornado.netutil import bind_sockets

    from handlers.arena import Arena

    arena = await Arena.open(config, uri, indexed_lookups=indexed_lookups)
    sockets = bind_sockets(config.port, config.address, reuse_port=bool(config.reuse_port))
    arena.server.add_sockets(sockets)
    own_port = None
    if config.reuse_port:  # the shared port reaches any node: the others need this one's own
        own = bind_sockets(0, "127.0.0.1")
        arena.server.add_sockets(own)
        own_port = own[0].getsockname()[1]
    # Thousands of long-lived socket objects make CPython's full collections walk
    # the whole heap and stall the loop; move what exists now out of the
    # collector's sight and collect young objects less eagerly.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    port = sockets[0].getsockname()[1]
    from actors.cluster.node import default_name, default_url

    # the port chosen, once bound: how this node is named and reached
    arena.node.name = config.node_name or default_name(port)
    arena.node.url = config.node_url or (
        f"http://127.0.0.1:{own_port}" if own_port else default_url(config.address, port))
    await arena.node.beat()
    print(f"Arena listening on http://{config.address}:{port}/", flush=True)
    if own_port:
        print(f"Arena node {arena.node.name} reached at {arena.node.url}/", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await arena.close()


def run_loop(config: Config, main: Any) -> Any:
    """Run the coroutine ``main`` on the configured event loop."""
    if config.event_loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    return asyncio.run(main)


def run_with_database(config: Config, body: Any) -> Any:
    """Run ``body(uri, indexed_lookups)`` (a coroutine function) against the
    configured database; ``indexed_lookups`` is false for the embedded
    FerretDB, which finds documents by scanning (``store.indexes``), and
    ``None`` for ``MONGODB_URI`` (the store asks the database what it is).

    With ``MONGODB_URI`` that database is used as is; otherwise a new embedded
    database on the data directory, stopped when ``body`` returns or raises.
    """
    if config.mongodb_uri:
        return run_loop(config, body(config.mongodb_uri, None))
    database = embedded_database(config)
    try:
        uri = database.start()
        return run_loop(config, body(uri, database.kind != "ferretdb"))
    finally:
        database.stop()


def embedded_database(config: Config) -> EmbeddedDatabase:
    """The embedded database on the data directory, as configured (not started)."""
    from store.embedded import EmbeddedDatabase

    return EmbeddedDatabase(config.data_dir, log_level="warn", sync=config.embedded_sync)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def lock_data_dir(config: Config) -> Any:
    """Hold the data directory for this process (until it exits); ``None`` if
    another server or database holds it."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(config.data_dir / "server.lock", "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"Another Arena server or database is running on {config.data_dir}.",
              file=sys.stderr)
        return None
    return lock


#: A node's exit status when its configuration keeps it out of the cluster
#: (``EX_CONFIG``): ``--workers`` does not start such a node again.
REFUSED = 78
#: ``--workers``: the wait before a node that exited is started again, doubled
#: for each exit in a row within ``STABLE`` seconds of its start, up to ``RESTART_MAX``.
RESTART_FIRST = 0.5
RESTART_MAX = 30.0
STABLE = 30.0


def load_games(config: Config) -> str | None:
    """Load the configured games and the installed ones; why not, if they
    cannot be (the server then refuses to start)."""
    from actors.games.loading import GameLoadError
    from actors.games.loading import load_games as load

    try:
        loaded = load(config.games, config.default_game)
    except GameLoadError as error:
        log.exception("loading games failed")
        return str(error)
    if loaded:
        log.info("games loaded: %s", ", ".join(loaded))
    return None


def run_server(config: Config) -> int:
    from actors.cluster.node import Refused

    if (refusal := load_games(config)) is not None:
        print(f"Arena did not start: {refusal}", file=sys.stderr, flush=True)
        return REFUSED
    lock = lock_data_dir(config)  # held while this function runs
    if lock is None:
        return 1
    print("Arena configuration:\n" + "\n".join(config.describe()), flush=True)
    # SIGTERM before the loop runs (while the database starts) still stops cleanly.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_with_database(
                config, lambda uri, lookups: serve(config, uri, indexed_lookups=lookups))
    except Refused as refusal:
        print(f"Arena did not start: {refusal}", file=sys.stderr, flush=True)
        return REFUSED
    return 0


def run_workers(config: Config, argv: list[str]) -> int:
    """``--workers N``: N nodes sharing ``--port`` (``SO_REUSEPORT``: the kernel
    spreads the connections) and one database, the embedded one run here
    unless ``MONGODB_URI`` is set.  Each node gets a data directory and a
    name of its own, and this one's secret through its environment (never
    its command line, which any local user can read).

    The nodes are supervised: one that exits is started again (after a
    back-off if it keeps exiting) while the others serve on and take its
    matches over as for any dead node.  SIGTERM or Ctrl-C stops them all."""
    import subprocess

    from actors.cluster.node import default_name
    from config import public_argv
    from handlers.arena import load_secret
    from store.embedded import die_with_parent, free_port

    if (refusal := load_games(config)) is not None:  # each node loads them again
        print(f"Arena did not start: {refusal}", file=sys.stderr, flush=True)
        return REFUSED
    lock = lock_data_dir(config)  # held while this function runs
    if lock is None:
        return 1
    port = config.port or free_port()
    name = config.node_name or default_name(port)
    database = None
    signal.signal(signal.SIGTERM, _interrupt)
    children: list[subprocess.Popen[bytes] | None] = [None] * config.workers
    try:
        uri = config.mongodb_uri
        if not uri:
            database = embedded_database(config)
            uri = database.start()
        env = {**os.environ, "MONGODB_URI": uri,
               "ARENA_COOKIE_SECRET": load_secret(config).decode()}
        command = [sys.executable, __file__, *public_argv(argv)]

        def start(n: int) -> subprocess.Popen[bytes]:
            # the command line as given, then what each node gets of its own (last wins)
            return subprocess.Popen(
                [*command, "--workers", "1", "--reuse-port", "1", "--port", str(port),
                 "--data-dir", str(config.data_dir / f"node-{n + 1}"),
                 "--node-name", f"{name}-{n + 1}"],
                env=env, preexec_fn=die_with_parent)

        started = [time.monotonic()] * config.workers
        exits = [0] * config.workers  # in a row, each soon after its start
        due = [0.0] * config.workers  # when a node that exited starts again
        for n in range(config.workers):
            children[n] = start(n)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(0.1)
                moment = time.monotonic()
                for n, child in enumerate(children):
                    if child is None:
                        if moment >= due[n]:
                            children[n], started[n] = start(n), moment
                        continue
                    code = child.poll()
                    if code is None:
                        continue
                    if code == REFUSED:
                        log.error("node %s-%d was refused (see above); stopping", name, n + 1)
                        return 1
                    exits[n] = exits[n] + 1 if moment - started[n] < STABLE else 1
                    wait = min(RESTART_MAX, RESTART_FIRST * 2 ** (exits[n] - 1))
                    log.error("node %s-%d exited (%s); starting it again in %.1f s",
                              name, n + 1, code, wait)
                    children[n], due[n] = None, moment + wait
        return 0
    finally:
        for child in children:
            if child is not None and child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            with contextlib.suppress(Exception):
                if child is not None:
                    child.wait(config.shutdown_timeout * 3)
        if database is not None:
            database.stop()
        lock.close()


def run_database(config: Config) -> int:
    """The embedded database alone, in the foreground, for servers started with
    ``MONGODB_URI`` pointing at it (``docs/deploy.md``); stops on SIGTERM or
    Ctrl-C."""
    if (lock := lock_data_dir(config)) is None:
        return 1
    database = embedded_database(config)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        uri = database.start(port=config.port)
        print(f"Arena database ({database.kind}) listening on {uri}", flush=True)
        assert database.process is not None
        try:
            code = database.process.wait()  # until SIGTERM or Ctrl-C, or it exits
        except KeyboardInterrupt:
            return 0
        print(f"The database exited with {code}; see {database.data_dir}.", file=sys.stderr)
        return 1
    finally:
        database.stop()
        lock.close()


# -- administration -------------------------------------------------------------


def with_store(config: Config, body: Any) -> Any:
    """``body(store)`` (a coroutine function) against the configured database:
    ``MONGODB_URI``, the embedded database a running server started on the
    data directory, or one started here for the purpose."""
    from store import Store
    from store.embedded import find_running

    async def run(uri: str, indexed_lookups: bool | None = None) -> Any:
        store = Store(uri, config.database, indexed_lookups=indexed_lookups)
        try:
            return await body(store)
        finally:
            await store.close()

    running = None if config.mongodb_uri else find_running(config.data_dir.resolve())
    if running is not None:
        return asyncio.run(run(running.uri))
    return run_with_database(config, run)


def run_admin(config: Config, action: str, username: str) -> int:
    async def set_admin(store: Any) -> bool:
        return await store.users.set_admin(username, action == "grant") is not None

    if not with_store(config, set_admin):
        print(f"No user named {username!r}.", file=sys.stderr)
        return 1
    print(f"{username} is {'now' if action == 'grant' else 'no longer'} an administrator.")
    return 0


def run_cancel(config: Config, match_ids: list[int]) -> int:
    """``admin cancel-match ID…``: each ongoing match cancelled, its users released."""
    from actors.cluster.ownership import cancel_by_admin

    async def cancel(store: Any) -> list[tuple[int, str | None]]:
        return [(match_id, await cancel_by_admin(store, match_id)) for match_id in match_ids]

    failed = 0
    for match_id, refusal in with_store(config, cancel):
        if refusal is None:
            print(f"Match {match_id} is cancelled; its players and spectators are released.")
        else:
            failed += 1
            print(refusal, file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    config, command = parse(argv)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if command == ["database"]:
        return run_database(config)
    if config.workers > 1:
        return run_workers(config, sys.argv[1:] if argv is None else argv)
    if command[:2] == ["admin", "cancel-match"]:
        return run_cancel(config, [int(match_id) for match_id in command[2:]])
    if command:
        return run_admin(config, command[1], command[2])
    return run_server(config)


if __name__ == "__main__":
    sys.exit(main())
