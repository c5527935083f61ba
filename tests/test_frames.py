"""Arena writes its own server frames: check them with a real client, at every length form."""

from __future__ import annotations

import json

import pytest

from handlers.context import AppContext
from handlers.frames import text_frame
from tests.client import Api
from tests.play import attach, create_match


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_layout(size: int) -> None:
    text = "é" * (size // 2) + "a" * (size % 2)  # multi-byte UTF-8 too
    payload = text.encode()
    frame = text_frame(text)
    assert frame[0] == 0x81  # FIN, text, no reserved bits
    assert frame[1] & 0x80 == 0  # server frames are not masked
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        length, offset = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, offset = int.from_bytes(frame[2:10], "big"), 10
    assert length == len(payload) and frame[offset:] == payload


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
