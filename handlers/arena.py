"""The application factory: one Arena process's parts, wired and taken down in order.

``server.py`` and the test suite both build Arena through ``Arena.open``, so
the tests run the start-up the server runs (indexes, migrations, every
ongoing match restored from the journal) and the same shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass

from actors.cluster.node import LEASE, Node, default_name, node_id
from actors.cluster.ownership import ClusterRegistry
from actors.matchmaking.matchmaker import Matchmaker
from config import Config
from handlers.app import ArenaApplication, make_app, make_server
from handlers.context import AppContext
from handlers.security.credentials import PasswordHasher
from handlers.security.limits import ArenaHTTPServer
from store import Store

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


@dataclass
class Arena:
    """A ready Arena: its store, its live matches, the application and the HTTP
    server that serves it (not yet listening: the caller adds sockets)."""

    config: Config
    store: Store
    hasher: PasswordHasher
    registry: ClusterRegistry
    matchmaker: Matchmaker
    node: Node
    context: AppContext
    app: ArenaApplication
    server: ArenaHTTPServer

    @classmethod
    async def open(cls, config: Config, uri: str, *,
                   indexed_lookups: bool | None = None) -> Arena:
        """Connect to the database at ``uri`` and bring it to this version's
        layout, restore every ongoing match, and build the application.

        ``indexed_lookups`` is false for a database that finds documents by
        scanning (FerretDB: ``store.indexes``); ``None``: ask the database.
        """
        store = Store(uri, config.database, indexed_lookups=indexed_lookups,
                      journal_interval=config.journal_interval)
        hasher = PasswordHasher(rounds=config.bcrypt_rounds)
        secret = load_secret(config)
        node = Node(store, config.node_name or default_name(config.port),
                    node_id(config.data_dir), secret)
        registry = ClusterRegistry(store, config, owner=node.id)
        matchmaker = Matchmaker(registry)
        try:
            await store.ensure_indexes()
            await store.migrate()
            # first: a node starting after this one sees it alive
            await node.start(fence=registry.fence, unfence=registry.unfence)
            others = {n["_id"] for n in await store.nodes.live(LEASE)} - {node.id}
            await registry.restore(others)
            registry.watch_nodes()
            await matchmaker.start()
        except BaseException:
            await node.stop()
            await matchmaker.stop()
            await registry.shutdown()
            hasher.close()
            await store.close()
            raise
        context = AppContext(config=config, store=store, hasher=hasher,
                             secret=secret, registry=registry,
                             matchmaker=matchmaker)
        context.collectors += [registry.collect, matchmaker.collect, node.collect]
        app = make_app(context)
        return cls(config, store, hasher, registry, matchmaker, node, context, app,
                   make_server(app, config))

    async def close(self) -> None:
        """Stop accepting connections, let REST requests in flight finish, stop
        every match's actor (sockets get 1001, or 1012 when other nodes will take
        its matches over), close the connections, then the
        database client.  Each step is bounded by ``config.shutdown_timeout``: a
        database that stopped answering must not keep the process from exiting."""
        timeout = self.config.shutdown_timeout
        self.server.stop()
        if not await self.context.drain(timeout):
            log.warning("%d requests still running after %.0f s; closing anyway",
                        self.context.in_flight, timeout)
        await bounded(self.matchmaker.stop(), "stopping the matchmaker", timeout)
        await bounded(self.registry.shutdown(handing_over=await self.node.others_alive()),
                      "closing the matches", timeout)
        # after the actors stopped: the other nodes take the matches over from here
        await bounded(self.node.stop(), "leaving the cluster", timeout)
        await bounded(self.server.close_all_connections(), "closing connections", timeout)
        self.hasher.close()
        await bounded(self.store.close(), "closing the database client", timeout)


async def bounded(step: Awaitable[None], what: str, timeout: float) -> None:
    """Await one step of the shutdown for at most ``timeout`` seconds."""
    try:
        await asyncio.wait_for(step, timeout)
    except TimeoutError:
        log.warning("%s took over %.0f s; going on", what, timeout)
