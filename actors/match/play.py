"""The players' commands: readiness, the start, moves and resigning."""

from __future__ import annotations

from typing import Any

from actors.games import Event, Seat
from actors.match.core import MatchCore
from actors.match.ending import Ending, defeat
from actors.match.messages import CommandError, Socket
from actors.match.roster import PLAYER_SEATS
from store.timestamps import now


class Play:
    __slots__ = ('core', 'ending')

    def __init__(self, core: MatchCore, ending: Ending) -> None:
        self.core = core
        self.ending = ending

    def require_role(self, user_id: str, *roles: str) -> str:
        role = self.core.role_of(user_id)
        if role is None or role not in roles:
            raise CommandError("forbidden", f"Your role ({role}) may not send that.")
        return role

    def require_seat(self, user_id: str) -> Seat:
        """The user's seat; ``forbidden`` for anyone but a player."""
        self.require_role(user_id, *PLAYER_SEATS)
        seat = self.core.seat_of(user_id)
        assert seat is not None
        return seat

    def require_not_started(self) -> None:
        if self.core.doc["is_started"]:
            raise CommandError("already_started", "The match has started.")

    def require_started(self) -> None:
        if not self.core.doc["is_started"]:
            raise CommandError("not_started", "The match has not started.")

    async def ready(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        """``ready`` or ``unready``: the challenger says whether to start."""
        core = self.core
        self.require_role(user_id, "challenger")
        self.require_not_started()
        draft = core.draft()
        draft.doc["is_challenger_ready"] = frame["type"] == "ready"
        draft.events.append(Event(frame["type"], {"user": core.member_view(user_id)}))
        seq = await core.commit(draft)
        return await self.start_when_seated() or seq

    async def start(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        self.require_role(user_id, "host")
        self.require_not_started()
        doc = self.core.doc
        if doc["challenger_id"] is None or not doc["is_challenger_ready"]:
            raise CommandError("not_ready", "The challenger must be present and ready.")
        return await self.begin()

    async def start_when_seated(self) -> int | None:
        """Start a matchmade match once both players are attached and the
        challenger is ready; the ``started`` event's seq if it did."""
        core, doc = self.core, self.core.doc
        if (core.matchmade and not doc["is_started"] and not core.finished
                and doc["is_challenger_ready"] and doc["host_id"] in core.sockets
                and doc["challenger_id"] in core.sockets):
            return await self.begin()
        return None

    async def begin(self) -> int:
        """Start the match: ``started`` (and what the game makes of it), the clocks."""
        core = self.core
        draft = core.draft()
        draft.doc["is_started"] = True
        start = draft.doc["start_timestamp"] = now()
        draft.events.append(Event("started", {"start_timestamp": start}))
        try:
            draft.play(core.game.started(draft.doc["state"]))
        except Exception:
            return await self.ending.game_failed("started")
        core.restart_turn_clock(started=True)  # before: ``started`` shows the clock
        seq = await core.commit(draft)
        core.timers.clear("idle", None)
        core.timers.clear("unstarted", None)
        core.start_ticking()
        return seq

    async def move(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        core = self.core
        seat = self.require_seat(user_id)
        self.require_started()
        if "move" not in frame:
            raise CommandError("bad_message", 'move needs a "move" object.')
        turn_before = core.game.turn_number(core.doc["state"])
        draft = core.draft()
        draft.play(core.game.apply(core.doc["state"], seat, frame["move"]))
        core.metrics.moves += 1
        try:
            standings = core.game.standings(draft.doc["state"])
        except Exception:
            return await self.ending.game_failed("standings")
        if standings is not None:
            return await self.ending.end(draft, standings, "score")
        if core.game.turn_number(draft.doc["state"]) != turn_before:
            core.restart_turn_clock()  # before the commit: its events show the new clock
        return await core.commit(draft)

    async def resign(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        seat = self.require_seat(user_id)
        self.require_started()
        return await self.ending.end(self.core.draft(), defeat(self.core.doc, seat), "resign")
