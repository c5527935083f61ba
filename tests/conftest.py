"""Fixtures: one real database server per test session, a fresh database per module.

The server is the embedded one Arena itself runs (``mongod`` if on PATH, else
FerretDB), unless ``ARENA_TEST_MONGODB_URI`` names another.  Nothing is
mocked: every test talks over the wire.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymongo
import pytest

from config import Config
from handlers.app import ArenaApplication
from handlers.arena import Arena
from handlers.context import AppContext
from handlers.security.limits import ArenaHTTPServer
from store.embedded import EmbeddedDatabase
from tests.support.client import Api
from tests.support.process import ROOT

TEST_SECRET = "arena-test-secret"


@dataclass(frozen=True)
class TestDatabase:
    uri: str
    #: whether the server finds documents through secondary indexes (not the
    #: embedded FerretDB): the tests run Arena as ``server.py`` would on it
    indexed_lookups: bool


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    explicit = os.environ.get("ARENA_TEST_MONGODB_URI")
    if explicit:
        yield TestDatabase(explicit, True)
        return
    database = EmbeddedDatabase(tmp_path_factory.mktemp("database"))
    try:
        uri = database.start()
        yield TestDatabase(uri, database.kind != "ferretdb")
    finally:
        database.stop()


@pytest.fixture(scope="session")
def database_uri(test_database: TestDatabase) -> str:
    return test_database.uri


@pytest.fixture(scope="module")
def database_name(request: pytest.FixtureRequest, database_uri: str) -> Iterator[str]:
    name = f"t_{request.module.__name__.rsplit('.', 1)[-1][:30]}_{uuid.uuid4().hex[:8]}"
    yield name
    with pymongo.MongoClient(database_uri) as client:
        client.drop_database(name)


@pytest.fixture
def config(tmp_path: Path, database_name: str) -> Config:
    return Config(data_dir=tmp_path, database=database_name, bcrypt_rounds=4,
                  cookie_secret=TEST_SECRET)


@pytest.fixture
def arena(io_loop, test_database: TestDatabase, config: Config) -> Iterator[Arena]:
    """Arena as ``server.py`` builds it (``Arena.open``: indexes, migrations,
    restore), on this module's database; closed as the server closes it."""
    arena = io_loop.run_sync(
        lambda: Arena.open(config, test_database.uri,
                           indexed_lookups=test_database.indexed_lookups))
    yield arena
    io_loop.run_sync(arena.close)


@pytest.fixture
def context(arena: Arena) -> AppContext:
    return arena.context


@pytest.fixture
def app(arena: Arena) -> ArenaApplication:
    return arena.app


@pytest.fixture
def http_server(io_loop, _unused_port, arena: Arena) -> ArenaHTTPServer:
    """The server as ``server.py`` makes it (limits and timeouts included),
    in place of pytest-tornado's plain ``HTTPServer``."""
    arena.server.add_socket(_unused_port[0])
    return arena.server


@pytest.fixture
def api(http_client, base_url: str) -> Api:
    return Api(http_client, base_url)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python server.py database`` on a fresh data directory, for nodes to
    share (``tests.cluster``): the process and its URI."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "server.py"), "database", "--data-dir",
         str(tmp_path / "db"), "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    uri = ""
    for line in process.stdout:
        found = re.search(r"mongodb://127\.0\.0\.1:\d+/", line)
        if found:
            uri = found.group(0)
            break
    assert uri, "the database did not say where it listens"
    yield process, uri
    if process.poll() is None:
        process.kill()
