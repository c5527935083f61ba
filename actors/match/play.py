"""The players' commands: readiness, the start, moves and resigning."""

from __future__ import annotations

from typing import Any

from actors.games import Event, Seat
from actors.match.core import MatchCore
from actors.match.document import all_ready, seated, sit
from actors.match.ending import Ending
from actors.match.messages import CommandError, Socket
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
        """The user's seat; ``forbidden`` for anyone but a player still in."""
        core = self.core
        seat = core.seat_of(user_id)
        if seat is None:
            raise CommandError("forbidden", f"Your role ({core.role_of(user_id)}) "
                                            "may not send that.")
        if seat in (core.doc.get("out") or ()):
            raise CommandError("forbidden", "You are out of this match.")
        return seat

    def require_not_started(self) -> None:
        if self.core.doc["is_started"]:
            raise CommandError("already_started", "The match has started.")

    def require_started(self) -> None:
        if not self.core.doc["is_started"]:
            raise CommandError("not_started", "The match has not started.")

    async def ready(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        """``ready`` or ``unready``: a player other than the host says whether to start."""
        core = self.core
        self.require_role(user_id, "challenger")
        self.require_not_started()
        draft = core.draft()
        seat = self.require_seat(user_id)
        sit(draft.doc, seat, user_id, ready=frame["type"] == "ready")
        draft.events.append(Event(frame["type"], {"user": core.member_view(user_id),
                                                  "seat": seat}))
        seq = await core.commit(draft)
        return await self.start_when_seated() or seq

    async def start(self, user_id: str, frame: dict[str, Any], socket: Socket) -> int:
        self.require_role(user_id, "host")
        self.require_not_started()
        if not all_ready(self.core.doc):
            raise CommandError("not_ready", "Every seat must be taken and every player ready."
                               if len(self.core.doc["seat_ids"]) > 2
                               else "The challenger must be present and ready.")
        return await self.begin()

    async def start_when_seated(self) -> int | None:
        """Start a matchmade match once every player is attached and ready;
        the ``started`` event's seq if it did."""
        core, doc = self.core, self.core.doc
        if (core.matchmade and not doc["is_started"] and not core.finished
                and all_ready(doc) and all(user_id in core.sockets
                                           for user_id in seated(doc).values())):
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
        return await self.ending.lose(self.core.draft(), [seat], "resign")
