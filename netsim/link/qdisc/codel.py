"""CoDel, Controlled Delay (RFC 8289): drop from the head of the queue when the packets' sojourn
time has stayed above TARGET for at least INTERVAL, more often the longer it stays there.

`CodelState` is the per-queue controller of RFC 8289 §5 (also used by each queue of
FQ-CoDel, netsim.link.qdisc.fq_codel); `Codel` is the single-queue discipline. Defaults as in
RFC 8289 §4.5 and Linux's sch_codel: target 5 ms, interval 100 ms, limit 1000 packets.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from netsim.link.qdisc.base import Packet, QueueDisc

__all__ = ["Codel", "CodelState"]


class CodelState:
    """The control loop of one queue (RFC 8289 §5.2 per-queue state).

    ``dequeue(pop, now, backlog, drop, mark)``: take packets from the head of the queue with
    ``pop()`` (None when empty) as RFC 8289 §5.5 does, calling ``drop(pkt)`` for those it
    drops, and return the one to send (or None). ``mark(pkt)`` returns True if it could set
    CE instead of dropping (None: never mark). ``backlog()`` is the bytes still waiting after
    a dequeue (RFC 8289 §5.6 compares it with one MTU-sized packet; FQ-CoDel passes the total of
    all its queues, RFC 8289 §4.4).
    """

    __slots__ = ("count", "drop_next", "dropping", "first_above_time", "interval", "lastcount",
                 "maxpacket", "target")

    def __init__(self, target: float, interval: float, maxpacket: int) -> None:
        self.target = target
        self.interval = interval
        self.maxpacket = maxpacket
        # RFC 8289 §5.2: 0 is "no time set" for first_above_time
        self.first_above_time = 0.0
        self.drop_next = 0.0
        self.count = 0
        self.lastcount = 0
        self.dropping = False

    def control_law(self, t: float, count: int) -> float:
        """RFC 8289 §5.6 control law: the next drop comes INTERVAL / sqrt(count) after t."""
        return t + self.interval / math.sqrt(count)

    def _dodequeue(self, pop: Callable[[], Packet | None], now: float,
                   backlog: Callable[[], int]) -> tuple[Packet | None, bool]:
        """RFC 8289 §5.6 dodequeue: the head packet, and whether the sojourn time has been
        above TARGET for at least INTERVAL (ok to drop)."""
        pkt = pop()
        if pkt is None:
            self.first_above_time = 0.0  # an empty queue cannot be above TARGET
            return None, False
        sojourn = now - pkt.enqueued
        if sojourn < self.target or backlog() <= self.maxpacket:
            self.first_above_time = 0.0  # went below: stay below for INTERVAL before dropping
            return pkt, False
        if self.first_above_time == 0.0:
            self.first_above_time = now + self.interval
            return pkt, False
        return pkt, now >= self.first_above_time

    def dequeue(self, pop: Callable[[], Packet | None], now: float, backlog: Callable[[], int],
                drop: Callable[[Packet], None],
                mark: Callable[[Packet], bool] | None) -> Packet | None:
        """RFC 8289 §5.5 dequeue routine (drop state, or deciding to enter it)."""
        pkt, ok_to_drop = self._dodequeue(pop, now, backlog)
        if pkt is None:
            self.dropping = False
            return None
        if self.dropping:
            if not ok_to_drop:
                self.dropping = False  # sojourn time below TARGET: leave drop state
            # Time for the next drop(s): a large backlog may need several now, hence a loop.
            while self.dropping and now >= self.drop_next and pkt is not None:
                self.count += 1
                if mark is not None and mark(pkt):
                    # RFC 8289 §1: mark instead of dropping; the marked packet is sent
                    self.drop_next = self.control_law(self.drop_next, self.count)
                    return pkt
                drop(pkt)
                pkt, ok_to_drop = self._dodequeue(pop, now, backlog)
                if pkt is None or not ok_to_drop:
                    self.dropping = False
                else:
                    self.drop_next = self.control_law(self.drop_next, self.count)
            return pkt
        if ok_to_drop:
            # Enter drop state with one drop (or mark).
            marked = mark is not None and mark(pkt)
            if not marked:
                drop(pkt)
                pkt, _ = self._dodequeue(pop, now, backlog)
            self.dropping = True
            # RFC 8289 §5.5 count reuse: if the queue went bad again soon after the last drop
            # state (within 16 intervals), start from the drop rate that controlled it then.
            delta = self.count - self.lastcount
            self.count = delta if delta > 1 and now - self.drop_next < 16 * self.interval else 1
            self.drop_next = self.control_law(now, self.count)
            self.lastcount = self.count
        return pkt


class Codel(QueueDisc):
    """Single-queue CoDel. ``limit``: packets at most (arrivals beyond are dropped, RFC 8289
    §5.4: those drops do not count in the control loop); ``ecn``: mark ECT packets instead of
    dropping them (off by default: drop)."""

    name = "codel"

    def __init__(self, target: float = 0.005, interval: float = 0.1, limit: int = 1000,
                 ecn: bool = False) -> None:
        super().__init__()
        self.target = target
        self.interval = interval
        self.limit = limit
        self.ecn = ecn
        self._queue: deque[Packet] = deque()
        self._bytes = 0
        self.state = CodelState(target, interval, 1514)

    def on_bind(self) -> None:
        # RFC 8289 §5.3: maxpacket SHOULD be the interface MTU (here with its Ethernet header)
        self.state.maxpacket = self.mtu + 14

    def enqueue(self, pkt: Packet, now: float) -> None:
        if len(self._queue) >= self.limit:
            self.drop(pkt, "queue")
            return
        pkt.enqueued = now  # RFC 8289 §5.4: the enqueue routine timestamps the packet
        self._queue.append(pkt)
        self._bytes += pkt.size

    def _pop(self) -> Packet | None:
        if not self._queue:
            return None
        pkt = self._queue.popleft()
        self._bytes -= pkt.size
        return pkt

    def _backlog(self) -> int:
        return self._bytes

    def _drop_aqm(self, pkt: Packet) -> None:
        self.drop(pkt, "aqm")

    def dequeue(self, now: float) -> Packet | None:
        return self.state.dequeue(self._pop, now, self._backlog, self._drop_aqm,
                                  self.mark if self.ecn else None)

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def backlog(self) -> int:
        return self._bytes

    def describe(self) -> str:
        return (f"codel target {self.target * 1e3:g}ms interval {self.interval * 1e3:g}ms "
                f"limit {self.limit}" + (" ecn" if self.ecn else ""))
