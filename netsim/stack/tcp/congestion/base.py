"""The congestion-controller interface (an assignment seam, DESIGN.md §6).

The connection detects loss (duplicate ACKs, the recover point, SACK, timeouts)
and asks its controller what the window should be. All sizes are bytes.
"""

from __future__ import annotations

from typing import Protocol


class CongestionControl(Protocol):
    name: str
    cwnd: int
    ssthresh: int
    # True: the sender stays in fast recovery until the recover point is acked and
    # retransmits the next hole on a partial ACK (RFC 6582). False: classic Reno, which
    # leaves recovery on the first ACK of new data.
    partial_ack_recovery: bool

    def init(self, mss: int, now: float) -> None:
        """Called once the MSS is known (end of the handshake): set the initial window."""
        ...

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        """New data acknowledged outside loss recovery: `acked` bytes, an RTT sample if any,
        `flight` bytes still outstanding after this ACK."""
        ...

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        """A duplicate ACK (`count` in a row) that arrives during fast recovery (without
        SACK): Reno inflates cwnd by one segment for each (RFC 5681 §3.2 step 4)."""
        ...

    def on_loss(self, flight: int, now: float) -> None:
        """Loss found by fast retransmit (three duplicate ACKs or SACK): enter recovery."""
        ...

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        """During recovery, an ACK of some but not all data up to the recover point."""
        ...

    def on_recovery_end(self, flight: int, now: float) -> None:
        """The ACK that ends fast recovery."""
        ...

    def on_rto(self, flight: int, now: float) -> None:
        """The retransmission timer expired."""
        ...

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        """About to send after `idle` seconds with nothing in flight (RFC 5681 §4.1)."""
        ...
