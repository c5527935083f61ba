"""Which indexes a database gets: all on MongoDB, only the unique ones where
secondary indexes serve no lookup (the embedded FerretDB)."""

from __future__ import annotations

import uuid

import pytest

from store import Store


async def index_keys(store: Store, collection: str) -> dict[str, bool]:
    """Index name -> unique, for one collection."""
    return {index["name"]: bool(index.get("unique"))
            async for index in await store.db[collection].list_indexes()}


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("lookups", [True, False])
async def test_only_unique_indexes_without_indexed_lookups(database_uri: str,
                                                           lookups: bool) -> None:
    store = Store(database_uri, f"t_indexes_{uuid.uuid4().hex[:8]}", indexed_lookups=lookups)
    try:
        await store.ensure_indexes()
        await store.ensure_indexes()  # idempotent: every start-up runs it
        users = await index_keys(store, "users")
        completed = await index_keys(store, "completed_matches")
        lobbies = await index_keys(store, "lobbies")
        await store.client.drop_database(store.db.name)
    finally:
        await store.close()
    # the constraints, always
    assert users["username_lower_1"] and completed["id_1"] and lobbies["host_slot_1"]
    lookup_indexes = {"ongoing_match_1"}
    if lookups:
        assert lookup_indexes <= users.keys()
        assert "winner_1_id_1" in completed and "users_1" in lobbies
    else:
        assert set(users) == {"_id_", "username_lower_1"}
        assert set(completed) == {"_id_", "id_1"}
        assert set(lobbies) == {"_id_", "host_slot_1"}
