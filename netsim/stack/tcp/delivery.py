"""Pacing and delivery-rate samples on a connection: the hooks that feed
netsim.stack.tcp.rate_sample and netsim.stack.tcp.pacing, called where `conn.rate` or
`conn.pacer` is set from small marked hooks in netsim.stack.tcp.sender (`_send_segment`,
`_output`), netsim.stack.tcp.recovery (`_take_sack`, the sending loop), rack_recovery (its
sending loop) and
netsim.stack.tcp.connection (`_process_ack`).

A controller asks for rate samples by having an `on_rate_sample(rs, now)` method (BBR does),
and for pacing at its own rate by having a `pacing_rate` attribute (bytes per second; 0:
not yet known, unpaced), both defined in its class; `TcpConfig(pacing=True)` paces any
controller at Linux's default rate. A controller without either (Reno, CUBIC, a student's)
runs exactly as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsim.stack.events import RateRecord
from netsim.stack.tcp.pacing import default_rate
from netsim.stack.tcp.seq import seq_diff
from netsim.wire.tcp import TCPSegment

if TYPE_CHECKING:
    from netsim.stack.tcp.retransmit_timer import RetransmitTimer as Conn


def inflight(conn: Conn) -> int:
    """Bytes in flight: outstanding minus SACKed (and, with RACK, minus lost and not sent
    again), RFC 6675's pipe as RACK counts it."""
    outstanding = seq_diff(conn.snd_max, conn.snd_una)
    sacked = conn.sack_board.sacked_above(conn._una_off) if conn.sack_board.starts else 0
    if conn.rack is not None:
        return conn.rack.pipe(outstanding, sacked)
    return max(outstanding - sacked, 0)


def on_transmit(conn: Conn, seq: int, n: int, now: float, retransmit: bool) -> None:
    """Hook of `_send_segment`: `n` data bytes from `seq` leave now."""
    outstanding = seq_diff(conn.snd_max, conn.snd_una)
    tracker = conn.rate
    if tracker is not None:
        start = conn._una_off + seq_diff(seq, conn.snd_una)
        tracker.on_send(start, start + n, now, outstanding, retransmit)
    pacer = conn.pacer
    if pacer is not None:
        cc = conn.cc
        rate: float | None = getattr(cc, "pacing_rate", None)
        if rate is None:
            rate = default_rate(cc.cwnd, cc.ssthresh, outstanding + n, conn.rto_est.srtt)
        pacer.sent(n, rate, now)


def on_ack(conn: Conn, seg: TCPSegment, now: float) -> None:
    """Hook at the end of ACK processing: what this ACK delivered cumulatively, the rate
    sample, the controller's `on_rate_sample`, the trace record."""
    tracker = conn.rate
    assert tracker is not None
    una = conn._una_off
    # (what SACK blocks delivered was handed in from `_take_sack`, netsim.stack.tcp.recovery)
    tracker.deliver_cumulative(una, now)
    rs = tracker.sample(now, inflight(conn))
    cc = conn.cc
    cc.on_rate_sample(rs, now)  # type: ignore[attr-defined]
    if conn.trace is not None and rs.valid:
        pacing: float = getattr(cc, "pacing_rate", None) or \
            (conn.pacer.rate if conn.pacer is not None else 0.0)
        conn.trace.record(RateRecord(now, conn.stack.name, conn.name, pacing * 8,
                                     rs.delivery_rate * 8, str(getattr(cc, "state", "")),
                                     rs.app_limited))


def app_limited(conn: Conn, flight: int) -> None:
    """Hook of `_output`: nothing more to send while the window has room (draft-cheng-iccrg-
    delivery-rate-estimation, "Detecting application-limited phases")."""
    if conn.rate is not None and flight < conn.cc.cwnd:
        conn.rate.mark_app_limited(inflight(conn))
