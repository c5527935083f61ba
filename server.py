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

import argparse
import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import re
import secrets
import signal
import sys
from collections.abc import Awaitable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger("arena")


@dataclass
class Config:
    """Every setting of the server, with its default."""

    address: str = field(default="127.0.0.1", metadata={"help": "listen address"})
    port: int = field(default=8000, metadata={"help": "listen port (0: any free port)"})
    data_dir: Path = field(default=Path("./var/"), metadata={
        "help": "folder for the embedded database and the generated secret"})
    mongodb_uri: str = field(default="", metadata={
        "help": "use this MongoDB instead of the embedded database", "env": "MONGODB_URI",
        "secret": True})
    database: str = field(default="arena", metadata={"help": "database name"})
    embedded_sync: str = field(default="normal", metadata={
        "help": "the embedded FerretDB's SQLite sync: normal (survives a crash of the "
                "server or database, not a power loss, like MongoDB's default write concern) "
                "or full (an fsync per commit)", "choices": ("normal", "full")})
    cookie_secret: str = field(default="", metadata={
        "help": "secret for signed cookies and API tokens (default: generated and kept "
                "in DATA_DIR/secret.key; give the same one to every process)", "secret": True})
    grace_period: float = field(default=30.0, metadata={
        "help": "seconds a disconnected participant has to come back"})
    turn_timeout: float = field(default=60.0, metadata={
        "help": "seconds a player has for a turn (connect4) or a round (rps)"})
    idle_timeout: float = field(default=600.0, metadata={
        "help": "seconds an unstarted match lives without its host attached"})
    journal_interval: float = field(default=0.005, metadata={
        "help": "least seconds between two writes of the match journal; what is appended "
                "meanwhile goes in one write (longer: fewer writes and less CPU under load, "
                "an append waits up to that much longer)"})
    checkpoint_interval: float = field(default=30.0, metadata={
        "help": "seconds between checkpoints of live matches into a fresh journal segment "
                "(older segments are dropped then)"})
    elo_k: float = field(default=100.0, metadata={"help": "elo K factor"})
    shutdown_timeout: float = field(default=10.0, metadata={
        "help": "on SIGTERM, seconds to let requests in flight finish (and the most each "
                "later closing step may take)"})
    default_game: str = field(default="rps", metadata={"help": "game of a match created "
                                                                "without one (rps, connect4)"})
    frame_limit: int = field(default=4096, metadata={
        "help": "largest client WebSocket frame in bytes (larger: close 1009)"})
    rate_limit: float = field(default=20.0, metadata={
        "help": "client frames per second per socket"})
    rate_burst: int = field(default=40, metadata={"help": "frames a socket may send in a burst"})
    outgoing_limit: int = field(default=256, metadata={
        "help": "frames queued to one socket before it is closed as too slow (1008)"})
    socket_send_buffer: int = field(default=0, metadata={
        "help": "kernel send buffer per WebSocket in bytes (0: the OS default); smaller "
                "buffers find slow readers sooner and hold less memory per socket"})
    body_limit: int = field(default=65536, metadata={"help": "largest request body in bytes"})
    header_timeout: float = field(default=10.0, metadata={
        "help": "seconds a connection has to send a request's headers (from connecting, "
                "or from the previous answer on a kept-alive connection) before it is closed"})
    body_timeout: float = field(default=60.0, metadata={
        "help": "seconds a request has to send its body before the connection is closed"})
    connections_per_address: int = field(default=256, metadata={
        "help": "most connections one client address may hold while they speak HTTP "
                "(WebSockets, once open, do not count; 0: no bound)"})
    allowed_origins: str = field(default="", metadata={
        "help": "comma-separated extra origins allowed for cookie-authenticated sockets"})
    bcrypt_rounds: int = field(default=12, metadata={"help": "bcrypt cost (lower only in tests)"})
    event_loop: str = field(default="uvloop", metadata={
        "help": "uvloop (libuv, faster sockets and callbacks) or asyncio (the standard "
                "library's loop)", "choices": ("uvloop", "asyncio")})
    log_level: str = field(default="info", metadata={"help": "debug, info, warning, error"})

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    def describe(self) -> list[str]:
        """``name = value`` lines for the start-up log, secrets masked."""
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret") and value:
                value = re.sub(r"//[^@/]*@", "//***@", str(value)) if "://" in str(value) \
                    else "***"
            lines.append(f"  {f.name} = {value}")
        return lines


_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "Path": Path}


def _env_name(f: Any) -> str:
    return f.metadata.get("env", "ARENA_" + f.name.upper())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="server.py",
        description="Arena game server.  Commands: (none) serve; "
                    "'admin grant USERNAME' / 'admin revoke USERNAME' manage administrators.",
    )
    parser.add_argument("command", nargs="*", help="admin grant|revoke USERNAME")
    for f in fields(Config):
        parser.add_argument(
            "--" + f.name.replace("_", "-"), dest=f.name, type=_TYPES[f.type], default=None,
            help=f"{f.metadata['help']} [env {_env_name(f)}; default {f.default}]",
        )
    return parser


def parse(argv: list[str] | None = None) -> tuple[Config, list[str]]:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    values: dict[str, Any] = {}
    for f in fields(Config):
        given = getattr(args, f.name)
        if given is None and _env_name(f) in os.environ:
            given = _TYPES[f.type](os.environ[_env_name(f)])
        if given is not None:
            values[f.name] = given
    command = list(args.command)
    if command and not (len(command) == 3 and command[0] == "admin"
                        and command[1] in ("grant", "revoke")):
        parser.error("commands: admin grant USERNAME | admin revoke USERNAME")
    for f in fields(Config):
        allowed = f.metadata.get("choices")
        if allowed and values.get(f.name, f.default) not in allowed:
            parser.error(f"--{f.name.replace('_', '-')} must be one of {', '.join(allowed)}")
    return Config(**values), command


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
