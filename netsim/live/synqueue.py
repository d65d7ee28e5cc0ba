"""Where SYNs wait when netsim is behind: a live host's defence against a SYN flood that comes
faster than Python answers it (issue 23).

A TAP delivers frames in the order the kernel queued them. Under a flood of 75,000 SYNs a
second netsim answers a few tens of thousands a second, so in arrival order everything behind
the flood would wait: a client's SYN, but also the ACK that completes its handshake and its
data. The `TapPort` therefore reads every frame as soon as it can (reading is cheap next to
answering) and hands pure SYNs (IPv4, TCP, only SYN set) to a `SynQueue`; every other frame
goes to the stack at once. The queue answers a budget of SYNs between reads, **newest first**:

- while netsim keeps up the queue empties at every wake-up, and the order changes nothing
  (SYNs of different clients are independent; a client's retransmitted SYN is answered as
  the first would be);
- while frames arrive faster than they are read (a read returned a whole batch), only the
  answerable SYNs (below) are answered between reads: a frame the kernel cannot queue for
  netsim is lost, and a client's SYN lost there costs it a retransmission (1 s), so reading
  comes first;
- while it does not, the newest SYN is the one whose client is still waiting for an answer;
  the oldest have waited longest and are the likeliest to be spoofed or given up on. A client
  that connects while (or right after) a flood is answered after the SYNs that came after its
  own, not after the whole flood ("adaptive LIFO": a standing queue only adds delay);
- a SYN that waited longer than `max_age` is dropped unanswered (``stale``): its sender has
  retransmitted it by then (initial RTO 1 s, RFC 6298 (2.1)), so the answer would be late;
- at most `limit` SYNs wait (the oldest goes first, ``overflow``), so memory stays bounded
  whatever the flood's rate (RFC 4987 §3.2: a larger backlog, but a bounded one).

SYNs come in two classes, and the queue answers the first before the second. A SYN is
*answerable* (``add(..., answerable=True)``; the live host decides, see
`netsim.live.host.LiveHost`) when its sender's MAC address is already known, so its SYN-ACK
leaves at once. The SYN-ACK to a sender whose address does not resolve waits for ARP (at
least a round trip; for the unused on-link addresses a flood is spoofed from, until ARP gives
up), so answering it first only delays the others. A real client on the link has resolved
netsim's address before sending its SYN, and netsim learned its address from that ARP
request (RFC 826), so its SYN goes first even while netsim is far behind a spoofed flood.
Both classes are answered newest first, dropped when stale and bounded (answerable SYNs by
`limit_answerable`: a flood spoofed from known addresses fills that class, and then the
class is no better than the other, but no worse).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final

__all__ = ["SynQueue", "is_pure_syn"]

_ETH_IPV4: Final = b"\x08\x00"


def is_pure_syn(frame: bytes) -> bool:
    """Whether `frame` is Ethernet II, IPv4 (any header length), TCP with only SYN set."""
    if len(frame) < 34 or frame[12:14] != _ETH_IPV4 or frame[23] != 6:
        return False
    flags = 14 + ((frame[14] & 0x0F) << 2) + 13  # TCP's flags byte
    return len(frame) > flags and frame[flags] == 0x02 and not frame[flags - 1] & 0x0F


class SynQueue:
    """SYNs read but not yet answered (with the `clock` time they were read); `run` answers
    them a budget at a time, newest first."""

    def __init__(self, deliver: Callable[[bytes], None], clock: Callable[[], float],
                 max_age: float = 1.0, limit: int = 32768, budget: int = 64,
                 limit_answerable: int = 1024) -> None:
        if not max_age > 0 or limit < 1 or budget < 1 or limit_answerable < 1:
            raise ValueError(f"SynQueue: max_age {max_age!r} must be > 0, limit {limit!r}, "
                             f"limit_answerable {limit_answerable!r} and budget {budget!r} "
                             "at least 1")
        self.deliver = deliver
        self.clock = clock
        self.max_age = max_age
        self.limit = limit
        self.limit_answerable = limit_answerable
        self.budget = budget
        self._queue: deque[tuple[float, bytes]] = deque()
        self._answerable: deque[tuple[float, bytes]] = deque()
        self.stale = 0  # dropped after waiting longer than max_age
        self.overflow = 0  # dropped because `limit` (or `limit_answerable`) SYNs were waiting
        self.peak = 0  # the most SYNs that waited at once
        self.answered_first = 0  # answerable SYNs answered (ahead of the others)

    def __len__(self) -> int:
        return len(self._queue) + len(self._answerable)

    def add(self, frame: bytes, now: float, answerable: bool = False) -> None:
        """Queue a SYN read at `now` (this runs once per SYN of a flood: kept lean; `peak`
        is brought up to date by `run`, which follows every batch of reads)."""
        if answerable:
            queue = self._answerable
            if len(queue) >= self.limit_answerable:
                queue.popleft()
                self.overflow += 1
        else:
            queue = self._queue
            if len(queue) >= self.limit:
                queue.popleft()
                self.overflow += 1
        queue.append((now, frame))

    def run(self, answerable_only: bool = False) -> int:
        """Drop the stale SYNs, then answer up to `budget` of the others, the answerable ones
        first, each class newest first (with `answerable_only`, only those: the caller is
        still behind in reading, and reading comes first); returns how many are waiting."""
        waiting = len(self._queue) + len(self._answerable)
        if waiting > self.peak:
            self.peak = waiting
        oldest = self.clock() - self.max_age
        deliver = self.deliver
        left = self.budget
        for queue in (self._answerable, self._queue):
            if answerable_only and queue is self._queue:
                break
            while queue and queue[0][0] < oldest:
                queue.popleft()
                self.stale += 1
            n = min(left, len(queue))
            if queue is self._answerable:
                self.answered_first += n
            for _ in range(n):
                deliver(queue.pop()[1])
            left -= n
        return len(self._queue) + len(self._answerable)
