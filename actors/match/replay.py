"""The events a restored match has sent, kept for the sockets that follow it.

When a node hands a match over, a relayed socket follows it to the next
owner saying which event its client saw last (``Attach.resume``).  For the
grace period after a restore the actor keeps every event it sends, encoded
per view, and such a socket gets the events it missed, in order, instead of
a jump to a snapshot.
"""

from __future__ import annotations

from actors.games import Seat

#: Most events a restored match keeps.
LIMIT = 1024


class Replay:
    __slots__ = ('after', 'sent')

    def __init__(self, after: int) -> None:
        self.after = after  # the seq the replay starts after
        self.sent: list[tuple[int, dict[Seat | None, list[bytes]]]] = []

    def record(self, first_seq: int, views: dict[Seat | None, list[bytes]]) -> bool:
        """Keep the events from ``first_seq`` on, as each view was sent them;
        whether the replay is still whole (not past ``LIMIT``)."""
        self.sent.append((first_seq, views))
        return first_seq - self.after <= LIMIT

    def missed(self, after: int, seat: Seat | None) -> list[bytes] | None:
        """The events after ``after`` as ``seat`` sees them, in order, if they
        are all here; ``None`` if some are not (the socket gets a snapshot)."""
        if after < self.after:
            return None
        return [text for first, views in self.sent
                for n, text in enumerate(views.get(seat, views[None]))
                if first + n > after]
