"""A WebSocket client for the protocol tests: frames in order, replies by id."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

_ids = itertools.count(1)


class Peer:
    """One socket: everything it received, in order, and helpers to wait for more."""

    def __init__(self, connection: WebSocketClientConnection) -> None:
        self.connection = connection
        self.received: list[dict[str, Any]] = []
        self._cursor = 0

    @classmethod
    async def connect(cls, base_url: str, match_id: int | str, token: str | None = None,
                      headers: dict[str, str] | None = None) -> Peer:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Token {token}"
        url = base_url.replace("http://", "ws://") + f"/ws/matches/{match_id}"
        connection = await websocket_connect(HTTPRequest(url, headers=all_headers))
        return cls(connection)

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    def send(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        self.connection.write_message(text)

    async def read(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The next frame not yet looked at (``None`` once the socket is closed)."""
        if self._cursor < len(self.received):
            self._cursor += 1
            return self.received[self._cursor - 1]
        text = await asyncio.wait_for(self.connection.read_message(), timeout)
        if text is None:
            return None
        frame = json.loads(text)
        self.received.append(frame)
        self._cursor += 1
        return frame

    async def next(self, type_: str, kind: str | None = None,
                   timeout: float = 5.0) -> dict[str, Any]:
        """Skip ahead to the next frame of this type (and event kind)."""
        while True:
            frame = await self.read(timeout)
            if frame is None:
                raise AssertionError(f"closed ({self.close_code}) while waiting for {type_}")
            if frame["type"] == type_ and (kind is None or frame.get("kind") == kind):
                return frame

    async def command(self, type_: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        """Send a frame and return its reply (ack or error), keeping what came between."""
        frame_id = next(_ids)
        self.send({"type": type_, "id": frame_id, **fields})
        start = len(self.received)
        while True:
            for frame in self.received[start:]:
                if frame["type"] in ("ack", "error", "pong") and frame.get("id") == frame_id:
                    return frame
            start = len(self.received)
            text = await asyncio.wait_for(self.connection.read_message(), timeout)
            if text is None:
                raise AssertionError(f"closed ({self.close_code}) awaiting reply to {type_}")
            self.received.append(json.loads(text))

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Read until the server closes the socket; return the close code."""
        while await self.read(timeout) is not None:
            pass
        return self.close_code

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.received if f["type"] == "event"]

    def close(self) -> None:
        self.connection.close()
