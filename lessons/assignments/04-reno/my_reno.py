"""Assignment 04: a Reno congestion controller (RFC 5681, with RFC 3465 byte counting).

The real TCP in netsim detects loss (duplicate ACKs, timeouts) and asks this class what the
congestion window should be; all sizes are in bytes. Fill in the TODOs, then grade with

    netsim grade 04-reno my_reno.py

and watch it work in a full simulation:

    netsim sim --cc my_reno.py:MyReno --loss 0.01 --bytes 2MB

Which method is called when: see netsim/stack/tcp/congestion/base.py.
"""

from __future__ import annotations


class MyReno:
    name = "my-reno"
    # Classic Reno leaves fast recovery on the first ACK of new data (no NewReno partial ACKs).
    partial_ack_recovery = False
    ABC_L = 2  # RFC 3465 §2.2: in slow start, at most L*SMSS per ACK

    def __init__(self) -> None:
        self.mss = 1460
        self.cwnd = 0
        self.ssthresh = 1 << 30  # "arbitrarily high" (RFC 5681 §3.1)
        # TODO: anything else you need (e.g. a byte counter for congestion avoidance)

    def init(self, mss: int, now: float) -> None:
        """The handshake is over and the MSS known: set the initial window
        (RFC 5681 §3.1: 4*MSS if MSS <= 1095, 3*MSS if MSS <= 2190, else 2*MSS)."""
        self.mss = mss
        raise NotImplementedError("TODO: MyReno.init")

    def on_ack(self, acked: int, rtt: float | None, flight: int, now: float) -> None:
        """`acked` new bytes acknowledged (outside loss recovery). Slow start while
        cwnd < ssthresh (cwnd += min(acked, ABC_L * mss)), else congestion avoidance
        (about one mss more per round trip)."""
        raise NotImplementedError("TODO: MyReno.on_ack")

    def on_dup_ack(self, count: int, flight: int, now: float) -> None:
        """A duplicate ACK, the `count`-th in a row. The first two change nothing; during
        fast recovery (count > 3) each one inflates cwnd by mss."""
        raise NotImplementedError("TODO: MyReno.on_dup_ack")

    def on_loss(self, flight: int, now: float) -> None:
        """The third duplicate ACK: fast retransmit and enter fast recovery.
        ssthresh = max(flight // 2, 2*mss), whole bytes (half the flight, rounded down);
        cwnd = ssthresh + 3*mss (RFC 5681 §3.2)."""
        raise NotImplementedError("TODO: MyReno.on_loss")

    def on_partial_ack(self, acked: int, flight: int, now: float) -> None:
        """Only NewReno (partial_ack_recovery = True) gets these; Reno never does."""

    def on_recovery_end(self, flight: int, now: float) -> None:
        """New data acknowledged: fast recovery is over; deflate cwnd to ssthresh."""
        raise NotImplementedError("TODO: MyReno.on_recovery_end")

    def on_rto(self, flight: int, now: float) -> None:
        """The retransmission timer expired: ssthresh = max(flight // 2, 2*mss) and
        cwnd = 1 mss, the loss window (RFC 5681 §3.1)."""
        raise NotImplementedError("TODO: MyReno.on_rto")

    def on_idle(self, idle: float, rto: float, now: float) -> None:
        """About to send after `idle` seconds with nothing in flight: if idle > rto,
        cwnd = min(initial window, cwnd) (RFC 5681 §4.1)."""
        raise NotImplementedError("TODO: MyReno.on_idle")
