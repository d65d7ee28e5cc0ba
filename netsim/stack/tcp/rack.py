"""RACK-TLP loss detection (RFC 8985): the per-segment transmit times, the RACK state, the
reordering timer and the tail loss probe's state.

RACK ("recent ACK") deems a segment lost when a segment sent sufficiently later has been
delivered: lost if ``xmit_ts + RACK.rtt + reo_wnd <= now`` for a segment sent before the most
recently sent delivered one (RFC 8985 §6.2, step 5). Because it compares transmit *times*,
it detects a lost retransmission as well as a lost original, where DupAck counting
(RFC 6675) has to wait for the retransmission timer. TLP sends one probe 2*SRTT after the
last transmission so that a lost tail of a flight draws an ACK (and RACK its conclusions)
instead of a timeout (RFC 8985 §7).

Offsets are 64-bit stream positions, like the SACK scoreboard's (netsim.stack.tcp.sack).
`RackTlp` is the state and the algorithm; what it means for the connection (entering
recovery, sending, the timers) is in the small functions at the end, called from
netsim.stack.tcp.recovery and netsim.stack.tcp.connection where `conn.rack` is set
(`TcpConfig.rack`, SACK agreed).

Left out: the DSACK-driven adaptation of the reordering window (RFC 8985 §6.2 step 4,
reo_wnd_mult stays 1); the TSecr check for retransmitted segments in step 2 (the min_RTT
check alone guards against ambiguous samples); min_RTT is the plain minimum, not windowed.
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from typing import TYPE_CHECKING

from netsim.stack.tcp.seq import MASK, seq_diff, seq_ge, seq_gt
from netsim.stack.timers import INF
from netsim.wire.tcp import OPT_SACK, TCPSegment

if TYPE_CHECKING:
    from netsim.stack.tcp.recovery import LossRecovery
    from netsim.stack.tcp.sack import SackScoreboard

#: RFC 8985 §7.2: TLP.max_ack_delay, added to the PTO when one segment is in flight (the
#: worst-case delayed-ACK timer, 200 ms, as Linux's TCP_DELACK_MAX)
MAX_ACK_DELAY = 0.2


class RackSegment:
    """RFC 8985 §5.2, the per-segment variables: one transmission of [start, end)."""

    __slots__ = ("start", "end", "xmit_ts", "retransmitted", "lost", "delivered")

    def __init__(self, start: int, end: int, xmit_ts: float) -> None:
        self.start = start
        self.end = end
        self.xmit_ts = xmit_ts
        self.retransmitted = False
        self.lost = False
        self.delivered = False  # cumulatively acknowledged or SACKed

    def __repr__(self) -> str:
        flags = "R" * self.retransmitted + "L" * self.lost + "D" * self.delivered
        return f"<seg {self.start}-{self.end} @{self.xmit_ts:.6f} {flags}>"


def sent_after(t1: float, end1: int, t2: float, end2: int) -> bool:
    """RFC 8985 §6.2 step 2, RACK_sent_after: later in time, ties broken by sequence."""
    return t1 > t2 or (t1 == t2 and end1 > end2)


class RackTlp:
    """RFC 8985 §5.3 per-connection variables, the segments in flight and the two timers."""

    def __init__(self, dupthresh: int = 3) -> None:
        self.dupthresh = dupthresh
        # segments from the cumulative ACK up, in sequence order (from index `head`)
        self.segs: list[RackSegment] = []
        self.head = 0
        # (xmit_ts, segment) in transmission order: RFC 8985 §6.2's time-ordered list; an
        # entry whose segment was sent again since (xmit_ts differs) is stale
        self.order: deque[tuple[float, RackSegment]] = deque()
        self.lost_heap: list[int] = []  # starts of segments marked lost (lazy)
        self.lost_bytes = 0  # bytes marked lost and not sent again since
        self.segs_sacked = 0  # RFC 8985 §5.3 RACK.segs_sacked
        # RFC 8985 §5.3: the most recently sent segment that was delivered
        self.xmit_ts = -INF
        self.end_seq = 0
        self.rtt = 0.0
        self.min_rtt = INF
        self.fack = 0  # highest end_seq delivered
        self.reordering_seen = False
        self.reo_at = INF  # the reordering timer (RFC 8985 §6.2)
        self.pto_at = INF  # the loss probe timer (RFC 8985 §7.2)
        # RFC 8985 §7.1: TLP.end_seq (None) and TLP.is_retrans
        self.tlp_end: int | None = None
        self.tlp_is_retrans = False
        self.tlp_flight = 0  # FlightSize when the probe went (for §7.4.2's response)
        self.rtt_sampled = False  # an RTT sample since the last probe (§7.3 condition 2)
        self.probing = False  # the segment being sent is a probe (no new PTO for it)
        # statistics
        self.marked_lost = 0
        self.lost_retransmissions = 0
        self.probes = 0

    # ------------------------------------------------------------------ segments
    def _index(self, off: int) -> int:
        """Index of the segment holding `off` (or the first after it)."""
        return bisect.bisect_right(self.segs, off, lo=self.head, key=_start) - 1

    def _split(self, off: int) -> None:
        """Make a segment boundary at `off` (when a retransmission or ACK cuts a segment)."""
        segs = self.segs
        i = self._index(off)
        if i < self.head:
            return
        seg = segs[i]
        if seg.start < off < seg.end:
            tail = RackSegment(off, seg.end, seg.xmit_ts)
            tail.retransmitted, tail.lost, tail.delivered = seg.retransmitted, seg.lost, \
                seg.delivered
            seg.end = off
            segs.insert(i + 1, tail)
            self.order.append((tail.xmit_ts, tail))  # out of time order: scanned, never lost
            if tail.lost:
                heapq.heappush(self.lost_heap, off)

    def on_transmit(self, start: int, end: int, now: float) -> None:
        """RFC 8985 §6.1: record the transmit time of [start, end) (new or sent again)."""
        segs = self.segs
        top = segs[-1].end if len(segs) > self.head else start
        if start < top:
            # a retransmission: RACK_retransmit_data for each segment it covers
            stop = min(end, top)
            self._split(start)
            self._split(stop)
            i = max(self._index(start), self.head)
            while i < len(segs) and segs[i].start < stop:
                seg = segs[i]
                if seg.end > start:
                    if seg.lost:
                        seg.lost = False
                        self.lost_bytes -= seg.end - seg.start
                    if seg.delivered:  # sent again after a timeout forgot the SACKs
                        seg.delivered = False
                        self.segs_sacked -= 1
                    seg.retransmitted = True
                    seg.xmit_ts = now
                    self.order.append((now, seg))
                i += 1
            start = top
        if end > start:
            seg = RackSegment(start, end, now)
            segs.append(seg)
            self.order.append((now, seg))

    # ------------------------------------------------------------------ ACKs
    def _delivered(self, seg: RackSegment, now: float) -> None:
        """RFC 8985 §6.2 steps 2 and 3 for one newly delivered segment."""
        seg.delivered = True
        if seg.lost:
            seg.lost = False
            self.lost_bytes -= seg.end - seg.start
        rtt = now - seg.xmit_ts
        # Step 2: a retransmitted segment's ACK may be for the original (too soon to be
        # for the retransmission): no RTT, no RACK update from it
        if not (seg.retransmitted and rtt < self.min_rtt):
            self.rtt = rtt
            if rtt < self.min_rtt:
                self.min_rtt = rtt
            self.rtt_sampled = True
            if sent_after(seg.xmit_ts, seg.end, self.xmit_ts, self.end_seq):
                self.xmit_ts, self.end_seq = seg.xmit_ts, seg.end
        # Step 3: delivered below the forward-most delivered end, never sent again:
        # the network reordered it
        if seg.end > self.fack:
            self.fack = seg.end
        elif seg.end < self.fack and not seg.retransmitted:
            self.reordering_seen = True

    def on_sack(self, board: SackScoreboard, lo: int, hi: int, now: float) -> None:
        """A SACK block [lo, hi) arrived (call before the scoreboard records it): the
        segments it newly covers are delivered."""
        segs = self.segs
        for a, b in _uncovered(board, lo, hi):
            i = max(self._index(a), self.head)
            while i < len(segs) and segs[i].start < b:
                seg = segs[i]
                if seg.start >= a and seg.end <= b and not seg.delivered:
                    self._delivered(seg, now)
                    self.segs_sacked += 1
                i += 1

    def on_cumulative_ack(self, una: int, now: float) -> None:
        """SND.UNA moved to `una`: the segments below it are delivered (and forgotten)."""
        segs = self.segs
        self._split(una)  # a segment acknowledged in part: the rest stays a segment
        i = self.head
        while i < len(segs) and segs[i].end <= una:
            seg = segs[i]
            if seg.delivered:
                self.segs_sacked -= 1
            else:
                self._delivered(seg, now)
            i += 1
        self.head = i
        if i > 256 and i * 2 > len(segs):
            del segs[:i]
            self.head = 0
        if self.tlp_end is not None and self.tlp_end <= una and not self.tlp_is_retrans:
            self.tlp_end = None  # RFC 8985 §7.3: a new-data probe was acknowledged

    def reo_wnd(self, in_recovery: bool, srtt: float | None) -> float:
        """RFC 8985 §6.2 step 4, RACK_update_reo_wnd (without DSACK adaptation)."""
        if not self.reordering_seen:
            if in_recovery or self.segs_sacked >= self.dupthresh:
                return 0.0
        if self.min_rtt == INF:
            return 0.0
        wnd = self.min_rtt / 4
        return min(wnd, srtt) if srtt is not None else wnd

    def detect_loss(self, una: int, now: float, reo_wnd: float) -> int:
        """RFC 8985 §6.2 step 5, RACK_detect_loss: mark lost each segment sent before
        RACK.xmit_ts whose time is up; arm the reordering timer for the others. Returns
        how many segments were newly marked lost."""
        order = self.order
        timeout = 0.0
        marked = 0
        stale: list[tuple[float, RackSegment]] = []
        while order:
            ts, seg = order[0]
            if seg.xmit_ts != ts or seg.delivered or seg.lost or seg.end <= una:
                order.popleft()
                continue
            # the list is in transmission order: the first segment not sent before the
            # most recently delivered one ends the scan
            if not sent_after(self.xmit_ts, self.end_seq, seg.xmit_ts, seg.end):
                break
            order.popleft()
            remaining = seg.xmit_ts + self.rtt + reo_wnd - now
            if remaining <= 0:
                seg.lost = True
                self.lost_bytes += seg.end - seg.start
                heapq.heappush(self.lost_heap, seg.start)
                marked += 1
                if seg.retransmitted:
                    self.lost_retransmissions += 1
            else:
                timeout = max(timeout, remaining)
                stale.append((ts, seg))
        if stale:
            order.extendleft(reversed(stale))  # still waiting: keep them first
        self.marked_lost += marked
        self.reo_at = now + timeout if timeout > 0 else INF
        return marked

    def next_lost(self, una: int) -> tuple[int, int] | None:
        """The lowest segment marked lost and not sent again, as (start, end)."""
        heap = self.lost_heap
        while heap:
            start = heap[0]
            i = self._index(start)
            if i >= self.head and start >= una:
                seg = self.segs[i]
                if seg.start == start and seg.lost and not seg.delivered:
                    return seg.start, seg.end
            heapq.heappop(heap)
        return None

    def pipe(self, outstanding: int, sacked: int) -> int:
        """Bytes in flight: outstanding, less SACKed, less lost and not sent again."""
        return max(outstanding - sacked - self.lost_bytes, 0)

    def last_segment(self, una: int) -> tuple[int, int] | None:
        if len(self.segs) > self.head:
            seg = self.segs[-1]
            return max(seg.start, una), seg.end
        return None

    def on_rto(self) -> None:
        """RFC 8985 §7.1: TLP's state starts again after a timeout; no probe is pending."""
        self.tlp_end = None
        self.tlp_is_retrans = False
        self.pto_at = INF


def _start(seg: RackSegment) -> int:
    return seg.start


def _uncovered(board: SackScoreboard, lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of [lo, hi) the scoreboard does not hold yet."""
    out = []
    pos = lo
    starts, ends = board.starts, board.ends
    i = max(bisect.bisect_right(ends, lo) - 1, 0)
    while i < len(starts) and starts[i] < hi:
        s, e = starts[i], ends[i]
        if e > pos:
            if s > pos:
                out.append((pos, min(s, hi)))
            pos = max(pos, e)
        i += 1
    if pos < hi:
        out.append((pos, hi))
    return out


# ====================================================================== the connection's side
def on_transmit(conn: LossRecovery, seq: int, n: int, now: float, retransmit: bool) -> None:
    """Hook of `_send_segment`: RFC 8985 §6.1, and §7.2 (a PTO after new data)."""
    rack = conn.rack
    assert rack is not None
    if not conn.sack_ok:
        conn.rack = None  # RFC 8985 needs SACK; without it DupAck counting stays
        return
    start = conn._una_off + seq_diff(seq, conn.snd_una)
    rack.on_transmit(start, start + n, now)
    if not retransmit and not rack.probing:
        arm_pto(conn, now)


def arm_pto(conn: LossRecovery, now: float) -> None:
    """RFC 8985 §7.2: (re)start the PTO unless in fast or RTO recovery or with SACKed
    segments; PTO = 2*SRTT (+ max_ack_delay with one segment in flight), 1 s without SRTT,
    never later than the RTO."""
    rack = conn.rack
    assert rack is not None
    if conn.in_recovery or conn._retrans_ts is not None or rack.segs_sacked or \
            conn.snd_una == conn.snd_max:
        rack.pto_at = INF
        return
    srtt = conn.rto_est.srtt
    if srtt is None:
        pto = 1.0
    else:
        pto = 2 * srtt
        if seq_diff(conn.snd_max, conn.snd_una) <= conn.snd_mss:
            pto += MAX_ACK_DELAY
    rack.pto_at = min(now + pto, conn.rto_at)
    conn.stack.timers.ensure(conn, rack.pto_at)


def on_ack(conn: LossRecovery, seg: TCPSegment, now: float) -> None:
    """Hook at the end of ACK processing: the cumulative part, TLP's ACK (§7.4.2), RACK's
    loss detection (§6.2) and, if it found losses, fast recovery (§9.3)."""
    rack = conn.rack
    assert rack is not None
    una = conn._una_off
    advanced = rack.segs and len(rack.segs) > rack.head and rack.segs[rack.head].start < una
    if advanced:
        rack.on_cumulative_ack(una, now)
    if rack.tlp_end is not None:
        _tlp_ack(conn, seg, una, bool(advanced), now)
    detect(conn, now)
    if advanced:
        arm_pto(conn, now)  # RFC 8985 §7.2: after an ACK of new data


def _tlp_ack(conn: LossRecovery, seg: TCPSegment, una: int, advanced: bool,
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
            # RFC 2883: a first block at or below the cumulative ACK is a D-SACK
            dsack = bool(blocks) and not seq_gt(blocks[0][1], seg.ack)
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
        if not conn.in_recovery:
            # the response fast recovery would have had when the probe went
            conn.cc.on_loss(rack.tlp_flight, now)
            conn.cc.on_recovery_end(seq_diff(conn.snd_max, conn.snd_una), now)
            conn._trace_cwnd(now, "tlp_recovery")


def detect(conn: LossRecovery, now: float) -> None:
    """RACK_detect_loss_and_arm_timer (RFC 8985 §6.2), then recovery for what it found."""
    rack = conn.rack
    assert rack is not None
    reo = rack.reo_wnd(conn.in_recovery, conn.rto_est.srtt)
    if rack.detect_loss(conn._una_off, now, reo):
        if not conn.in_recovery:
            enter_recovery(conn, now)
    if rack.reo_at != INF:
        conn.stack.timers.ensure(conn, rack.reo_at)


def enter_recovery(conn: LossRecovery, now: float) -> None:
    """RFC 8985 §9.3: a loss RACK detected starts the controller's fast recovery (once per
    window of data, RFC 6582 §3.2's `recover`); RFC 6675 §5's pipe then limits sending."""
    reduce = seq_ge(conn.snd_una, conn.recover)
    conn.recover = conn.snd_max
    conn.in_recovery = conn.sack_recovery = True
    if conn.rack is not None:
        conn.rack.pto_at = INF
    if reduce:
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


def output(conn: LossRecovery, now: float) -> None:
    """Sending in recovery (RFC 6675 §5 step (C) with RACK's losses): while
    cwnd - pipe >= 1 SMSS, the lowest lost segment, else new data."""
    rack = conn.rack
    assert rack is not None
    mss = conn.snd_mss
    while True:
        una_off = conn._una_off
        outstanding = seq_diff(conn.snd_max, conn.snd_una)
        pipe = rack.pipe(outstanding, conn.sack_board.sacked_above(una_off))
        if conn.cc.cwnd - pipe < mss:
            break
        lost = rack.next_lost(una_off)
        if lost is not None:
            start, end = lost
            n = min(mss, end - start)
            conn._send_segment((conn.snd_una + (start - una_off)) & MASK, n, now)
            conn.stack.tcp_counts["rack_retransmits"] += 1
            continue
        nxt = conn.snd_max
        avail = seq_diff(conn._data_end(), nxt)
        n = min(mss, avail, conn.snd_wnd - seq_diff(nxt, conn.snd_una))
        if n <= 0 or n < mss and n < avail:
            break
        conn._send_segment(nxt, n, now)
        conn.snd_nxt = conn.snd_max = (nxt + n) & MASK
    if conn.snd_una != conn.snd_max:
        conn._start_rto_if_stopped(now)


def on_timer(conn: LossRecovery, now: float) -> None:
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
    soonest = min(rack.reo_at, rack.pto_at)
    if soonest != INF:
        conn.stack.timers.ensure(conn, soonest)


def send_probe(conn: LossRecovery, now: float) -> None:
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
