"""Drop-tail (a FIFO that refuses arrivals when full), in packets or in bytes.

The simplest discipline, and a model for writing one. A link whose `LinkConfig` has no
``qdisc`` uses the same rule on a faster path of its own (``queue_packets``/``queue_bytes``);
this class gives the same results through the generic path (tests/test_qdisc.py checks it).
"""

from __future__ import annotations

from collections import deque

from netsim.link.qdisc.base import Packet, QueueDisc

__all__ = ["DropTail"]


class DropTail(QueueDisc):
    """``limit``: packets waiting at most (None: no limit); ``bytes``: bytes waiting at most."""

    name = "droptail"

    def __init__(self, limit: int | None = 1000, bytes: int | None = None) -> None:
        super().__init__()
        self.limit = limit
        self.limit_bytes = bytes
        self._queue: deque[Packet] = deque()
        self._bytes = 0

    def enqueue(self, pkt: Packet, now: float) -> None:
        if self.limit is not None and len(self._queue) >= self.limit:
            self.drop(pkt, "queue")
            return
        if self.limit_bytes is not None and self._bytes + pkt.size > self.limit_bytes:
            self.drop(pkt, "queue")
            return
        self._queue.append(pkt)
        self._bytes += pkt.size

    def dequeue(self, now: float) -> Packet | None:
        if not self._queue:
            return None
        pkt = self._queue.popleft()
        self._bytes -= pkt.size
        return pkt

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def backlog(self) -> int:
        return self._bytes

    def describe(self) -> str:
        parts = [self.name]
        if self.limit is not None:
            parts.append(f"limit {self.limit}")
        if self.limit_bytes is not None:
            parts.append(f"bytes {self.limit_bytes}")
        return " ".join(parts)
