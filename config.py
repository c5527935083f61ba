"""Every setting of the server: the ``Config`` dataclass and its command line.

Each field is a flag (``--name``) with an environment twin (``ARENA_<NAME>``,
or the field's ``env``); the flag wins, then the environment, then the
default.  The parser is made from the fields, so the two cannot disagree,
and ``--help`` lists exactly what ``Config`` holds.  ``server.py``, the
handlers and the actors all read their settings from here.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → the networks; a bad entry raises
    ``ValueError`` naming it (the configuration is refused at start-up)."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not an address or CIDR block: {entry!r}") from None
    return tuple(networks)



@dataclass
class Config:
    """Every setting of the server, with its default."""

    address: str = field(default="127.0.0.1", metadata={"help": "listen address"})
    port: int = field(default=8000, metadata={"help": "listen port (0: any free port)"})
    data_dir: Path = field(default=Path("./var/"), metadata={
        "help": "folder for the embedded database and the generated secret", "shown": "./var/"})
    mongodb_uri: str = field(default="", metadata={
        "help": "use this MongoDB instead of the embedded database", "env": "MONGODB_URI",
        "secret": True})
    database: str = field(default="arena", metadata={"help": "database name"})
    node_name: str = field(default="", metadata={
        "help": "this server's name among the servers sharing the database, in logs and "
                "metrics (default: host name and port)"})
    workers: int = field(default=1, metadata={
        "help": "nodes to run on this machine behind the one --port, on the one database "
                "(the embedded one, or MONGODB_URI); each holds its matches and serves all"})
    reuse_port: int = field(default=0, metadata={
        "help": "1: share --port with other servers on this machine (SO_REUSEPORT), and "
                "listen on a port of its own for the other nodes; set by --workers"})
    node_url: str = field(default="", metadata={
        "help": "where the other servers reach this one, to pass it the sockets and requests "
                "of the matches it holds (default: http://ADDRESS:PORT, or the host name "
                "when listening on 0.0.0.0)"})
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
    matchmaking_window: int = field(default=100, metadata={
        "help": "elo difference a matchmaking ticket accepts when it is queued"})
    matchmaking_widen: int = field(default=50, metadata={
        "help": "elo added to a ticket's window for every MATCHMAKING_EVERY seconds it waits"})
    matchmaking_every: float = field(default=5.0, metadata={
        "help": "seconds of waiting that widen a ticket's window by MATCHMAKING_WIDEN"})
    journal_interval: float = field(default=0.005, metadata={
        "help": "least seconds between two writes of the match journal; what is appended "
                "meanwhile goes in one write (longer: fewer writes and less CPU under load, "
                "an append waits up to that much longer)"})
    checkpoint_interval: float = field(default=30.0, metadata={
        "help": "seconds between checkpoints of live matches into a fresh journal segment "
                "(older segments are dropped then)"})
    elo_k: float = field(default=100.0, metadata={"help": "elo K factor"})
    tick_rate: int = field(default=30, metadata={
        "help": "simulation steps per second of realtime games that do not fix their "
                "own; every socket gets a state frame after each (or at the game's "
                "send_rate)"})
    shutdown_timeout: float = field(default=10.0, metadata={
        "help": "on SIGTERM, seconds to let requests in flight finish (and the most each "
                "later closing step may take)"})
    games: str = field(default="", metadata={
        "help": "games to load besides the shipped ones, comma-separated: "
                "package.module:Class or package.module (which registers its own); "
                "installed arena.games entry points load too"})
    default_game: str = field(default="rps", metadata={
        "help": "game of a match created without one (a shipped game or a loaded one)"})
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
    trusted_proxies: str = field(default="", metadata={
        "help": "comma-separated addresses and CIDR blocks of the reverse proxies in front; "
                "from those only, X-Forwarded-For names the client (throttles, limits, logs) "
                "and X-Forwarded-Proto: https makes cookies Secure"})
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


#: Where ``server.py database`` listens unless told otherwise (MongoDB's port).
DATABASE_PORT = 27017

_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "Path": Path}


def _env_name(f: Any) -> str:
    return str(f.metadata.get("env", "ARENA_" + f.name.upper()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="server.py", allow_abbrev=False,
        description="Arena game server.  Commands: (none) serve; "
                    "'admin grant USERNAME' / 'admin revoke USERNAME' manage administrators; "
                    "'database' runs the embedded database alone, for several servers "
                    f"(--port, default {DATABASE_PORT}; 0: a free one).",
    )
    parser.add_argument("command", nargs="*",
                        help="admin grant|revoke USERNAME, admin cancel-match ID…, or database")
    for f in fields(Config):
        parser.add_argument(
            "--" + f.name.replace("_", "-"), dest=f.name, type=_TYPES[str(f.type)], default=None,
            help=f"{f.metadata['help']} [env {_env_name(f)}; default {_shown_default(f)}]",
        )
    return parser


def valid_command(command: list[str]) -> bool:
    if command == ["database"]:
        return True
    if command[:2] == ["admin", "cancel-match"]:
        return len(command) > 2 and all(part.isascii() and part.isdigit()
                                        for part in command[2:])
    return len(command) == 3 and command[0] == "admin" and command[1] in ("grant", "revoke")


def parse(argv: list[str] | None = None) -> tuple[Config, list[str]]:
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    values: dict[str, Any] = {}
    for f in fields(Config):
        given = getattr(args, f.name)
        if given is None and _env_name(f) in os.environ:
            given = _TYPES[str(f.type)](os.environ[_env_name(f)])
        if given is not None:
            values[f.name] = given
    command = list(args.command)
    if command and not valid_command(command):
        parser.error("commands: admin grant USERNAME | admin revoke USERNAME | "
                     "admin cancel-match ID [ID …] | database")
    if command == ["database"] and args.port is None and "ARENA_PORT" not in os.environ:
        values["port"] = DATABASE_PORT
    try:
        parse_networks(values.get("trusted_proxies", ""))
    except ValueError as error:
        parser.error(f"--trusted-proxies: {error}")
    for f in fields(Config):
        allowed = f.metadata.get("choices")
        if allowed and values.get(f.name, f.default) not in allowed:
            parser.error(f"--{f.name.replace('_', '-')} must be one of {', '.join(allowed)}")
    return Config(**values), command


def public_argv(argv: list[str]) -> list[str]:
    """``argv`` without the secret settings (``--cookie-secret S``,
    ``--mongodb-uri=U``): what may go on another process's command line, which
    every local user can read; secrets go through the environment."""
    secret = {"--" + f.name.replace("_", "-") for f in fields(Config) if f.metadata.get("secret")}
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in secret:
            skip = True
        elif arg.partition("=")[0] not in secret:
            kept.append(arg)
    return kept


# -- the README's table ----------------------------------------------------------------

README = Path(__file__).with_name("README.md")
TABLE_BEGIN = "<!-- configuration table: made by `python config.py --readme` -->"
TABLE_END = "<!-- end of the configuration table -->"


def _shown_default(f: Any) -> str:
    if "shown" in f.metadata:
        return str(f.metadata["shown"])
    if f.default == "":
        return "(unset)"
    if isinstance(f.default, float) and f.default.is_integer():
        return str(int(f.default))
    return str(f.default)


def markdown_table() -> str:
    """Every setting as a Markdown table (flag, environment, default, meaning),
    made from ``Config`` as ``--help`` is, so the README cannot disagree."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for f in fields(Config):
        flag = "--" + f.name.replace("_", "-")
        meaning = f.metadata["help"].replace("|", "\\|")
        rows.append(f"| `{flag}` | `{_env_name(f)}` | `{_shown_default(f)}` | {meaning} |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between the table's markers replaced by ``markdown_table()``."""
    start = readme.index(TABLE_BEGIN) + len(TABLE_BEGIN)
    end = readme.index(TABLE_END)
    return readme[:start] + "\n" + markdown_table() + "\n" + readme[end:]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--readme"]:
        README.write_text(readme_with_table(README.read_text()))
    else:
        print(markdown_table())
