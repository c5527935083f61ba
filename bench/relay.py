"""The limit: a bare Tornado WebSocket relay playing rps, no actor, no database.

    python -m bench.relay --port 8500

``ws://HOST:PORT/relay/{match}?role=host|challenger|spectator&target=99``.
The first host and challenger of a match id play; anyone else watches.  When
a player reaches the target the match sends ``ended``, closes its sockets with
4410 and is forgotten, as Arena's do.  It applies the
same rps rules as Arena (``actors.games.rps``, pure) and sends the same JSON
shapes (``snapshot``, ``ack``, ``event`` with ``seq``, ``kind`` and
``state``), each event encoded once and written with the stock
``WebSocketHandler.write_message`` to every socket of the match.  Nothing is
stored, nothing is authenticated: it is what a server that does only the
relaying costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from typing import Any

from tornado.web import Application
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from actors.games import GAMES, IllegalMove, Setup

RULES = GAMES["rps"]


class RelayMatch:
    def __init__(self, target: int) -> None:
        self.sockets: list[RelaySocket] = []
        self.state = RULES.create(Setup.make(target))
        self.seq = 0

    def broadcast(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        view = RULES.view(self.state, None)
        for kind, fields in events:
            self.seq += 1
            text = json.dumps({"type": "event", "seq": self.seq, "kind": kind, **fields,
                               "state": view})
            for socket in self.sockets:
                socket.send(text)


MATCHES: dict[str, RelayMatch] = {}


class RelaySocket(WebSocketHandler):
    def check_origin(self, origin: str) -> bool:
        return True

    def open(self, match_id: str) -> None:  # type: ignore[override]
        self.match_id = match_id
        target = int(self.get_query_argument("target", "99"))
        self.match = MATCHES.setdefault(match_id, RelayMatch(target))
        self.seat = self.get_query_argument("role", "spectator")
        self.match.sockets.append(self)
        self.write_message(json.dumps({"type": "snapshot", "seq": self.match.seq,
                                       "you": self.seat,
                                       "state": RULES.view(self.match.state, None)}))

    def on_message(self, message: str | bytes) -> None:
        if MATCHES.get(self.match_id) is not self.match:
            return  # the match ended while this frame was on its way
        frame = json.loads(message)
        if frame.get("type") != "move" or self.seat not in ("host", "challenger"):
            return
        try:
            state, events = RULES.apply(self.match.state, self.seat,  # type: ignore[arg-type]
                                        frame.get("move"))
        except IllegalMove as error:
            self.send(json.dumps({"type": "error", "id": frame.get("id"),
                                  "code": error.code, "message": error.message}))
            return
        self.match.state = state
        standings = RULES.standings(state)
        winner = standings[0][0] if standings else None
        if winner is not None:
            events.append(("ended", {"result": {"winner": winner, "score": state["score"]}}))
        self.match.broadcast(events)
        self.send(json.dumps({"type": "ack", "id": frame.get("id"), "seq": self.match.seq}))
        if winner is not None:
            MATCHES.pop(self.match_id, None)
            for socket in list(self.match.sockets):
                socket.close(4410, "The match is over")

    def send(self, text: str) -> None:
        """The stock ``write_message``; a socket the client already closed is skipped."""
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(text)

    def on_close(self) -> None:
        if self in self.match.sockets:
            self.match.sockets.remove(self)


async def main(port: int) -> None:
    Application([(r"/relay/([^/]+)", RelaySocket)]).listen(port, "127.0.0.1")
    print(f"Relay listening on http://127.0.0.1:{port}/", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8500)
    asyncio.run(main(parser.parse_args().port))
