"""A deadline queue shared by everything in one stack that needs to be woken up.

Objects that keep timers (a TCP connection, the ARP table...) implement
`on_timer(now)` and call `TimerQueue.ensure(obj, when)` for their earliest
deadline. Only an *earlier* deadline pushes a heap entry; a later one is found
when the early entry fires and the object re-arms itself. So re-arming the
retransmission timer on every ACK costs almost nothing.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Final, Protocol

INF: Final = math.inf


class TimerOwner(Protocol):
    timer_at: float  # the time of this owner's live heap entry (INF when none)

    def on_timer(self, now: float) -> None: ...


class TimerQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerOwner]] = []
        self._counter = 0
        self._stale = 0
        self.on_earlier: Callable[[float], None] | None = None  # the driver's wake-up hook

    def ensure(self, owner: TimerOwner, when: float) -> None:
        """Make sure `owner.on_timer` is called no later than `when`."""
        if when < owner.timer_at:
            owner.timer_at = when
            self._counter += 1
            heap = self._heap
            if (not heap or when < heap[0][0]) and self.on_earlier is not None:
                heapq.heappush(heap, (when, self._counter, owner))
                self.on_earlier(when)
            else:
                heapq.heappush(heap, (when, self._counter, owner))

    def cancel(self, owner: TimerOwner) -> None:
        """Forget `owner`'s pending wake-up (its heap entry becomes stale and is purged)."""
        if owner.timer_at != INF:
            owner.timer_at = INF
            self._stale += 1
            if self._stale > 64 and self._stale * 2 > len(self._heap):
                self._heap = [e for e in self._heap if e[2].timer_at == e[0]]
                heapq.heapify(self._heap)
                self._stale = 0

    def next_deadline(self) -> float:
        heap = self._heap
        while heap and heap[0][2].timer_at != heap[0][0]:
            heapq.heappop(heap)  # stale
        return heap[0][0] if heap else INF

    def run(self, now: float) -> None:
        """Fire every owner whose deadline is <= now."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, owner = heapq.heappop(heap)
            if owner.timer_at != when:
                continue  # superseded by an earlier entry that already fired
            owner.timer_at = INF
            owner.on_timer(now)

    def __len__(self) -> int:
        return sum(1 for when, _, owner in self._heap if owner.timer_at == when)
