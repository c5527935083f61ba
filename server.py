"""Arena's entry point: configuration, the database, the application, signals.

Run it::

    python server.py --port 8000 --data-dir ./var/
    python server.py admin grant <username>

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
import secrets
import signal
import sys
from collections.abc import Awaitable
from typing import Any

from config import Config, parse

log = logging.getLogger("arena")


def load_secret(config: Config) -> bytes:
    """The configured secret, or one generated once and kept in the data directory."""
    if config.cookie_secret:
        return config.cookie_secret.encode()
    path = config.data_dir / "secret.key"
    if not path.exists():
        config.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


# -- serving ------------------------------------------------------------------


async def serve(config: Config, uri: str, *, indexed_lookups: bool = True) -> None:
    from tornado.netutil import bind_sockets

    from actors.registry import Registry
    from handlers.app import make_app, make_server
    from handlers.context import AppContext
    from handlers.credentials import PasswordHasher
    from store import Store

    store = Store(uri, config.database, exclusive=not config.mongodb_uri,
                  indexed_lookups=indexed_lookups, journal_interval=config.journal_interval)
    await store.ensure_indexes()
    await store.migrate()
    hasher = PasswordHasher(rounds=config.bcrypt_rounds)
    registry = Registry(store, config)
    await registry.restore()
    context = AppContext(config=config, store=store, hasher=hasher, secret=load_secret(config),
                         registry=registry)
    context.collectors.append(registry.collect)
    server = make_server(make_app(context), config)
    sockets = bind_sockets(config.port, config.address)
    server.add_sockets(sockets)
    # Thousands of long-lived socket objects make CPython's full collections walk
    # the whole heap and stall the loop; move what exists now out of the
    # collector's sight and collect young objects less eagerly.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    port = sockets[0].getsockname()[1]
    print(f"Arena listening on http://{config.address}:{port}/", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        server.stop()  # no new connections
        if not await context.drain(config.shutdown_timeout):
            log.warning("%d requests still running after %.0f s; closing anyway",
                        context.in_flight, config.shutdown_timeout)
        await bounded(registry.shutdown(), "closing the matches", config.shutdown_timeout)
        await bounded(server.close_all_connections(), "closing connections",
                      config.shutdown_timeout)
        hasher.close()
        await bounded(store.close(), "closing the database client", config.shutdown_timeout)


async def bounded(step: Awaitable[None], what: str, timeout: float) -> None:
    """Await one step of the shutdown for at most ``timeout`` seconds: a request
    or an actor waiting on a database that stopped answering must not keep the
    process from exiting."""
    try:
        await asyncio.wait_for(step, timeout)
    except TimeoutError:
        log.warning("%s took over %.0f s; going on", what, timeout)


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
    FerretDB, which finds documents by scanning (``store.indexes``).

    With ``MONGODB_URI`` that database is used as is; otherwise a new embedded
    database on the data directory, stopped when ``body`` returns or raises.
    """
    from store.embedded import EmbeddedDatabase

    if config.mongodb_uri:
        return run_loop(config, body(config.mongodb_uri, True))
    database = EmbeddedDatabase(config.data_dir, log_level="warn", sync=config.embedded_sync)
    try:
        uri = database.start()
        return run_loop(config, body(uri, database.kind != "ferretdb"))
    finally:
        database.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_server(config: Config) -> int:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(config.data_dir / "server.lock", "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"Another Arena server is running on {config.data_dir}.", file=sys.stderr)
        return 1
    print("Arena configuration:\n" + "\n".join(config.describe()), flush=True)
    # SIGTERM before the loop runs (while the database starts) still stops cleanly.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        run_with_database(
            config, lambda uri, lookups: serve(config, uri, indexed_lookups=lookups))
    return 0


# -- administration -------------------------------------------------------------


def run_admin(config: Config, action: str, username: str) -> int:
    from store import Store
    from store.embedded import find_running

    async def set_admin(uri: str, indexed_lookups: bool = True) -> bool:
        store = Store(uri, config.database, indexed_lookups=indexed_lookups)
        try:
            return await store.users.set_admin(username, action == "grant") is not None
        finally:
            await store.close()

    running = None if config.mongodb_uri else find_running(config.data_dir.resolve())
    if running is not None:
        found = asyncio.run(set_admin(running.uri))
    else:
        found = run_with_database(config, set_admin)
    if not found:
        print(f"No user named {username!r}.", file=sys.stderr)
        return 1
    print(f"{username} is {'now' if action == 'grant' else 'no longer'} an administrator.")
    return 0


def main(argv: list[str] | None = None) -> int:
    config, command = parse(argv)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if command:
        return run_admin(config, command[1], command[2])
    return run_server(config)


if __name__ == "__main__":
    sys.exit(main())
