"""The connection to MongoDB and the repositories that use it."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from store.counters import CounterRepository
from store.indexes import Indexed
from store.journal import INTERVAL, Journal
from store.library import LibraryRepository, TitleRepository
from store.lobbies import LobbyRepository
from store.locks import KeyedLocks
from store.matches import MatchRepository
from store.migrations import migrate
from store.nodes import NodeRepository
from store.pages import Entries
from store.sessions import SessionRepository
from store.tickets import TicketRepository
from store.tokens import TokenRepository
from store.users import UserRepository


class Store:
    """Owns the client; offers one repository per collection.

    Only ``store/`` touches collections: the rest of Arena goes through the
    repositories' methods, whose arguments are plain values (never query
    documents), so nothing from a request can turn into a query operator.
    """

    def __init__(self, uri: str, database: str, *, timeout_ms: int = 5000,
                 indexed_lookups: bool | None = None,
                 journal_interval: float = INTERVAL) -> None:
        """``indexed_lookups``: the database finds documents through secondary
        indexes (not so FerretDB: see ``store.indexes``); ``None``: ask it.
        ``journal_interval``: the least time between two journal writes
        (``store.journal``)."""
        self.client: AsyncMongoClient[Any] = AsyncMongoClient(
            uri,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            uuidRepresentation="standard",
            tz_aware=True,
        )
        self.db = self.client[database]
        self.indexed_lookups = indexed_lookups
        self.locks = KeyedLocks()
        self.counters = CounterRepository(self.db["counters"], self.locks)
        self.users = UserRepository(self.db["users"], self.db["usernames"],
                                    self.db["match_claims"], self.locks,
                                    Entries(self.db["user_entries"]), self.counters)
        self.tokens = TokenRepository(self.db["tokens"])
        self.sessions = SessionRepository(self.db["sessions"])
        self.matches = MatchRepository(self.db["ongoing_matches"], self.db["completed_matches"],
                                       Entries(self.db["completed_entries"]), self.counters)
        self.journal = Journal(self.db, interval=journal_interval)
        self.titles = TitleRepository(self.db["games"], self.counters, self.locks)
        self.lobbies = LobbyRepository(self.db["lobbies"], self.locks)
        self.tickets = TicketRepository(self.db["matchmaking_tickets"],
                                        self.db["matchmaking_feed"], self.counters, self.locks)
        self.nodes = NodeRepository(self.db["nodes"])
        self.library = LibraryRepository(
            self.db["library_flags"], self.db["library_ratings"], self.locks, self.counters
        )

    @property
    def repositories(self) -> list[Indexed]:
        return [self.users, self.tokens, self.sessions, self.counters, self.titles, self.library,
                self.lobbies, self.matches, self.tickets]

    async def ensure_indexes(self) -> None:
        """Create the repositories' indexes (``store.indexes``: on a database
        that cannot use them for lookups, only the unique ones); idempotent,
        run at each start-up."""
        if self.indexed_lookups is None:
            self.indexed_lookups = not await self.is_ferretdb()
        for repository in self.repositories:
            for index in repository.indexes():
                if index.unique or self.indexed_lookups:
                    await index.collection.create_index(index.keys, unique=index.unique)

    async def is_ferretdb(self) -> bool:
        """Whether the server is FerretDB (it says so in ``buildInfo``)."""
        info = await self.client.admin.command("buildInfo")
        return "ferretdbVersion" in info

    async def migrate(self) -> None:
        """Bring a database written by an earlier Arena to this layout
        (``store.migrations``); run at each start-up, after the indexes."""
        await migrate(self.counters, self.users, self.matches, self.library)

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            await asyncio.wait_for(self.client.admin.command("ping"), timeout)
        except (PyMongoError, TimeoutError, OSError):
            return False
        return True

    async def close(self) -> None:
        await self.journal.close()
        await self.client.close()
