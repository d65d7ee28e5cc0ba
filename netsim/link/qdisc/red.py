"""RED, Random Early Detection (Floyd and Jacobson, 1993; recommended by RFC 2309): drop (or
ECN-mark) arriving packets with a probability that grows with the *average* queue length.

On each arrival (the paper's algorithm, in packets):

- the average: ``avg = (1 - wq) * avg + wq * q`` when the queue is not empty; after an idle
  period of m typical packet times, ``avg = (1 - wq)^m * avg``;
- below ``min`` nothing is dropped; from ``min`` to ``max`` the base probability is
  ``pb = max_p * (avg - min) / (max - min)`` and the packet is dropped with
  ``pa = pb / (1 - count * pb)``, ``count`` being the packets accepted since the last drop
  (this spaces drops out evenly); at or above ``max`` every arrival is dropped (with
  ``gentle``, the probability instead rises from max_p to 1 between max and 2 * max);
- ``limit`` is the real buffer: arrivals beyond it are dropped whatever the average.

With ``ecn`` an ECT packet is marked instead of an early drop (RFC 3168 §5); forced drops
(avg above max, or a full buffer) stay drops. Defaults are ns-3's RedQueueDisc: min 5,
max 15 packets, wq 0.002, max_p 1/50; limit 1000 packets. (tc's red counts in bytes.)
"""

from __future__ import annotations

from collections import deque

from netsim.link.qdisc.base import Packet, QueueDisc

__all__ = ["Red"]


class Red(QueueDisc):
    name = "red"

    def __init__(self, min: float = 5, max: float = 15, probability: float = 0.02,
                 weight: float = 0.002, limit: int = 1000, avpkt: int = 1000,
                 gentle: bool = False, ecn: bool = False) -> None:
        super().__init__()
        self.min_th = float(min)
        self.max_th = float(max)
        self.max_p = float(probability)
        self.wq = float(weight)
        self.limit = limit
        self.avpkt = avpkt
        self.gentle = gentle
        self.ecn = ecn
        self.avg = 0.0
        self.count = -1  # packets since the last early drop; -1: avg was below min
        self.idle_since: float | None = 0.0  # when the queue last became empty (None: busy)
        self._queue: deque[Packet] = deque()
        self._bytes = 0

    def update_average(self, now: float) -> float:
        """The paper's moving average, updated for an arrival at ``now``."""
        q = len(self._queue)
        if q or self.idle_since is None:
            self.avg = (1.0 - self.wq) * self.avg + self.wq * q
        else:
            # idle: as if m small packets had arrived to an empty queue meanwhile
            s = self.avpkt * 8 / self.rate_bps if self.rate_bps else 0.0
            m = (now - self.idle_since) / s if s > 0 else 0.0
            self.avg = (1.0 - self.wq) ** m * self.avg
        return self.avg

    def probability(self, avg: float) -> float:
        """pb, the base probability at this average (before the count correction)."""
        if avg < self.min_th:
            return 0.0
        if avg < self.max_th:
            return self.max_p * (avg - self.min_th) / (self.max_th - self.min_th)
        if self.gentle and avg < 2 * self.max_th:
            return self.max_p + (1 - self.max_p) * (avg - self.max_th) / self.max_th
        return 1.0

    def enqueue(self, pkt: Packet, now: float) -> None:
        avg = self.update_average(now)
        pb = self.probability(avg)
        if pb >= 1.0:
            self.count = 0
            self.drop(pkt, "aqm")  # forced: every arrival while avg is this high
            return
        if pb > 0.0:
            self.count += 1
            denominator = 1.0 - self.count * pb
            pa = pb / denominator if denominator > 0 else 1.0
            if self.rng.random() < pa:
                self.count = 0
                if not (self.ecn and self.mark(pkt)):
                    self.drop(pkt, "aqm")
                    return
        else:
            self.count = -1
        if len(self._queue) >= self.limit:
            self.drop(pkt, "queue")
            return
        pkt.enqueued = now
        self._queue.append(pkt)
        self._bytes += pkt.size
        self.idle_since = None

    def dequeue(self, now: float) -> Packet | None:
        if not self._queue:
            return None
        pkt = self._queue.popleft()
        self._bytes -= pkt.size
        if not self._queue:
            self.idle_since = now
        return pkt

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def backlog(self) -> int:
        return self._bytes

    def describe(self) -> str:
        return (f"red limit {self.limit} min {self.min_th:g} max {self.max_th:g} "
                f"probability {self.max_p:g}" + (" gentle" if self.gentle else "")
                + (" ecn" if self.ecn else ""))
