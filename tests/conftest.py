"""Fixtures: one real database server per test session, a fresh database per module.

The server is the embedded one Arena itself runs (``mongod`` if on PATH, else
FerretDB), unless ``ARENA_TEST_MONGODB_URI`` names another.  Nothing is
mocked: every test talks over the wire.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from actors.registry import Registry
from config import Config
from handlers.app import make_app, make_server
from handlers.context import AppContext
from handlers.credentials import PasswordHasher
from store import Store
from store.embedded import EmbeddedDatabase
from tests.client import Api

TEST_SECRET = b"arena-test-secret"


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    explicit = os.environ.get("ARENA_TEST_MONGODB_URI")
    if explicit:
        yield explicit
        return
    database = EmbeddedDatabase(tmp_path_factory.mktemp("database"))
    try:
        yield database.start()
    finally:
        database.stop()


@pytest.fixture(scope="module")
def database_name(request: pytest.FixtureRequest, database_uri: str) -> Iterator[str]:
    name = f"t_{request.module.__name__.rsplit('.', 1)[-1][:30]}_{uuid.uuid4().hex[:8]}"
    yield name
    with pymongo.MongoClient(database_uri) as client:
        client.drop_database(name)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path, bcrypt_rounds=4)


@pytest.fixture
def context(io_loop, database_uri: str, database_name: str, config: Config) -> Iterator[AppContext]:
    store = Store(database_uri, database_name)
    io_loop.run_sync(store.ensure_indexes)
    hasher = PasswordHasher(rounds=config.bcrypt_rounds)
    registry = Registry(store, config)
    context = AppContext(config=config, store=store, hasher=hasher, secret=TEST_SECRET,
                         registry=registry)
    context.collectors.append(registry.collect)
    yield context
    io_loop.run_sync(registry.shutdown)
    io_loop.run_sync(store.close)
    hasher.close()


@pytest.fixture
def app(context: AppContext):
    return make_app(context)


@pytest.fixture
def http_server(request: pytest.FixtureRequest, io_loop, _unused_port, app, config: Config):
    """The server as ``server.py`` makes it (limits and timeouts included),
    in place of pytest-tornado's plain ``HTTPServer``."""
    server = make_server(app, config)
    server.add_socket(_unused_port[0])
    yield server
    server.stop()
    io_loop.run_sync(server.close_all_connections)


@pytest.fixture
def api(http_client, base_url: str) -> Api:
    return Api(http_client, base_url)
