"""Arena writes its own server frames: check them with a real client, at every length form."""

from __future__ import annotations

import json

import pytest

from handlers.context import AppContext
from tests.support.client import Api
from tests.support.play import attach, create_match


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("size", [10, 200, 70000])
async def test_a_real_client_reads_every_length_form(
    api: Api, base_url: str, context: AppContext, size: int
) -> None:
    user, token = await api.new_user()
    match = await create_match(api, token)
    peer = await attach(base_url, match["id"], token)
    assert context.registry is not None
    server_side = context.registry.get(match["id"]).sockets[user["id"]]
    message = {"type": "event", "note": "ü" * size}
    server_side.send(json.dumps(message))
    server_side.send(json.dumps({"type": "event", "after": True}))
    assert await peer.read() == message
    assert await peer.read() == {"type": "event", "after": True}
    assert (await peer.command("ping"))["type"] == "pong"  # the stream is still in step
