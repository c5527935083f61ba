"""The ``nodes`` collection: the servers sharing this database, and when each
was last heard from.

Each server (a *node*) writes its own document every heartbeat; a node whose
document is older than the lease is taken for gone.  Nodes find each other
here, with no other coordination service: the database is the one thing
they all reach.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from store.indexes import Index


class NodeRepository:
    def __init__(self, collection: AsyncCollection[Any]) -> None:
        self.collection = collection

    def indexes(self) -> list[Index]:
        return []  # keyed by _id; read whole (a few documents)

    async def beat(self, node_id: str, name: str, url: str, started: float,
                   key_check: str) -> None:
        """Say that the node is alive, now, where the others reach it, and
        which secret it holds (``actors.cluster.node.key_check``: not the secret)."""
        await self.collection.update_one(
            {"_id": node_id},
            {"$set": {"name": name, "url": url, "started": started, "seen": time.time(),
                      "key_check": key_check}},
            upsert=True)

    async def request_cancel(self, node_id: str, match_id: int) -> None:
        """Ask node ``node_id`` to cancel a match it holds (``admin cancel-match``)."""
        await self.collection.update_one({"_id": node_id},
                                         {"$addToSet": {"cancel": match_id}})

    async def cancel_requests(self, node_id: str) -> list[int]:
        """The matches an administrator asked this node to cancel (one read by
        ``_id`` of a small collection: cheap enough for every heartbeat)."""
        node = await self.collection.find_one({"_id": node_id}, {"cancel": 1})
        return [int(match_id) for match_id in (node or {}).get("cancel", [])]

    async def cancel_taken(self, node_id: str, match_ids: list[int]) -> None:
        await self.collection.update_one({"_id": node_id},
                                         {"$pullAll": {"cancel": match_ids}})

    async def of(self, node_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": node_id})

    async def live(self, lease: float) -> list[dict[str, Any]]:
        """The nodes heard from within the last ``lease`` seconds, by name."""
        nodes = await self.collection.find({}).to_list()
        return sorted((n for n in nodes if heard_from(n, lease)), key=lambda n: n["name"])

    async def gone(self, lease: float) -> list[dict[str, Any]]:
        """The nodes not heard from within the last ``lease`` seconds (or stopped)."""
        return [n for n in await self.collection.find({}).to_list() if not heard_from(n, lease)]

    async def retire(self, node_id: str) -> None:
        """The node stops: gone at once, not after its lease (its document stays
        until another node has taken its matches over, ``leave``)."""
        await self.collection.update_one({"_id": node_id}, {"$set": {"seen": 0.0}})

    async def leave(self, node_id: str) -> None:
        """Forget a node that is gone and holds nothing any more."""
        await self.collection.delete_one({"_id": node_id})

    async def forget_before(self, moment: float) -> None:
        """Drop the documents of nodes not heard from since ``moment`` (long gone)."""
        await self.collection.delete_many({"seen": {"$lt": moment}})


def heard_from(node: dict[str, Any] | None, lease: float) -> bool:
    """Whether ``node`` (a document of ``nodes``) was heard from within
    ``lease`` seconds: alive, as the others see it."""
    return node is not None and node["seen"] >= time.time() - lease
