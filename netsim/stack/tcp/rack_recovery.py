"""RACK-TLP (RFC 8985) on a connection: what RACK's findings mean for it — the congestion
control's fast recovery (§9.3), sending in recovery, the reordering timer and the PTO, the
probe and its ACK (§7). The state and the loss-detection algorithm are
netsim.stack.tcp.rack; these functions are called, where `conn.rack` is set, from small
marked hooks in netsim.stack.tcp.sender (`_send_segment`), netsim.stack.tcp.recovery
(`_sack_output`) and netsim.stack.tcp.connection (`_process_ack`, `on_timer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsim.stack.tcp import ecn
from netsim.stack.tcp.sack import is_dsack
from netsim.stack.tcp.seq import HALF, MASK, MOD, seq_diff, seq_ge
from netsim.stack.timers import INF
from netsim.wire.tcp import OPT_SACK, TCPSegment

if TYPE_CHECKING:
    # the connection, as far as these functions use it (the block and its timer)
    from netsim.stack.tcp.retransmit_timer import RetransmitTimer as Conn

#: RFC 8985 §7.2: TLP.max_ack_delay, added to the PTO when one segment is in flight (the
#: worst-case delayed-ACK timer, 200 ms; Linux's tcp_schedule_loss_probe adds TCP_RTO_MIN,
#: the same 200 ms)
MAX_ACK_DELAY = 0.2


def on_transmit(conn: Conn, seq: int, n: int, now: float, retransmit: bool) -> None:
    """Hook of `_send_segment`: RFC 8985 §6.1, and §7.2 (a loss probe scheduled after new
    data)."""
    rack = conn.rack
    assert rack is not None
    if not conn.sack_ok:
        conn.rack = None  # RFC 8985 needs SACK; without it DupAck counting stays
        return
    d = (seq - conn.snd_una) & MASK  # (seq_diff(seq, SND.UNA) written out, as below)
    start = conn._una_off + (d - MOD if d >= HALF else d)
    rack.on_transmit(start, start + n, now)
    if not retransmit and not rack.probing:
        arm_pto(conn, now)


def arm_pto(conn: Conn, now: float) -> None:
    """RFC 8985 §7.2: schedule the loss probe (PTO) unless in fast or RTO recovery or with
    SACKed segments; PTO = 2*SRTT (+ max_ack_delay with one segment in flight), 1 s without
    SRTT, never later than the RTO."""
    rack = conn.rack
    assert rack is not None
    if conn.in_recovery or conn._retrans_ts is not None or rack.segs_sacked or \
            conn.snd_una == conn.snd_max:
        rack.pto_at = INF
        return
    srtt = conn._srtt_seen if conn._srtt_fresh else conn._srtt()
    if srtt is None:
        pto = 1.0
    else:
        pto = 2 * srtt
        flight = (conn.snd_max - conn.snd_una) & MASK
        if flight >= HALF:
            flight -= MOD
        if flight <= conn.snd_mss:
            pto += MAX_ACK_DELAY
    at = now + pto
    if conn.rto_at < at:
        at = conn.rto_at
    rack.pto_at = at
    if at < conn.timer_at:  # (else the timer queue wakes us soon enough already)
        conn.stack.timers.ensure(conn, at)


def on_ack(conn: Conn, seg: TCPSegment, now: float) -> None:
    """Hook at the end of ACK processing: the cumulative part, TLP's ACK (§7.4.2), RACK's
    loss detection (§6.2) and, if it found losses, fast recovery (§9.3)."""
    rack = conn.rack
    assert rack is not None
    una = conn._una_off
    segs = rack.segs
    head = rack.head
    # in fast or RTO recovery after this ACK (recovering(conn); nothing below changes it)
    rec = conn.in_recovery or conn._retrans_ts is not None
    if segs is None or head == len(segs):
        # Nothing in flight (what a receiver's every data segment acknowledges): unless the
        # time-ordered list still holds segments to scan, a probe is out, or a D-SACK round
        # or a change of recovery state is due (update_reo_wnd), the steps below would
        # change nothing (and none of them was needed to get here: `reo_at` is INF once
        # detect_loss has scanned the whole list)
        order = rack.order
        if (order is None or rack.order_head == len(order)) and rack.tlp_end is None and \
                rack.dsack_round is None and not rack.dsack_on_ack and rack.recovering == rec:
            return
        advanced = False
    else:
        advanced = segs[head].start < una
    if advanced:
        rack.on_cumulative_ack(una, now)
    if rack.newly:  # segments this ACK delivered (none on most duplicate ACKs)
        rack.detect_reordering()
    d = (conn.snd_max - conn.snd_una) & MASK
    rack.update_reo_wnd(una, una + (d - MOD if d >= HALF else d), rec)
    if rack.tlp_end is not None:
        _tlp_ack(conn, seg, una, advanced, now)
    detect(conn, now, rec)
    if advanced:
        arm_pto(conn, now)  # RFC 8985 §7.2: after an ACK of new data


def _tlp_ack(conn: Conn, seg: TCPSegment, una: int, advanced: bool,
             now: float) -> None:
    """RFC 8985 §7.4.2: did the probe retransmission repair a single loss?"""
    rack = conn.rack
    assert rack is not None and rack.tlp_end is not None
    end = rack.tlp_end
    dsack = False
    blocks = None
    for opt in seg.options:
        if opt.kind == OPT_SACK:
            blocks = opt.blocks  # type: ignore[union-attr]
            dsack = is_dsack(blocks, seg.ack)  # a duplicate, RFC 2883 §5
            break
    if dsack or not advanced and blocks is None and una >= end and not seg.payload:
        # both the original and the probe arrived: case 1, a D-SACK; case 2 (a receiver
        # without D-SACK), a duplicate ACK without SACK blocks: no loss
        rack.tlp_end = None
    elif una > end:
        # an ACK beyond the probe, and no D-SACK for it: the probe repaired a loss, which
        # the congestion controller is told about (RFC 8985 §7.4.2, §9.3)
        rack.tlp_end = None
        conn.stack.tcp_counts["tlp_recoveries"] += 1
        conn._event(now, "tlp_recovery", f"seq {(conn.snd_una) & MASK}")
        # the probe's last byte, the lost data ends there
        last = (conn.snd_una + (end - una) - 1) & MASK
        if not conn.in_recovery and not ecn.cut_this_window(conn, last):
            # the response fast recovery would have had when the probe went (none in a
            # window an ECE ACK already cut, RFC 3168 §6.1.2)
            conn.cc.on_loss(rack.tlp_flight, now)
            conn.cc.on_recovery_end(seq_diff(conn.snd_max, conn.snd_una), now)
            conn.recover = conn.snd_max  # one reduction for this window (RFC 6582 §3.2)
            conn._trace_cwnd(now, "tlp_recovery")


def detect(conn: Conn, now: float, rec: bool | None = None) -> None:
    """RACK_detect_loss_and_arm_timer (RFC 8985 §6.2), then recovery for what it found.
    `rec`: `recovering(conn)` if the caller has it already."""
    rack = conn.rack
    assert rack is not None
    if rec is None:
        rec = recovering(conn)
    srtt = conn._srtt_seen if conn._srtt_fresh else conn._srtt()
    if rack.detect_loss(conn._una_off, now, rec, srtt):
        if not conn.in_recovery:
            enter_recovery(conn, now)
    if rack.reo_at < conn.timer_at:  # (INF never is)
        conn.stack.timers.ensure(conn, rack.reo_at)


def recovering(conn: Conn) -> bool:
    """In fast recovery, or in RTO recovery (what was sent before the timeout is not all
    acknowledged yet)."""
    return conn.in_recovery or conn._retrans_ts is not None


def enter_recovery(conn: Conn, now: float) -> None:
    """RFC 8985 §9.3: a loss RACK detected starts the controller's fast recovery (once per
    window of data, RFC 6582 §3.2's `recover`); RFC 6675 §5's pipe then limits sending."""
    reduce = seq_ge(conn.snd_una, conn.recover)
    # RFC 3168 §6.1.2: not again in a window an ECE ACK already cut
    after_ece = reduce and ecn.cut_this_window(conn)
    conn.recover = conn.snd_max
    conn.in_recovery = conn.sack_recovery = True
    if conn.rack is not None:
        conn.rack.pto_at = INF
        conn.rack.tlp_end = None  # RFC 8985 §7.1: fast recovery starts TLP state afresh
        conn.rack.tlp_is_retrans = False
    if after_ece:
        ecn.loss_after_cut(conn, now)
        conn.cc.cwnd = min(conn.cc.cwnd, conn.cc.ssthresh)
    elif reduce:
        # RFC 5681 §3.2 step 2: what limited transmit sent beyond cwnd is not FlightSize
        flight = seq_diff(conn.snd_max, conn.snd_una)
        if flight > conn.cc.cwnd:
            flight = max(conn.cc.cwnd, flight - 2 * conn.snd_mss)
        conn.cc.on_loss(flight, now)
        conn.cc.cwnd = conn.cc.ssthresh
    conn.fast_retransmits += 1
    conn.sack_recoveries += 1
    conn.stack.tcp_counts["fast_retransmits"] += 1
    conn.stack.tcp_counts["sack_recoveries"] += 1
    conn._event(now, "fast_retransmit", f"seq {conn.snd_una} (RACK)")
    conn._trace_cwnd(now, "fast_retransmit")
    # RFC 6675 §5 step (4.2): the first segment deemed lost goes at once, whatever the pipe
    if conn.rack is not None:
        lost = conn.rack.next_lost(conn._una_off)
        if lost is not None:
            start, end = lost
            conn._send_segment((conn.snd_una + (start - conn._una_off)) & MASK,
                               min(conn.snd_mss, end - start), now)
            conn.stack.tcp_counts["rack_retransmits"] += 1


def output(conn: Conn, now: float) -> None:
    """Sending in recovery (RFC 6675 §5 step (C) with RACK's losses): while
    cwnd - pipe >= 1 SMSS, the lowest lost segment, else new data."""
    rack = conn.rack
    assert rack is not None
    mss = conn.snd_mss
    while True:
        una_off = conn._una_off
        nxt = conn.snd_max
        outstanding = (nxt - conn.snd_una) & MASK  # (seq_diff(SND.MAX, SND.UNA) written out)
        if outstanding >= HALF:
            outstanding -= MOD
        pipe = rack.pipe(outstanding, conn.sack_board.sacked_above(una_off))
        if conn.cc.cwnd - pipe < mss or conn.pacer is not None and conn.pacer.wait(now):
            break  # (pacing: the pacer's timer calls _output again, netsim.stack.tcp.pacing)
        lost = rack.next_lost(una_off)
        if lost is not None:
            start, end = lost
            n = min(mss, end - start)
            conn._send_segment((conn.snd_una + (start - una_off)) & MASK, n, now)
            conn.stack.tcp_counts["rack_retransmits"] += 1
            continue
        avail = seq_diff(conn._data_end(), nxt)
        n = min(mss, avail, conn.snd_wnd - outstanding)  # (SND.NXT is SND.MAX here)
        if n <= 0 or n < mss and n < avail:
            break
        conn._send_segment(nxt, n, now)
        conn.snd_nxt = conn.snd_max = (nxt + n) & MASK
    if conn.snd_una != conn.snd_max:
        conn._start_rto_if_stopped(now)


def on_timer(conn: Conn, now: float) -> None:
    """The reordering timer (RFC 8985 §6.2) and the PTO (§7.3), from `on_timer`."""
    rack = conn.rack
    assert rack is not None
    if rack.reo_at <= now:
        rack.reo_at = INF
        detect(conn, now)
        conn._output(now)
    if rack.pto_at <= now:
        rack.pto_at = INF
        send_probe(conn, now)
    soonest = rack.reo_at
    if rack.pto_at < soonest:
        soonest = rack.pto_at
    if soonest < conn.timer_at:  # (INF never is)
        conn.stack.timers.ensure(conn, soonest)


def send_probe(conn: Conn, now: float) -> None:
    """RFC 8985 §7.3, TLP_send_probe: one new segment if there is one and the peer's window
    takes it, else the highest segment sent again; then the RTO is re-armed."""
    rack = conn.rack
    assert rack is not None
    if conn.snd_una == conn.snd_max or conn.in_recovery:
        return
    if rack.tlp_end is None and rack.rtt_sampled:
        rack.probing = True
        rack.tlp_flight = seq_diff(conn.snd_max, conn.snd_una)
        nxt = conn.snd_max
        avail = seq_diff(conn._data_end(), nxt)
        n = min(conn.snd_mss, avail)
        if n > 0 and conn.snd_nxt == nxt and \
                n <= conn.snd_wnd - seq_diff(nxt, conn.snd_una):
            conn._send_segment(nxt, n, now)
            conn._set_snd_nxt((nxt + n) & MASK)
            rack.tlp_is_retrans = False
        else:
            last = rack.last_segment(conn._una_off)
            if last is None:
                rack.probing = False
                return
            start, end = last
            n = min(end - start, conn.snd_mss)
            start = end - n
            conn._send_segment((conn.snd_una + (start - conn._una_off)) & MASK, n, now)
            rack.tlp_is_retrans = True
        rack.probing = False
        rack.tlp_end = conn._una_off + seq_diff(conn.snd_max, conn.snd_una)
        rack.rtt_sampled = False
        rack.probes += 1
        conn.stack.tcp_counts["tlp_probes"] += 1
        conn._event(now, "tlp", f"seq {conn.snd_max}")
    conn._restart_rto(now)
