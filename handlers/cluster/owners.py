"""Finding the node that holds a live match (and taking it over if its node is gone)."""

from __future__ import annotations

from dataclasses import dataclass

from tornado.httputil import HTTPServerRequest

from actors.cluster.node import LEASE
from handlers.cluster.proof import passed_on
from handlers.context import AppContext
from store.nodes import heard_from


@dataclass(frozen=True)
class Owner:
    """Another live node holding a match: where it listens, and the match's
    ``(owner, tenure)`` when it was looked up (which holding of it this is)."""

    url: str
    holding: tuple[str, str]


async def find_owner(ctx: AppContext, request: HTTPServerRequest,
                     match_id: int) -> Owner | None:
    """The node holding live match ``match_id``, when it is another live node
    and the request was not passed on already.  A match whose node is gone
    is taken over here first (``holder``)."""
    if passed_on(request):
        return None
    assert ctx.registry is not None
    owner = await holder(ctx, match_id)
    return owner if owner is not None and owner.holding[0] != ctx.registry.owner else None


async def holder(ctx: AppContext, match_id: int) -> Owner | None:
    """Where live match ``match_id`` is held (this node included); ``None``
    when there is no such match or its node cannot be reached.  A match whose
    node is gone is taken over first, so that whoever asks need not wait for
    the watcher's next look (``ClusterRegistry.adopt``); it is then this node's, or
    another's that took it first."""
    assert ctx.registry is not None
    for _ in range(2):
        holding = await ctx.store.matches.holding(match_id)
        if holding is None or not holding[0]:
            return None
        node = await ctx.store.nodes.of(holding[0])
        if heard_from(node, LEASE):
            assert node is not None
            return Owner(node["url"], holding) if node.get("url") else None  # none: starting
        if holding[0] == ctx.registry.owner:
            return None
        await ctx.registry.adopt(holding[0])
    return None
