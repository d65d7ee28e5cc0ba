"""FQ-CoDel (RFC 8290): flows hashed into queues, served by deficit round robin with a "new"
list ahead of an "old" one, each queue run by its own CoDel (netsim.link.qdisc.codel).

Defaults as Linux's sch_fq_codel (RFC 8290 §5.2): 1024 flows, quantum 1514 bytes, limit 10240
packets, target 5 ms, interval 100 ms. RFC 8290 §5.2.6 has ECN on by default; here, as on every
discipline of netsim, marking is off unless asked for (``ecn``), because netsim's TCP sends
ECT only on connections that negotiated ECN (TcpConfig.ecn), which its clients do not by default.
"""

from __future__ import annotations

import zlib
from collections import deque
from functools import partial

from netsim.link.qdisc.base import Packet, QueueDisc
from netsim.link.qdisc.codel import CodelState

__all__ = ["FlowQueue", "FqCodel", "flow_key"]

_ETH = 14
_PORTS = (6, 17)  # TCP, UDP: the protocols whose first four payload bytes are the two ports


def flow_key(frame: bytes) -> bytes:
    """The 5-tuple a frame is classified by (RFC 8290 §4.1): protocol, source and
    destination addresses, source and destination ports. A protocol without ports (ICMP) or a
    non-first fragment hashes with ports zero (RFC 8290 §4.1.1); a frame that is not IPv4
    hashes on its Ethernet header."""
    if len(frame) < _ETH + 20 or frame[12:14] != b"\x08\x00" or frame[_ETH] >> 4 != 4:
        return frame[:14]
    ihl = (frame[_ETH] & 0x0F) * 4
    proto = frame[_ETH + 9]
    addresses = frame[_ETH + 12:_ETH + 20]
    fragment_offset = int.from_bytes(frame[_ETH + 6:_ETH + 8], "big") & 0x1FFF
    ports = b"\x00\x00\x00\x00"
    if proto in _PORTS and fragment_offset == 0 and len(frame) >= _ETH + ihl + 4:
        ports = frame[_ETH + ihl:_ETH + ihl + 4]
    return bytes([proto]) + addresses + ports


class FlowQueue:
    """One queue of FQ-CoDel: its packets, bytes, DRR credits and CoDel state."""

    __slots__ = ("bytes", "codel", "deficit", "index", "packets", "where")

    def __init__(self, index: int, codel: CodelState) -> None:
        self.index = index
        self.packets: deque[Packet] = deque()
        self.bytes = 0
        self.deficit = 0
        self.codel = codel
        self.where = ""  # "new", "old", or "" (not active)

    def __repr__(self) -> str:
        return f"<FlowQueue {self.index} {len(self.packets)} pkts {self.where or 'idle'}>"


class FqCodel(QueueDisc):
    """Flow-queueing CoDel. ``flows``: number of queues; ``quantum``: bytes a queue may send
    per round; ``limit``: packets in all queues together; ``perturbation``: salt of the flow
    hash (RFC 8290 §4.1 salts it with a random value; here it is a fixed, reproducible one)."""

    name = "fq_codel"

    def __init__(self, target: float = 0.005, interval: float = 0.1, limit: int = 10240,
                 flows: int = 1024, quantum: int = 1514, ecn: bool = False,
                 perturbation: int = 0) -> None:
        super().__init__()
        self.target = target
        self.interval = interval
        self.limit = limit
        self.flows = flows
        self.quantum = quantum
        self.ecn = ecn
        self.perturbation = perturbation
        self._queues: dict[int, FlowQueue] = {}  # created on first use
        self.new_flows: deque[FlowQueue] = deque()
        self.old_flows: deque[FlowQueue] = deque()
        self._count = 0
        self._bytes = 0
        self._maxpacket = 1514

    def on_bind(self) -> None:
        self._maxpacket = self.mtu + 14

    def classify(self, pkt: Packet) -> int:
        """The queue index of a packet: a hash of its 5-tuple, modulo ``flows``."""
        return zlib.crc32(flow_key(pkt.data()), self.perturbation) % self.flows

    def queue(self, index: int) -> FlowQueue:
        q = self._queues.get(index)
        if q is None:
            q = FlowQueue(index, CodelState(self.target, self.interval, self._maxpacket))
            self._queues[index] = q
        return q

    def enqueue(self, pkt: Packet, now: float) -> None:
        # RFC 8290 §4.1: classify, timestamp, add to the tail; an inactive queue joins the end
        # of the new list with one quantum of credits
        q = self.queue(self.classify(pkt))
        pkt.enqueued = now
        q.packets.append(pkt)
        q.bytes += pkt.size
        self._count += 1
        self._bytes += pkt.size
        if not q.where:
            q.where = "new"
            q.deficit = self.quantum
            self.new_flows.append(q)
        if self._count > self.limit:
            self._overflow()

    def _overflow(self) -> None:
        """RFC 8290 §4.1: over the limit, drop half the packets (at most 64) from the head of
        the queue with the largest byte count."""
        fattest = max(self._queues.values(), key=lambda q: q.bytes)
        for _ in range(max(1, min(64, len(fattest.packets) // 2))):
            pkt = self._pop(fattest)
            if pkt is None:
                break
            self.drop(pkt, "queue")

    def _pop(self, q: FlowQueue) -> Packet | None:
        if not q.packets:
            return None
        pkt = q.packets.popleft()
        q.bytes -= pkt.size
        self._count -= 1
        self._bytes -= pkt.size
        return pkt

    def _backlog(self) -> int:
        # RFC 8289 §4.4: CoDel on one of several queues looks at the total occupancy
        return self._bytes

    def _drop_aqm(self, pkt: Packet) -> None:
        self.drop(pkt, "aqm")

    def dequeue(self, now: float) -> Packet | None:
        mark = self.mark if self.ecn else None
        while True:
            # RFC 8290 §4.2: the head of the new list, else of the old list
            if self.new_flows:
                lst = self.new_flows
            elif self.old_flows:
                lst = self.old_flows
            else:
                return None
            q = lst[0]
            if q.deficit <= 0:
                # credits exhausted: one more quantum, and to the end of the old list
                q.deficit += self.quantum
                lst.popleft()
                q.where = "old"
                self.old_flows.append(q)
                continue
            pkt = q.codel.dequeue(partial(self._pop, q), now, self._backlog,
                                  self._drop_aqm, mark)
            if pkt is None:
                # empty: a new queue goes to the end of the old list (against starvation), an
                # old one becomes inactive
                lst.popleft()
                if lst is self.new_flows:
                    q.where = "old"
                    self.old_flows.append(q)
                else:
                    q.where = ""
                continue
            q.deficit -= pkt.size
            return pkt

    def __len__(self) -> int:
        return self._count

    @property
    def backlog(self) -> int:
        return self._bytes

    def describe(self) -> str:
        return (f"fq_codel target {self.target * 1e3:g}ms interval {self.interval * 1e3:g}ms "
                f"limit {self.limit} flows {self.flows} quantum {self.quantum}"
                + (" ecn" if self.ecn else ""))
