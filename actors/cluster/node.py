"""This server as one node among those sharing the database: its heartbeat.

Every ``HEARTBEAT`` seconds the node writes that it is alive
(``store.nodes``) and counts the nodes heard from within ``LEASE``
(``arena_cluster_nodes``).  The lease is well under the grace period
(``--grace-period``, 30 s), so that a node that dies is known to be gone
while the players of its matches may still come back.

A node cut off from the database is taken for gone by the others once its
lease runs out, and they take its matches over; it must not run them on
beside them.  So a node whose heartbeats have not landed for ``FENCE``
seconds (most of the lease) *fences* itself: it stops its actors, their
sockets closing with 1012 so their clients reconnect, and once a heartbeat
lands again it runs those of its matches that nobody took over meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from actors.metrics import counter, gauge
from store import Store

log = logging.getLogger("arena.node")

HEARTBEAT = 1.0
LEASE = 5.0
#: A node whose last heartbeat to land was sent this long ago stops its
#: matches; the rest of the lease is the margin for the others' clocks.
FENCE = LEASE - 2 * HEARTBEAT
#: A node not heard from for this long has its document dropped.
FORGET_AFTER = 3600.0


def default_name(port: int) -> str:
    return f"{socket.gethostname()}:{port}"


def default_url(address: str, port: int) -> str:
    """Where the other nodes reach a node listening on ``address``: itself, or
    (listening on every interface) its host name."""
    host = socket.gethostname() if address in ("", "0.0.0.0", "::") else address
    return f"http://{host}:{port}"


def key_check(secret: bytes) -> str:
    """What a node says of its secret in its document, so that nodes can tell
    whether they share one without saying it: an HMAC of a fixed text."""
    return hmac.new(secret, b"arena: one cluster, one secret", hashlib.sha256).hexdigest()[:32]


class Refused(Exception):
    """This node must not join the nodes on the database; the message says why."""


def node_id(data_dir: Path) -> str:
    """This node's id: made once and kept in the data directory (which one
    process holds at a time), so a node that restarts holds its matches again
    at once instead of waiting for its own lease to lapse."""
    path = data_dir / "node.id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError), open(path, "x") as out:
            out.write(uuid.uuid4().hex)
    return path.read_text().strip()


Hook = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    pass


class Node:
    def __init__(self, store: Store, name: str, node_id: str, secret: bytes = b"") -> None:
        self.store = store
        self.id = node_id
        self.name = name
        self.key_check = key_check(secret)
        #: Where the other nodes reach this one (set once the port is bound).
        self.url = ""
        self.started = time.time()
        self.live_nodes = 0
        #: Whether the node has stopped its matches, cut off from the database.
        self.fenced = False
        self.fences = 0
        self.task: asyncio.Task[None] | None = None

    async def start(self, fence: Hook = _nothing, unfence: Hook = _nothing) -> None:
        """Say this node is here, then keep saying it until ``stop``; ``fence``
        is awaited when heartbeats stop landing for ``FENCE`` seconds, and
        ``unfence`` when one lands again.

        Raises ``Refused`` (and says it is gone) if a live node that was
        there first has another secret: each would refuse the other's
        cookies, tokens and relayed sockets."""
        others = [n for n in await self.beat()
                  if n["_id"] != self.id and n.get("key_check") not in (None, self.key_check)
                  and (n.get("started", 0.0), n["_id"]) < (self.started, self.id)]
        if others:
            await self.store.nodes.retire(self.id)
            raise Refused(
                f"This node's cookie secret differs from that of the live node "
                f"{others[0]['name']!r} on this database; give every node the same "
                f"--cookie-secret (ARENA_COOKIE_SECRET).")
        await self.store.nodes.forget_before(time.time() - FORGET_AFTER)
        self.task = asyncio.get_running_loop().create_task(self.run(fence, unfence),
                                                           name="heartbeat")

    async def beat(self) -> list[dict[str, Any]]:
        """Say this node is alive; the live nodes, itself included."""
        await self.store.nodes.beat(self.id, self.name, self.url, self.started, self.key_check)
        live = await self.store.nodes.live(LEASE)
        self.live_nodes = len(live)
        return live

    async def run(self, fence: Hook, unfence: Hook) -> None:
        landed = time.monotonic()  # when the last heartbeat that landed was sent
        while True:
            await asyncio.sleep(HEARTBEAT)
            sent = time.monotonic()
            # a database that does not answer holds a write for as long as it
            # likes: give up on this one when the fence is due, or after a beat
            limit = landed + FENCE - sent if not self.fenced else HEARTBEAT
            try:
                await asyncio.wait_for(self.beat(), max(limit, 0.05))
            except Exception as error:
                log.warning("heartbeat of %s failed: %r", self.name, error)
            else:
                landed = sent
                if self.fenced:
                    log.warning("%s reaches the database again", self.name)
                    self.fenced = False
                    await unfence()
                continue
            if not self.fenced and time.monotonic() - landed >= FENCE:
                log.error("%s has not reached the database for %.1f s: stopping its matches",
                          self.name, time.monotonic() - landed)
                self.fenced = True
                self.fences += 1
                self.live_nodes = 0
                await fence()

    async def others_alive(self) -> bool:
        """Whether other nodes are alive now (to take this one's matches over)."""
        try:
            return any(n["_id"] != self.id for n in await self.store.nodes.live(LEASE))
        except Exception:
            return False  # the database does not answer: nobody will take them now

    async def stop(self) -> None:
        """Stop beating and say so: the other nodes know at once, and take
        over what this node held."""
        if self.task is None:
            return  # never started
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.task = None
        try:
            await self.store.nodes.retire(self.id)
        except Exception:  # the others will see its lease run out instead
            log.warning("%s could not say it is leaving", self.name, exc_info=True)

    def collect(self) -> list[str]:
        return [*gauge("arena_cluster_nodes", self.live_nodes),
                *gauge("arena_node_fenced", int(self.fenced)),
                *counter("arena_node_fences_total", self.fences),
                "# TYPE arena_node_info gauge", f'arena_node_info{{name="{self.name}"}} 1']
