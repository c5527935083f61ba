"""Match sockets for the benchmarks: open one authenticated, check event order.

Checking an event's ``seq`` reads it with a regular expression instead of
parsing the frame, so a client process can follow thousands of sockets.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

SEQ = re.compile(rb'"seq":(\d+)')


async def open_socket(url: str, match_id: int,
                      token: str) -> tuple[WebSocketClientConnection, dict[str, Any]]:
    """A socket on match ``match_id`` authenticated by ``token``, and its snapshot."""
    connection = await websocket_connect(HTTPRequest(
        url.replace("http://", "ws://") + f"/ws/matches/{match_id}",
        headers={"Authorization": f"Token {token}"}))
    return connection, json.loads(await connection.read_message())


class EventOrder:
    """The events one socket received: how many, and how many broke the order."""

    def __init__(self, seq: int) -> None:
        self.last = seq  # the snapshot's
        self.events = 0
        self.gaps = 0

    def see(self, data: bytes) -> bool:
        """Count ``data`` if it is an event frame (and say whether it was)."""
        if not data.startswith(b'{"type":"event"'):
            return False
        found = SEQ.search(data)
        seq = int(found.group(1)) if found else -1
        if seq != self.last + 1:
            self.gaps += 1
        self.last = seq
        self.events += 1
        return True
