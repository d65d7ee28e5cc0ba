"""RACK-TLP loss detection (RFC 8985): the per-segment transmit times, the RACK state, the
reordering timer and the tail loss probe's state.

RACK ("recent ACK") deems a segment lost when a segment sent sufficiently later has been
delivered: lost if ``xmit_ts + RACK.rtt + reo_wnd <= now`` for a segment sent before the most
recently sent delivered one (RFC 8985 §6.2, step 5). Because it compares transmit *times*,
it detects a lost retransmission as well as a lost original, where DupAck counting
(RFC 6675) has to wait for the retransmission timer. TLP sends one probe 2*SRTT after the
last ACK of new data (plus a delayed-ACK allowance with one segment in flight) so that a
lost tail of a flight draws an ACK (and RACK its conclusions) instead of a timeout
(RFC 8985 §7).

Offsets are 64-bit stream positions, like the SACK scoreboard's (netsim.stack.tcp.sack).
`RackTlp` is the state and the algorithm; what it means for the connection (entering
recovery, sending, the timers) is netsim.stack.tcp.rack_recovery (used where `conn.rack` is
set: `TcpConfig.rack` and SACK agreed).

The reordering window adapts to D-SACK blocks (RFC 2883, recognised in
netsim.stack.tcp.recovery): each round trip that brings one widens it by min_RTT/4, up to
SRTT, for the next 16 recoveries (RFC 8985 §6.2 step 4).

Left out: the TSecr check for retransmitted segments in step 2 (the min_RTT check alone
guards against ambiguous samples); min_RTT is the plain minimum, not windowed.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from netsim.stack.tcp.sack import uncovered
from netsim.stack.timers import INF

if TYPE_CHECKING:
    from netsim.stack.tcp.sack import SackScoreboard


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

    __slots__ = (  # one per connection: no instance dict (1.5 kB interpreted)
        "dupthresh", "segs", "head", "order", "order_head", "lost_heap", "lost_bytes",
        "segs_sacked", "xmit_ts", "end_seq", "rtt", "min_rtt", "fack", "reordering_seen", "newly",
        "_sack_at", "reo_wnd_mult", "reo_wnd_persist", "dsack_round", "dsack_on_ack", "recovering",
        "reo_at", "pto_at", "tlp_end", "tlp_is_retrans", "tlp_flight", "rtt_sampled", "probing",
        "marked_lost", "lost_retransmissions", "probes")

    def __init__(self, dupthresh: int = 3) -> None:
        self.dupthresh = dupthresh
        # The four lists below are made by the first `on_transmit` (`_start`), None (empty)
        # until then: an idle connection or a receiver never needs them (224 bytes)
        # segments from the cumulative ACK up, in sequence order (from index `head`)
        self.segs: list[RackSegment] | None = None
        self.head = 0
        # (xmit_ts, segment) in transmission order: RFC 8985 §6.2's time-ordered list, from
        # index `order_head` (a list and an index: compiled, cheaper than a deque); an
        # entry whose segment was sent again since (xmit_ts differs) is stale
        self.order: list[tuple[float, RackSegment]] | None = None
        self.order_head = 0
        self.lost_heap: list[int] | None = None  # starts of segments marked lost (lazy)
        self.lost_bytes = 0  # bytes marked lost and not sent again since
        self.segs_sacked = 0  # RFC 8985 §5.3 RACK.segs_sacked
        # RFC 8985 §5.3: the most recently sent segment that was delivered
        self.xmit_ts = -INF
        self.end_seq = 0
        self.rtt = 0.0
        self.min_rtt = INF
        self.fack = 0  # highest end_seq delivered
        self.reordering_seen = False
        self.newly: list[RackSegment] | None = None  # delivered by this ACK, for step 3
        self._sack_at = 0  # the index in `segs` where on_sack's last scan stopped (a hint)
        # RFC 8985 §6.2 step 4: the reordering window's multiplier, the recoveries it
        # persists for, the end of the round that has grown it (None) and whether the ACK
        # being processed carried a D-SACK block
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        self.dsack_round: int | None = None
        self.dsack_on_ack = False
        self.recovering = False  # in fast or RTO recovery after the last ACK
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
        """Index of the segment holding `off` (or the last one before it; head - 1 if
        none): bisect_right over the starts from `head`, written out (compiled, a loop on
        native ints; bisect with a key calls the key through Python at every step)."""
        segs = self.segs
        if segs is None:
            return self.head - 1
        lo, hi = self.head, len(segs)
        while lo < hi:
            mid = (lo + hi) >> 1
            if segs[mid].start <= off:
                lo = mid + 1
            else:
                hi = mid
        return lo - 1

    def _split(self, off: int) -> None:
        """Make a segment boundary at `off` (when a retransmission or ACK cuts a segment)."""
        segs, order, lost = self.segs, self.order, self.lost_heap
        assert segs is not None and order is not None and lost is not None  # (segments sent)
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
            order.append((tail.xmit_ts, tail))  # out of time order: scanned, never lost
            if tail.lost:
                heapq.heappush(lost, off)

    def on_transmit(self, start: int, end: int, now: float) -> None:
        """RFC 8985 §6.1: record the transmit time of [start, end) (new or sent again)."""
        segs, order = self.segs, self.order
        if segs is None or order is None:
            segs, order = self._start()
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
                    order.append((now, seg))
                i += 1
            start = top
        if end > start:
            seg = RackSegment(start, end, now)
            segs.append(seg)
            order.append((now, seg))

    def _start(self) -> tuple[list[RackSegment], list[tuple[float, RackSegment]]]:
        """The first transmission: the lists are made (see __init__)."""
        segs: list[RackSegment] = []
        order: list[tuple[float, RackSegment]] = []
        self.segs, self.order, self.lost_heap, self.newly = segs, order, [], []
        return segs, order

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
            ts = seg.xmit_ts  # (sent_after(ts, seg.end, RACK.xmit_ts, RACK.end_seq))
            if ts > self.xmit_ts or ts == self.xmit_ts and seg.end > self.end_seq:
                self.xmit_ts, self.end_seq = seg.xmit_ts, seg.end
        newly = self.newly
        assert newly is not None  # (made with the segments)
        newly.append(seg)

    def detect_reordering(self) -> None:
        """RFC 8985 §6.2 step 3, over the segments this ACK delivered in ascending order of
        end (a cumulative and a selective part of one ACK are not reordering): one delivered
        below the forward-most delivered end and never sent again was reordered.

        In ascending order of end, the forward-most end before a segment is RACK.fack as
        it was before this ACK or an end no greater than the segment's own: a segment is
        below it exactly when it is below the old RACK.fack. So no sort is needed."""
        newly = self.newly
        if newly is None:
            return
        fack = top = self.fack
        for seg in newly:
            end = seg.end
            if end > top:
                top = end
            if end < fack and not seg.retransmitted:
                self.reordering_seen = True
        self.fack = top
        newly.clear()

    def on_sack(self, board: SackScoreboard, lo: int, hi: int, now: float) -> None:
        """A SACK block [lo, hi) arrived (call before the scoreboard records it): the
        segments it newly covers are delivered."""
        segs = self.segs
        if segs is None:
            return  # nothing sent yet (but a FIN)
        head = self.head
        for a, b in uncovered(board, lo, hi):
            # where the last block's scan stopped: behind a hole each SACK block grows the
            # one before it, so the new part most often starts in that segment
            i = self._sack_at
            n = len(segs)
            if not (head <= i < n and segs[i].start <= a and (i + 1 == n or
                                                             segs[i + 1].start > a)):
                i = max(self._index(a), head)
            while i < n and segs[i].start < b:
                seg = segs[i]
                if seg.start >= a and seg.end <= b and not seg.delivered:
                    self._delivered(seg, now)
                    self.segs_sacked += 1
                i += 1
            self._sack_at = i

    def on_cumulative_ack(self, una: int, now: float) -> None:
        """SND.UNA moved to `una`: the segments below it are delivered (and forgotten)."""
        segs = self.segs
        if segs is not None:
            n = len(segs)
            i = self.head
            while i < n:
                seg = segs[i]
                if seg.end > una:
                    if seg.start >= una:
                        break
                    # acknowledged in part: the rest stays a segment (segs[i] now ends at una)
                    self._split(una)
                    n += 1
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

    def update_reo_wnd(self, una: int, snd_nxt: int, recovering: bool) -> None:
        """RFC 8985 §6.2 step 4, the D-SACK part of RACK_update_reo_wnd, once per ACK: the
        multiplier grows by one per round trip that brings a D-SACK and stays for 16
        recoveries; then it is 1 again. `una` and `snd_nxt` are offsets; `recovering`: in
        fast or RTO recovery after this ACK."""
        if self.dsack_round is None and not self.dsack_on_ack and \
                self.recovering == recovering:
            return  # most ACKs: no D-SACK round open or starting, recovery state unchanged
        if self.dsack_round is not None and una >= self.dsack_round:
            self.dsack_round = None
        if self.dsack_round is None and self.dsack_on_ack:
            self.dsack_round = snd_nxt
            self.reo_wnd_mult += 1
            self.reo_wnd_persist = 16
        elif self.recovering and not recovering:  # leaving fast or RTO recovery
            self.reo_wnd_persist -= 1
            if self.reo_wnd_persist <= 0:
                self.reo_wnd_mult = 1
        self.dsack_on_ack = False
        self.recovering = recovering

    def reo_wnd(self, recovering: bool, srtt: float | None) -> float:
        """RFC 8985 §6.2 step 4: no reordering seen, in fast or RTO recovery or with
        DupThresh segments SACKed, 0; else min(reo_wnd_mult * min_RTT / 4, SRTT)."""
        if not self.reordering_seen:
            if recovering or self.segs_sacked >= self.dupthresh:
                return 0.0
        if self.min_rtt == INF:
            return 0.0
        wnd = self.reo_wnd_mult * self.min_rtt / 4
        return min(wnd, srtt) if srtt is not None else wnd

    def detect_loss(self, una: int, now: float, recovering: bool, srtt: float | None) -> int:
        """RFC 8985 §6.2 step 5, RACK_detect_loss: mark lost each segment sent before
        RACK.xmit_ts whose time is up; arm the reordering timer for the others. Returns
        how many segments were newly marked lost. `recovering` and `srtt` are what the
        reordering window is computed from (`reo_wnd`), when a segment needs it."""
        order, lost = self.order, self.lost_heap
        if order is None or lost is None:  # nothing sent yet (but a FIN)
            self.reo_at = INF
            return 0
        i = self.order_head
        n = len(order)
        timeout = 0.0
        marked = 0
        # RACK.reo_wnd: nothing the scan changes moves it, so it is computed for the first
        # segment it is needed for (most ACKs have none: the scan stops at once)
        reo_wnd = -1.0
        stale: list[tuple[float, RackSegment]] | None = None
        while i < n:
            ts, seg = order[i]
            if seg.xmit_ts != ts or seg.delivered or seg.lost or seg.end <= una:
                i += 1
                continue
            # the list is in transmission order: the first segment not sent before the
            # most recently delivered one ends the scan
            # (not sent_after(RACK.xmit_ts, RACK.end_seq, ts, seg.end), written out)
            if not (self.xmit_ts > ts or self.xmit_ts == ts and self.end_seq > seg.end):
                break
            i += 1
            if reo_wnd < 0:
                reo_wnd = self.reo_wnd(recovering, srtt)
            remaining = seg.xmit_ts + self.rtt + reo_wnd - now
            if remaining <= 0:
                seg.lost = True
                self.lost_bytes += seg.end - seg.start
                heapq.heappush(lost, seg.start)
                marked += 1
                if seg.retransmitted:
                    self.lost_retransmissions += 1
            else:
                timeout = max(timeout, remaining)
                if stale is None:
                    stale = []
                stale.append((ts, seg))
        if stale is not None:
            # still waiting: keep them first (in the places just before order[i])
            i -= len(stale)
            order[i:i + len(stale)] = stale
        if i > 256 and i * 2 > n:
            del order[:i]
            i = 0
        self.order_head = i
        self.marked_lost += marked
        self.reo_at = now + timeout if timeout > 0 else INF
        return marked

    def next_lost(self, una: int) -> tuple[int, int] | None:
        """The lowest segment marked lost and not sent again, as (start, end)."""
        heap, segs = self.lost_heap, self.segs
        if heap is None or segs is None:
            return None
        while heap:
            start = heap[0]
            i = self._index(start)
            if i >= self.head and start >= una:
                seg = segs[i]
                if seg.start == start and seg.lost and not seg.delivered:
                    return seg.start, seg.end
            heapq.heappop(heap)
        return None

    def pipe(self, outstanding: int, sacked: int) -> int:
        """Bytes in flight: outstanding, less SACKed, less lost and not sent again."""
        return max(outstanding - sacked - self.lost_bytes, 0)

    def last_segment(self, una: int) -> tuple[int, int] | None:
        segs = self.segs
        if segs is not None and len(segs) > self.head:
            seg = segs[-1]
            return max(seg.start, una), seg.end
        return None

    def on_rto(self) -> None:
        """RFC 8985 §7.1: TLP's state starts again after a timeout; no probe is pending."""
        self.tlp_end = None
        self.tlp_is_retrans = False
        self.pto_at = INF

