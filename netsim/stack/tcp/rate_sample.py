"""Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02): per ACK, a rate
sample of how fast data was delivered, for a model-based controller such as BBR.

Each transmission records the connection's `delivered` count and `delivered_time` and the
`first_sent_time` of its flight when it leaves ("Transmitting or retransmitting a data
packet"); when an ACK (cumulatively or by SACK) delivers it, the sample spans from then to
now: delivered bytes over max(send elapsed, ack elapsed) ("Upon receiving an ACK"). The
sample comes from the most recently sent packet the ACK delivered. A sample is
application-limited when that packet left while the sender had nothing more to send
("Detecting application-limited phases"): such a sample can underestimate the path, and a
controller only raises its estimate with it.

Offsets are 64-bit stream positions from the ISS, as the SACK scoreboard's
(netsim.stack.tcp.sack). What a connection hands in and does with a sample is
netsim.stack.tcp.delivery.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from netsim.stack.tcp.sack import uncovered
from netsim.stack.timers import INF

if TYPE_CHECKING:
    from netsim.stack.tcp.sack import SackScoreboard


class SentPacket:
    """The per-packet state: one transmission of [start, end)."""

    __slots__ = ("start", "end", "delivered", "delivered_time", "first_sent_time",
                 "sent_time", "app_limited", "retransmitted", "done")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end
        self.delivered = 0
        self.delivered_time = 0.0
        self.first_sent_time = 0.0
        self.sent_time = 0.0
        self.app_limited = False
        self.retransmitted = False
        self.done = False  # delivered (cumulatively or by SACK)


def _start(p: SentPacket) -> int:
    return p.start


class RateSample:
    """The rate sample (rs), and what the ACK did: `acked` bytes newly delivered, `rtt` of the
    packet the sample is from (None if it was retransmitted), `inflight` afterwards."""

    __slots__ = ("delivery_rate", "interval", "delivered", "prior_delivered", "app_limited",
                 "rtt", "acked", "inflight", "conn_delivered", "valid")

    def __init__(self) -> None:
        self.delivery_rate = 0.0  # bytes per second
        self.interval = 0.0
        self.delivered = 0
        self.prior_delivered = 0
        self.app_limited = False
        self.rtt: float | None = None
        self.acked = 0
        self.inflight = 0
        self.conn_delivered = 0
        self.valid = False


class RateTracker:
    """The per-connection state (C.delivered, C.delivered_time, C.first_sent_time,
    C.app_limited) and the packets sent and not yet delivered."""

    def __init__(self) -> None:
        self.delivered = 0
        self.delivered_time = 0.0
        self.first_sent_time = 0.0
        self.app_limited = 0  # C.app_limited: delivered count that ends the limited phase
        self.min_rtt = INF
        self.pkts: list[SentPacket] = []  # in sequence order from index `head`
        self.head = 0
        self._rs = RateSample()
        self._newest: SentPacket | None = None

    # ------------------------------------------------------------------ sending
    def on_send(self, start: int, end: int, now: float, inflight: int,
                retransmit: bool) -> None:
        """Transmitting a data packet [start, end) leaves; `inflight`: bytes in flight before it."""
        if inflight == 0:
            self.first_sent_time = self.delivered_time = now
        pkts = self.pkts
        if not retransmit or not pkts or start >= pkts[-1].end:
            p = SentPacket(start, end)
            pkts.append(p)
        else:
            i = bisect.bisect_right(pkts, start, lo=self.head, key=_start) - 1
            if i < self.head or pkts[i].done:
                return
            p = pkts[i]
            p.retransmitted = True
        p.first_sent_time = self.first_sent_time
        p.delivered_time = self.delivered_time
        p.delivered = self.delivered
        p.sent_time = now
        p.app_limited = self.app_limited != 0

    def mark_app_limited(self, inflight: int) -> None:
        """Detecting application-limited phases: the application has nothing more to send and
        the window is not full."""
        self.app_limited = max(self.delivered + inflight, 1)

    # ------------------------------------------------------------------ ACKs
    def _deliver(self, p: SentPacket, now: float) -> None:
        """UpdateRateSample for one newly delivered packet."""
        p.done = True
        self.delivered += p.end - p.start
        self.delivered_time = now
        rs = self._rs
        rs.acked += p.end - p.start
        newest = self._newest
        if newest is None or p.delivered > newest.delivered or \
                p.delivered == newest.delivered and p.sent_time > newest.sent_time:
            self._newest = p
            self.first_sent_time = p.sent_time

    def deliver_cumulative(self, una: int, now: float) -> None:
        """Packets wholly below the cumulative ACK `una` are delivered."""
        pkts = self.pkts
        i = self.head
        n = len(pkts)
        while i < n and pkts[i].end <= una:
            if not pkts[i].done:
                self._deliver(pkts[i], now)
            i += 1
        self.head = i
        if i > 256 and i * 2 > n:
            del pkts[:i]
            self.head = 0

    def deliver_sack(self, board: SackScoreboard, lo: int, hi: int, now: float) -> None:
        """A SACK block [lo, hi) arrived (call before the scoreboard records it): packets
        wholly inside the parts it newly covers are delivered."""
        pkts = self.pkts
        n = len(pkts)
        for a, b in uncovered(board, lo, hi):
            i = max(bisect.bisect_left(pkts, a, lo=self.head, key=_start), self.head)
            while i < n and pkts[i].end <= b:
                if not pkts[i].done:
                    self._deliver(pkts[i], now)
                i += 1

    def sample(self, now: float, inflight: int) -> RateSample:
        """GenerateRateSample, after the ACK's packets were delivered; the sample
        object is reused by the next ACK."""
        rs = self._rs
        self._rs = RateSample()
        p = self._newest
        self._newest = None
        rs.inflight = inflight
        rs.conn_delivered = self.delivered
        if self.app_limited and self.delivered > self.app_limited:
            self.app_limited = 0  # the app-limited phase is over
        if p is None:
            return rs
        rs.prior_delivered = p.delivered
        rs.app_limited = p.app_limited
        if not p.retransmitted:
            rs.rtt = now - p.sent_time
            if rs.rtt < self.min_rtt:
                self.min_rtt = rs.rtt
        send_elapsed = p.sent_time - p.first_sent_time
        ack_elapsed = self.delivered_time - p.delivered_time
        rs.interval = max(send_elapsed, ack_elapsed)
        rs.delivered = self.delivered - p.delivered
        # GenerateRateSample: an interval shorter than the minimum RTT is not a valid sample
        # (it would overestimate the rate, e.g. after ACK compression)
        if rs.interval > 0 and rs.interval >= self.min_rtt:
            rs.delivery_rate = rs.delivered / rs.interval
            rs.valid = True
        return rs
