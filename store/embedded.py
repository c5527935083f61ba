"""The embedded database: a child process speaking the MongoDB wire protocol.

When ``MONGODB_URI`` is not set, Arena runs its own database next to itself:
``mongod`` when one is on ``PATH``, otherwise FerretDB with its SQLite backend
(data in one folder, no server to install).  FerretDB is built once from the
Go module proxy into a cache folder outside the checkout, so a fresh clone
reuses the binary.

The child never outlives the server: it is started with ``PR_SET_PDEATHSIG``
so the kernel kills it if the server dies, even by SIGKILL, and its pid is
recorded in the data directory so the next start on the same directory can
find it (``find_running``, used by ``server.py admin``) or replace it.

Everything here is synchronous: it runs before the event loop starts and
after it stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("arena.store.embedded")

FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"

#: Source changes applied before building: (file, text, replacement), and
#: whole files added from ``store/ferretdb/`` (``FERRETDB_FILES``).  Bump
#: ``BUILD_TAG`` when they change, so a cached binary without them is rebuilt.
#:
#: 1. The ``_id`` lookup.  FerretDB 1.24's SQLite backend creates each
#:    collection's unique ``_id`` index on the expression
#:    ``_ferretdb_sjson->"_id"`` but looks documents up with
#:    ``_ferretdb_sjson->'$._id'``: the same value, a different expression, so
#:    SQLite's planner never uses the index and every find, update and delete
#:    by ``_id`` scans the whole table (``EXPLAIN QUERY PLAN``: ``SCAN``
#:    instead of ``SEARCH ... USING INDEX``).  Writing the lookup the way the
#:    index is written fixes it.
#: 2. Pages by ``_id``.  The backend answers no filter but ``{_id: value}``
#:    from an index and sorts everything else in memory, so a list reads its
#:    whole collection.  With these changes a filter that is exactly a range
#:    of string ids (``store/ferretdb/idrange.go``) is answered from an index
#:    on the id's text, sorted by it when the find sorts by ``_id``, and cut
#:    to ``skip + limit`` rows: a page costs the page.  Each collection gets
#:    that index when it is made, and existing ones when the database opens.
#:    A filter that is exactly ``{_id: {$in: [<strings>]}}`` (a page's items
#:    fetched by the ids its entries name) is answered from the ``_id`` index,
#:    and so is one that names an ``_id`` among other conditions (a
#:    conditional update's ``{_id: x, status: "waiting"}``).
#: 3. Atomic writes (``store/ferretdb/arena_writes.go``).  The backend applies
#:    an update, a findAndModify or a delete as a read and a write with
#:    nothing in between, so two connections could both ``$inc`` from the same
#:    value, or both pass one condition.  These commands run one at a time,
#:    which makes each atomic, as MongoDB makes it: several processes can
#:    share the database and keep every invariant.
_ID_TEXT = "DefaultColumn + \"->>'$._id'\""


def _sort_contract(params: str) -> tuple[str, str, str]:
    """The backend contract's check of a sort (for ``QueryParams`` or
    ``ExplainParams``): ``{_id: 1 | -1}`` is allowed beside ``$natural``, with
    a range of string ids only."""
    head = (f"\t\tparams = new({params})\n\t}}\n\n\tif params.Sort.Len() != 0 {{\n"
            "\t\tmust.BeTrue(params.Sort.Len() == 1)\n")
    return ("internal/backends/collection.go",
            head + "\t\tsortValue := params.Sort.Map()[\"$natural\"].(int64)\n",
            head + "\t\tsortValue, natural := params.Sort.Map()[\"$natural\"].(int64)\n"
            "\t\tif !natural { // Arena: {_id: 1 | -1}, with a range of string ids only\n"
            "\t\t\t_, isRange := types.IDRange(params.Filter)\n"
            "\t\t\tmust.BeTrue(isRange)\n"
            "\t\t\tsortValue = params.Sort.Map()[\"_id\"].(int64)\n"
            "\t\t}\n")


def _page_pushdown(handler: str) -> tuple[str, str, str]:
    """In ``find`` and its ``explain``: a range of string ids sorted by
    ``_id`` is answered in order by the backend, so the first skip + limit
    rows are all the page needs."""
    limit = ("\tif !h.DisablePushdown && params.Filter.Len() == 0 && params.Sort.Len() == 0 && "
             "params.Skip == 0 {\n\t\tqp.Limit = params.Limit\n\t}\n")
    return (f"internal/handler/{handler}", limit,
            limit + "\n"
            "\t// Arena: a range of string ids sorted by _id is answered in order by the\n"
            "\t// backend, so the first skip + limit rows are all the page needs.\n"
            "\tif _, ok := types.IDRange(params.Filter); ok && !h.DisablePushdown && "
            "params.Sort.Len() == 1 && params.Sort.Keys()[0] == \"_id\" {\n"
            "\t\tqp.Sort = params.Sort\n"
            "\t\tif params.Limit != 0 {\n"
            "\t\t\tqp.Limit = params.Limit + params.Skip\n"
            "\t\t}\n"
            "\t}\n")


def _signature(command: str) -> str:
    """The first line of the handler of ``command`` (``MsgUpdate``…)."""
    return (f"func (h *Handler) Msg{command}(connCtx context.Context, msg *wire.OpMsg) "
            "(*wire.OpMsg, error) {\n")


FERRETDB_PATCHES = [
    ("internal/backends/sqlite/metadata/metadata.go",
     "IDColumn = DefaultColumn + \"->'$._id'\"",
     'IDColumn = DefaultColumn + `->"_id"`\n\n'
     "\t// IDTextColumn is the _id's text (for string ids); Arena: ranges and order by _id.\n"
     f"\tIDTextColumn = {_ID_TEXT}\n\n"
     "\t// IDTypeColumn is the _id's type as the stored schema records it.\n"
     "\tIDTypeColumn = DefaultColumn + `->>'$.\"$s\".p._id.t'`"),
    *(_sort_contract(params) for params in ("QueryParams", "ExplainParams")),
    ("internal/backends/sqlite/collection.go",
     "\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n",
     "\tif clause, clauseArgs, ok := arenaIDClause(params.Filter); ok {\n"
     "\t\twhereClause, args = clause, clauseArgs\n"
     "\t}\n\n"
     "\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n"),
    ("internal/backends/sqlite/collection.go",
     "\torderByClause := prepareOrderByClause(params.Sort)\n",
     "\tif clause, clauseArgs, ok := arenaIDClause(params.Filter); ok {\n"
     "\t\tfilterPushdown, whereClause, args = true, clause, clauseArgs\n"
     "\t}\n\n"
     "\torderByClause := prepareOrderByClause(params.Sort)\n"),
    ("internal/backends/sqlite/query.go",
     "\tif sort.Len() != 1 {\n\t\treturn \"\"\n\t}\n",
     "\tif sort.Len() != 1 {\n\t\treturn \"\"\n\t}\n\n"
     "\t// Arena: only ever asked with a range of string ids (see msg_find.go)\n"
     "\tif v, err := sort.Get(\"_id\"); err == nil {\n"
     "\t\tif v.(int64) == -1 {\n"
     "\t\t\treturn \" ORDER BY \" + metadata.IDTextColumn + \" DESC\"\n"
     "\t\t}\n"
     "\t\treturn \" ORDER BY \" + metadata.IDTextColumn\n"
     "\t}\n"),
    *(_page_pushdown(handler) for handler in ("msg_find.go", "msg_explain.go")),
    *((f"internal/handler/msg_{name.lower()}.go", _signature(name),
       _signature(name) + "\tarenaWrites.Lock() // Arena: see arena_writes.go\n"
       "\tdefer arenaWrites.Unlock()\n\n")
      for name in ("Update", "FindAndModify", "Delete")),
    ("internal/backends/sqlite/metadata/registry.go",
     "\tr.colls[dbName] = colls\n",
     "\tr.colls[dbName] = colls\n\n"
     "\tfor _, c := range colls {\n"
     "\t\tif _, err = db.ExecContext(ctx, idTextIndex(c.TableName)); err != nil {\n"
     "\t\t\treturn lazyerrors.Error(err)\n"
     "\t\t}\n"
     "\t}\n"),
    ("internal/backends/sqlite/metadata/registry.go",
     "\tif err != nil {\n\t\t_, _ = r.collectionDrop(ctx, dbName, collectionName)\n"
     "\t\treturn false, lazyerrors.Error(err)\n\t}\n\n\treturn true, nil\n",
     "\tif err != nil {\n\t\t_, _ = r.collectionDrop(ctx, dbName, collectionName)\n"
     "\t\treturn false, lazyerrors.Error(err)\n\t}\n\n"
     "\tif _, err = db.ExecContext(ctx, idTextIndex(tableName)); err != nil {\n"
     "\t\t_, _ = r.collectionDrop(ctx, dbName, collectionName)\n"
     "\t\treturn false, lazyerrors.Error(err)\n\t}\n\n\treturn true, nil\n"),
]
#: Files added to FerretDB's source: (file in ``store/ferretdb/``, where it goes).
FERRETDB_FILES = [
    ("idrange.go", "internal/types/idrange.go"),
    ("idrange_sqlite.go", "internal/backends/sqlite/idrange_sqlite.go"),
    ("idtext_index.go", "internal/backends/sqlite/metadata/idtext_index.go"),
    ("arena_writes.go", "internal/handler/arena_writes.go"),
]
BUILD_TAG = "arena7"
_PIDFILE = "embedded-db.json"
_PR_SET_PDEATHSIG = 1


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be built or started."""


def cache_dir() -> Path:
    """Where built binaries live: outside any checkout, shared by all of them."""
    explicit = os.environ.get("ARENA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "arena"


def ferretdb_binary() -> Path:
    return cache_dir() / f"ferretdb-{FERRETDB_VERSION}-{BUILD_TAG}" / "ferretdb"


def ensure_ferretdb() -> Path:
    """Return the FerretDB binary, building it with Go on first use.

    A plain ``go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2``
    does not give a working binary: the module zip lacks the generated
    ``build/version/version.txt``, and such a build panics at start-up
    ("Invalid build/version/version.txt file content").  So the module is
    downloaded (``go mod download``), copied to a writable folder, given its
    ``version.txt`` and the fixes in ``FERRETDB_PATCHES``, and built there.
    A file lock keeps two concurrent first runs from building twice.
    """
    binary = ferretdb_binary()
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            _build_ferretdb(binary)
    return binary


def _build_ferretdb(binary: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise EmbeddedDatabaseError(
            "Neither mongod nor Go is installed: install one, or set MONGODB_URI."
        )
    log.warning("building FerretDB %s into %s (once)", FERRETDB_VERSION, binary.parent)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    download = subprocess.run(
        [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
        cwd=binary.parent, env=env, capture_output=True, text=True,
    )
    if download.returncode != 0:
        raise EmbeddedDatabaseError(f"cannot download FerretDB: {download.stdout}{download.stderr}")
    source = binary.parent / "src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(json.loads(download.stdout)["Dir"], source)
    for path in source.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    for relative, text, replacement in FERRETDB_PATCHES:
        path = source / relative
        code = path.read_text()
        if text not in code:
            raise EmbeddedDatabaseError(f"cannot patch FerretDB: {text!r} not in {relative}")
        path.write_text(code.replace(text, replacement))
    for name, relative in FERRETDB_FILES:
        shutil.copyfile(Path(__file__).parent / "ferretdb" / name, source / relative)
    partial = binary.with_suffix(".partial")
    build = subprocess.run(
        [go, "build", "-trimpath", "-o", str(partial), "./cmd/ferretdb"],
        cwd=source, env=env, capture_output=True, text=True,
    )
    if build.returncode != 0:
        raise EmbeddedDatabaseError(f"cannot build FerretDB: {build.stderr}")
    partial.rename(binary)
    shutil.rmtree(source, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def die_with_parent() -> None:
    """Runs in the child before exec: ask the kernel to SIGKILL it when we die."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _is_database_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    name = os.path.basename(cmdline.split(b"\0", 1)[0])
    return name in (b"ferretdb", b"mongod")


@dataclass
class RunningDatabase:
    pid: int
    port: int
    kind: str

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"


def find_running(data_dir: Path) -> RunningDatabase | None:
    """The embedded database a live process left running in ``data_dir``, if any."""
    try:
        record = json.loads((data_dir / _PIDFILE).read_text())
        found = RunningDatabase(int(record["pid"]), int(record["port"]), str(record["kind"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if _is_database_process(found.pid) and _port_open(found.port):
        return found
    return None


class EmbeddedDatabase:
    """One database child process serving the data in ``data_dir``."""

    def __init__(self, data_dir: Path, *, log_level: str = "warn", sync: str = "normal") -> None:
        """``sync`` is SQLite's ``synchronous`` setting for FerretDB's files.

        ``normal`` (the default): a write is acknowledged once it is in
        SQLite's write-ahead log in the operating system's hands, so it
        survives the server or the database process dying (even by SIGKILL)
        but the last commits may be lost if the machine itself loses power:
        the durability of MongoDB's default write concern, whose journal is
        flushed every 100 ms.  ``full``: every commit waits for an fsync
        (slower inserts).  Ignored for ``mongod``.
        """
        if sync not in ("normal", "full"):
            raise ValueError(f"sync must be 'normal' or 'full', not {sync!r}")
        self.data_dir = Path(data_dir).resolve()
        self.log_level = log_level
        self.sync = sync
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.kind = ""

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60.0, port: int = 0) -> str:
        """Start the database on ``port`` (0: a free one); its URI once it listens."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._replace_stale()
        self.port = port or free_port()
        command = self._command()
        log_path = self.data_dir / f"{self.kind}.log"
        with open(log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent, start_new_session=True,
            )
        (self.data_dir / _PIDFILE).write_text(
            json.dumps({"pid": self.process.pid, "port": self.port, "kind": self.kind})
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self.process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise EmbeddedDatabaseError(f"{self.kind} exited at start-up:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedDatabaseError(f"{self.kind} did not listen within {timeout} s")
            time.sleep(0.05)
        log.info("embedded %s (pid %d) on %s", self.kind, self.process.pid, self.uri)
        return self.uri

    def _command(self) -> list[str]:
        mongod = shutil.which("mongod")
        if mongod:
            self.kind = "mongod"
            db_path = self.data_dir / "mongod"
            db_path.mkdir(exist_ok=True)
            return [mongod, "--dbpath", str(db_path), "--bind_ip", "127.0.0.1",
                    "--port", str(self.port), "--quiet"]
        self.kind = "ferretdb"
        db_path = self.data_dir / "ferretdb"
        db_path.mkdir(exist_ok=True)
        return [
            str(ensure_ferretdb()),
            "--handler=sqlite",
            f"--sqlite-url=file:{db_path}/?_pragma=synchronous({self.sync})",
            f"--state-dir={db_path}",
            f"--listen-addr=127.0.0.1:{self.port}",
            "--debug-addr=-",
            "--telemetry=disable",
            f"--log-level={self.log_level}",
        ]

    def _replace_stale(self) -> None:
        """Stop a database an earlier run left behind on this data directory."""
        stale = find_running(self.data_dir)
        if stale is None:
            return
        log.warning("stopping the %s (pid %d) left by an earlier run", stale.kind, stale.pid)
        _terminate(stale.pid)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(OSError):
            (self.data_dir / _PIDFILE).unlink()

    def kill(self) -> None:
        """SIGKILL the child at once (for tests of a database going away)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _terminate(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_database_process(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_database_process(pid):
            os.kill(pid, signal.SIGKILL)
