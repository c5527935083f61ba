"""The indexes each repository declares, and which of them a database gets.

A repository lists its indexes (``indexes()``); ``Store.ensure_indexes``
creates them.  On MongoDB all of them.  On the embedded FerretDB (1.24, SQLite
backend) only the unique ones: it answers every query but an exact
``{_id: value}`` by reading the whole table and sorts in memory (its SQLite
backend pushes down nothing else: ``internal/backends/sqlite/collection.go``),
so an index that is not unique serves no read there, while every insert and
update still maintains it.  Unique indexes are constraints and are made
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection


@dataclass(frozen=True)
class Index:
    collection: AsyncCollection[Any]
    #: A field name, or ``[(field, direction), ...]`` for a compound index.
    keys: str | list[tuple[str, int]]
    unique: bool = False


class Indexed(Protocol):
    def indexes(self) -> list[Index]: ...
