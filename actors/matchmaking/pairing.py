"""Who plays whom: the matchmaker's rules, pure (no I/O, no clock).

Two waiting tickets are compatible when they queue for the same game,
target score, number of players and options, and their elos differ by at
most the smaller of their two windows.  A ticket's window starts at ``Windows.start`` and grows by
``Windows.widen`` for every ``Windows.every`` seconds it has waited.

``pairs`` serves the tickets oldest first: each takes, among the compatible
tickets not yet taken, the closest elo, the one that has waited longer on a
tie.  The older of the two hosts.  Finding the closest elo walks outwards
from the ticket's place in its queue sorted by elo, so a round costs
O(n log n) for the sort plus, per ticket, the tickets it passes over: those
already taken and those whose own window is too narrow for it.

``groups`` makes matches of more than two the same way: the oldest ticket
takes, closest elo first, every ticket that keeps the group's highest elo
minus its lowest within the smallest window among them, until the match is
full.  The oldest hosts; the others take the seats in the order they queued.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Windows:
    """How far apart two elos may be, as a ticket waits."""

    start: int = 100
    widen: int = 50
    every: float = 5.0

    def at(self, waited: float) -> int:
        """The window of a ticket that has waited ``waited`` seconds."""
        steps = math.floor(max(waited, 0.0) / self.every) if self.every > 0 else 0
        return self.start + self.widen * steps


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket as the rules see it."""

    key: str  # the ticket's user id: unique, and the last tie-break
    game: str
    target: int
    elo: int
    queued_at: float  # seconds since the epoch
    #: The match options asked for, in one canonical text (equal options, equal text).
    options: str = "{}"
    players: int = 2

    @property
    def queue(self) -> tuple[str, int, str, int]:
        return self.game, self.target, self.options, self.players


def compatible(a: Waiting, b: Waiting, windows: Windows, at: float) -> bool:
    return a.queue == b.queue and abs(a.elo - b.elo) <= min(
        windows.at(at - a.queued_at), windows.at(at - b.queued_at))


def groups(tickets: Iterable[Waiting], windows: Windows,
           at: float) -> list[tuple[Waiting, ...]]:
    """The matches to make at time ``at``, each ``(host, *the others)``: the
    host the ticket that has waited longest, the others in the order they
    queued.  No ticket is in two matches."""
    queues: dict[tuple[str, int, str, int], list[Waiting]] = defaultdict(list)
    for ticket in tickets:
        queues[ticket.queue].append(ticket)
    made: list[tuple[Waiting, ...]] = []
    for (_, _, _, players), queue in queues.items():
        if players == 2:
            made.extend(_pairs_in_queue(queue, windows, at))
        else:
            made.extend(_groups_in_queue(queue, players, windows, at))
    return made


def pairs(tickets: Iterable[Waiting], windows: Windows,
          at: float) -> list[tuple[Waiting, ...]]:
    """The matches of two to make (``groups`` of tickets for two players)."""
    return groups(tickets, windows, at)


def _groups_in_queue(queue: list[Waiting], players: int, windows: Windows,
                     at: float) -> list[tuple[Waiting, ...]]:
    window = {t.key: windows.at(at - t.queued_at) for t in queue}
    taken: set[str] = set()
    made = []
    for ticket in sorted(queue, key=_seniority):
        if ticket.key in taken:
            continue
        group = [ticket]
        low = high = ticket.elo
        reach = window[ticket.key]
        nearest = sorted((t for t in queue if t.key not in taken and t is not ticket),
                         key=lambda t: (abs(t.elo - ticket.elo), _seniority(t)))
        for other in nearest:
            if max(high, other.elo) - min(low, other.elo) > min(reach, window[other.key]):
                continue
            group.append(other)
            low, high = min(low, other.elo), max(high, other.elo)
            reach = min(reach, window[other.key])
            if len(group) == players:
                break
        if len(group) == players:
            taken.update(t.key for t in group)
            made.append((ticket, *sorted(group[1:], key=_seniority)))
    return made


def _seniority(ticket: Waiting) -> tuple[float, str]:
    return ticket.queued_at, ticket.key


def _pairs_in_queue(queue: list[Waiting], windows: Windows,
                    at: float) -> list[tuple[Waiting, Waiting]]:
    by_elo = sorted(queue, key=lambda t: (t.elo, _seniority(t)))
    free = _Free(len(by_elo))
    window = [windows.at(at - t.queued_at) for t in by_elo]
    place = {t.key: i for i, t in enumerate(by_elo)}
    made = []
    for ticket in sorted(queue, key=_seniority):
        i = place[ticket.key]
        if not free.holds(i):
            continue
        j = _closest(i, by_elo, window, free)
        if j is None:
            continue
        free.take(i)
        free.take(j)
        made.append((ticket, by_elo[j]))
    return made


class _Free:
    """The tickets not yet taken, as a doubly linked list in elo order, so a
    walk outwards from one never passes over a taken one."""

    def __init__(self, n: int) -> None:
        self.before = list(range(-1, n - 1))
        self.after = list(range(1, n + 1))
        self.taken = [False] * n
        self.n = n

    def holds(self, i: int) -> bool:
        return not self.taken[i]

    def take(self, i: int) -> None:
        self.taken[i] = True
        before, after = self.before[i], self.after[i]
        if before >= 0:
            self.after[before] = after
        if after < self.n:
            self.before[after] = before


def _closest(i: int, by_elo: list[Waiting], window: list[int], free: _Free) -> int | None:
    """The index of ``i``'s opponent: the nearest elo within both windows, the
    most senior on a tie; ``None`` if there is none.  Walks outwards from
    ``i`` on both sides until the gap passes ``i``'s window or the best found."""
    elo, reach = by_elo[i].elo, window[i]
    best: int | None = None
    best_gap = reach
    left, right = free.before[i], free.after[i]
    while True:
        left_gap = elo - by_elo[left].elo if left >= 0 else None
        right_gap = by_elo[right].elo - elo if right < free.n else None
        if right_gap is None or (left_gap is not None and left_gap <= right_gap):
            j, gap, left = left, left_gap, free.before[left] if left >= 0 else -1
        else:
            j, gap, right = right, right_gap, free.after[right]
        if gap is None or gap > best_gap:
            return best
        if gap > window[j]:
            continue  # too far for j's own window
        if best is None or gap < best_gap or _seniority(by_elo[j]) < _seniority(by_elo[best]):
            best, best_gap = j, gap
