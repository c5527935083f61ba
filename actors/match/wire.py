"""Every frame a match sends, encoded in one place, and the readers that
recognise them without parsing.

A relay (``handlers.cluster.relay``) passes a match's frames on as text and
must know, cheaply, which carry a ``seq`` (so a frame seen through the node
that handed a match over is not passed twice) and which are realtime state
frames (newest only for a reader that is behind).  It reads the encoders'
own prefixes, so the two cannot drift apart: ``tests/unit/test_wire.py``
reads back what these functions write.
"""

from __future__ import annotations

from typing import Any

import orjson

#: The frames that carry a ``seq`` right after their type.
SEQUENCED = ('{"type":"event","seq":', '{"type":"snapshot","seq":')
#: A realtime state frame starts with this.
STATE = '{"type":"state"'


def event(seq: int, kind: str, fields: dict[str, Any], state: Any,
          clock: dict[str, Any] | None) -> bytes:
    """An ``event``: what changed (``kind`` and its ``fields``), the state it
    led to, and the turn clock when the event restarted it."""
    frame = {"type": "event", "seq": seq, "kind": kind, **fields, "state": state}
    if clock is not None:
        frame["clock"] = clock
    return orjson.dumps(frame)


def snapshot(seq: int, you: str | None, match: dict[str, Any], state: Any,
             clock: dict[str, Any] | None) -> bytes:
    """The whole match as ``you`` (a role, or ``None``) sees it at ``seq``."""
    return orjson.dumps({"type": "snapshot", "seq": seq, "you": you, "match": match,
                         "state": state, "clock": clock})


def state(seq: int, tick: int, view: Any) -> bytes:
    """A realtime game's newest state between events."""
    return orjson.dumps({"type": "state", "seq": seq, "tick": tick, "state": view})


def ack(frame_id: Any, seq: int) -> bytes:
    """The command ``frame_id`` is applied; its last event is ``seq``."""
    return orjson.dumps({"type": "ack", "id": frame_id, "seq": seq})


def pong(frame_id: Any) -> bytes:
    return orjson.dumps({"type": "pong", "id": frame_id})


def error(frame_id: Any, code: str, message: str) -> bytes:
    """The protocol's ``error`` frame answering the client frame ``frame_id``."""
    return orjson.dumps({"type": "error", "id": frame_id, "code": code, "message": message})


def is_state(frame: str) -> bool:
    return frame.startswith(STATE)


def seq_of(frame: str) -> int | None:
    """The ``seq`` of an event or a snapshot; ``None`` for any other frame."""
    if not frame.startswith(SEQUENCED):
        return None
    return int(frame.partition('"seq":')[2].partition(",")[0])
