"""This server as one node among those sharing the database: its heartbeat.

Every ``HEARTBEAT`` seconds the node writes that it is alive
(``store.nodes``) and counts the nodes heard from within ``LEASE``
(``arena_cluster_nodes``).  The lease is well under the grace period
(``--grace-period``, 30 s), so that a node that dies is known to be gone
while the players of its matches may still come back.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid

from actors.metrics import gauge
from store import Store

log = logging.getLogger("arena.node")

HEARTBEAT = 1.0
LEASE = 5.0
#: A node not heard from for this long has its document dropped.
FORGET_AFTER = 3600.0


def default_name(port: int) -> str:
    return f"{socket.gethostname()}:{port}"


class Node:
    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.id = uuid.uuid4().hex  # this process's life; the name may be reused
        self.name = name
        self.started = time.time()
        self.live_nodes = 0
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Say this node is here, then keep saying it until ``stop``."""
        await self.beat()
        await self.store.nodes.forget_before(time.time() - FORGET_AFTER)
        self.task = asyncio.get_running_loop().create_task(self.run(), name="heartbeat")

    async def beat(self) -> None:
        await self.store.nodes.beat(self.id, self.name, self.started)
        self.live_nodes = len(await self.store.nodes.live(LEASE))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                await self.beat()
            except Exception:
                log.exception("heartbeat of %s failed", self.name)

    async def stop(self) -> None:
        """Stop beating and leave: the other nodes know at once."""
        if self.task is None:
            return  # never started
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.task = None
        try:
            await self.store.nodes.leave(self.id)
        except Exception:  # the others will see its lease run out instead
            log.warning("%s could not say it is leaving", self.name, exc_info=True)

    def collect(self) -> list[str]:
        return [*gauge("arena_cluster_nodes", self.live_nodes),
                "# TYPE arena_node_info gauge", f'arena_node_info{{name="{self.name}"}} 1']
