"""The match socket, ``/ws/matches/{id}``: authentication, limits, and the actor's mailbox.

The handler is a thin adapter: it authenticates (handshake header or cookie,
or an ``auth`` first frame), parses and rate-limits client frames, and hands
each one to the match's actor.  Towards the actor it is a ``Socket``: ``send``
queues a frame without waiting and closes a reader that falls too far behind
(1008); frames over the size limit are closed with 1009.  Frames are read
and written by ``handlers.websocket.frames.FrameProtocol``, below Tornado's stock path.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
from tornado.ioloop import IOLoop
from tornado.websocket import WebSocketHandler, WebSocketProtocol13

from actors.cluster.ownership import ClusterRegistry
from actors.games import GAMES, Game
from actors.match import wire
from actors.match.actor import MatchActor
from actors.match.dormant import CLOSE_CODE as DORMANT
from actors.match.messages import Attach, Detach, Frame
from handlers.base import identify, user_for_token
from handlers.cluster.owners import Owner, find_owner
from handlers.cluster.proof import HEADER, RESUME, relayed
from handlers.cluster.relay import Relay
from handlers.context import AppContext
from handlers.request import ascii_integer
from handlers.websocket.flood import FrameBudget, Verdict
from handlers.websocket.frames import FrameProtocol
from handlers.websocket.rfc6455 import text_frame

AUTH_TIMEOUT = 10.0


class MatchSocket(WebSocketHandler):
    def initialize(self, context: AppContext) -> None:
        self.ctx = context
        self.user_id: str | None = None
        self.user: dict[str, Any] | None = None
        self.bad_credentials = False
        self.actor: MatchActor | None = None
        self.closed = False
        self.counted = False  # in ``ctx.sockets.open``: from ``open`` to ``on_close``
        self.budget = FrameBudget(context.config.rate_limit, context.config.rate_burst,
                                  time.monotonic())
        #: A seated player's budget, for a game with an ``input_rate`` of its own.
        self.player_budget: FrameBudget | None = None
        #: the match asked for, when the path names one (ASCII digits)
        self.match_id: int | None = None
        #: the last event the client saw, when this socket follows its match
        #: from a node that handed it over (``Relay``): the owner sends the
        #: events after it instead of a snapshot
        self.resume: int | None = None
        self.auth_timer: object | None = None
        #: where the node holding the match listens, when it is not this one
        self.owner: Owner | None = None
        self.relay: Relay | None = None

    @property
    def registry(self) -> ClusterRegistry:
        assert self.ctx.registry is not None
        return self.ctx.registry

    # -- handshake ---------------------------------------------------------------

    async def prepare(self) -> None:
        """Every check of the handshake, on whichever node it reaches, then
        the decision to serve the socket here or relay it to the match's node
        (which checks the credentials again, and skips only the Origin check,
        made here against the address the browser used)."""
        self.match_id = ascii_integer(self.path_kwargs.get("match_id", ""))
        identity = await identify(self, self.ctx)
        from_node = relayed(self.ctx.secret, self.request.headers.get(HEADER))
        if identity.session is not None and not from_node and not self.origin_allowed():
            self.set_status(403)
            self.finish({"detail": "Cross-origin socket refused."})
            return
        if from_node:
            self.resume = ascii_integer(self.request.headers.get(RESUME, ""))
        if self.match_id is not None and await self.registry.arrival(self.match_id) is None:
            self.owner = await find_owner(self.ctx, self.request, self.match_id)
            if self.owner is not None:
                # the owner applies the game's own input rate to its players; here
                # the socket may send at whichever rate is the higher
                game = GAMES.get(await self.ctx.store.matches.game_of(self.match_id) or "")
                if game is not None and (game.input_rate or 0) > self.ctx.config.rate_limit:
                    self.budget = self.game_budget(game)
                return  # the owner attaches the socket; this node copies frames
        self.bad_credentials = identity.bad_token
        self.user = identity.user

    def origin_allowed(self) -> bool:
        origin = self.request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: no cross-site risk from cookies
        parts = urlsplit(origin)
        own = f"{parts.scheme}://{parts.netloc}" if parts.netloc == self.request.host else None
        return origin.rstrip("/") in ([own] if own else []) + self.ctx.config.origins

    def check_origin(self, origin: str) -> bool:
        return True  # cookie-authenticated handshakes are checked in prepare()

    def get_websocket_protocol(self) -> FrameProtocol | None:
        stock = super().get_websocket_protocol()
        if not isinstance(stock, WebSocketProtocol13):
            return None
        return FrameProtocol(self, False, stock.params)

    # -- life ----------------------------------------------------------------------

    def open(self, match_id: str) -> None:
        if self.closed:
            # The client went away during the handshake (``prepare`` awaits the
            # database): Tornado has already called ``on_close``, and a socket
            # attached now would hold the seat with nobody behind it.
            return
        self.counted = True
        self.ctx.sockets.open += 1
        self.ctx.sockets.opened += 1
        # Frames are small and must go at once: no Nagle delay behind an unacknowledged one.
        self.set_nodelay(True)
        if self.ctx.config.socket_send_buffer:
            assert self.ws_connection is not None and self.ws_connection.stream is not None
            stream = self.ws_connection.stream
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                     self.ctx.config.socket_send_buffer)
        if self.owner is not None:
            self.relay = Relay(self, self.owner)
            self.ctx.sockets.relays += 1
            self.ctx.sockets.relayed += 1
            IOLoop.current().add_callback(self.relay.run, self.match_id)
            return
        dormant = self.registry.dormant.get(self.match_id) if self.match_id is not None else None
        if dormant is not None:
            self.close(DORMANT, dormant.reason)
            return
        actor = self.registry.get(self.match_id) if self.match_id is not None else None
        if actor is None or not actor.live:
            self.close(4404, "No such match")
            return
        self.actor = actor
        if actor.game.input_rate:
            self.player_budget = self.game_budget(actor.game)
        if self.bad_credentials:
            self.close(4401, "Invalid token")
        elif self.user is not None:
            self.attach(self.user)
        else:
            self.auth_timer = IOLoop.current().call_later(AUTH_TIMEOUT, self.auth_timed_out)

    def auth_timed_out(self) -> None:
        if self.user_id is None:
            self.close(4408, "No auth frame in time")

    def attach(self, user: dict[str, Any]) -> None:
        assert self.actor is not None
        self.user_id = user["_id"]
        self.actor.post(Attach(self, user, self.resume))

    def on_close(self) -> None:
        self.closed = True
        if self.counted:
            self.counted = False
            self.ctx.sockets.open -= 1
        if self.auth_timer is not None:
            IOLoop.current().remove_timeout(self.auth_timer)
        if self.relay is not None:
            self.relay.close()
            self.ctx.sockets.relays -= 1
        if self.actor is not None and self.user_id is not None:
            self.actor.post(Detach(self))

    # -- frames in -----------------------------------------------------------------

    def on_message(self, message: str | bytes) -> Any:
        self.ctx.sockets.frames_in += 1
        if not self.within_rate(message):
            return
        if self.relay is not None:  # the owner parses, answers and rate-limits it too
            self.relay.forward(message)
            return
        frame = parse_frame(message)
        if frame is None:
            self.send_error_frame(None, "bad_message", "Frames are JSON objects.")
            return
        if not isinstance(frame.get("type"), str):
            self.send_error_frame(frame.get("id"), "bad_message", 'A frame needs a string "type".')
            return
        if self.user_id is None:
            # a coroutine: Tornado awaits it before reading the next frame
            return self.authenticate_frame(frame)
        assert self.actor is not None
        self.actor.post(Frame(self, frame))

    async def authenticate_frame(self, frame: dict[str, Any]) -> None:
        if self.actor is None:
            return
        if frame["type"] != "auth":
            self.send_error_frame(frame.get("id"), "not_authenticated", "Send an auth frame first.")
            return
        token = frame.get("token")
        user = await user_for_token(self.ctx, token) if isinstance(token, str) else None
        if user is None:
            self.close(4401, "Invalid token")
            return
        self.attach(user)

    def game_budget(self, game: Game) -> FrameBudget:
        """The frame budget of a game's players: its ``input_rate``, and its
        ``input_burst`` (or twice the rate)."""
        assert game.input_rate
        burst = game.input_burst or max(1, round(2 * game.input_rate))
        return FrameBudget(game.input_rate, burst, time.monotonic())

    def within_rate(self, message: str | bytes) -> bool:
        """Whether ``message`` is within the socket's budget (``handlers.websocket.flood``):
        a seated player's of a game with an input rate of its own, or the
        server's; a refused one is answered ``rate_limited`` (echoing its
        ``id``), and a flood closes the socket with 1008."""
        budget = self.budget
        if (self.player_budget is not None and self.actor is not None
                and self.user_id is not None and self.actor.seat_of(self.user_id) is not None):
            budget = self.player_budget
        verdict = budget.take(time.monotonic())
        if verdict is Verdict.PASS:
            return True
        if verdict is Verdict.FLOOD:
            self.close(1008, "Flooding")
        else:
            refused = parse_frame(message) or {}  # only to echo its id
            self.send_error_frame(refused.get("id"), "rate_limited",
                                  "Too many frames; slow down.")
        return False

    def send_error_frame(self, frame_id: Any, code: str, message: str) -> None:
        self.send(wire.error(frame_id, code, message))

    # -- frames out (the actor's Socket) -------------------------------------------------

    def send(self, text: bytes | str) -> None:
        connection = self.ws_connection
        if self.closed or not isinstance(connection, FrameProtocol) or connection.is_closing():
            return
        if connection.pending >= self.ctx.config.outgoing_limit:
            self.ctx.sockets.slow_closes += 1
            self.close(1008, "Too slow to read")
            return
        connection.queue(text_frame(text))

    def send_state(self, text: bytes | str) -> None:
        connection = self.ws_connection
        if self.closed or not isinstance(connection, FrameProtocol) or connection.is_closing():
            return
        connection.queue_state(text_frame(text))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        if not self.closed:
            self.closed = True
            super().close(code, reason)


def parse_frame(message: str | bytes) -> dict[str, Any] | None:
    """A client frame as the JSON object it must be; ``None`` if it is not one."""
    try:
        frame = orjson.loads(message)
    except (ValueError, UnicodeDecodeError):
        return None
    return frame if isinstance(frame, dict) else None
