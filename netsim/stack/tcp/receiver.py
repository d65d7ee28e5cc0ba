"""The receiving side of a connection: which segments to accept, data and FIN in, and what
to tell the peer (window, SACK blocks, when to ACK).

- Acceptability: the four cases of RFC 9293 §3.10.7.4 ("first, check sequence number").
- Data: the receiver object (`cfg.new_receiver()`, netsim.stack.tcp.tcp_receiver or a
  student's) turns sequence numbers into stream indices for its reassembler
  (netsim.stack.tcp.reassembly or a student's) and gives RCV.NXT, past the FIN once the
  stream is complete (eighth step); in-order bytes wait in the receive buffer until the
  application reads them.
- ACKs: at once for out-of-order data and for data that fills a hole (RFC 5681 §4.2), else at
  least every second full segment or within the delayed-ACK time (RFC 1122 §4.2.3.2); at once
  too for the first CE mark, which ECE echoes until CWR (RFC 3168 §6.1.3,
  netsim.stack.tcp.ecn).
- The window: receiver SWS avoidance (RFC 1122 §4.2.3.3); the right edge never moves left.
- SACK blocks to advertise, most recent first (RFC 2018 §4), after a D-SACK block for a
  duplicate segment when `TcpConfig.dsack` is on (RFC 2883 §4).
- TS.Recent (RFC 7323 §4.3).
- Answers to segments outside the window and challenge ACKs (RFC 5961 §3.2, §4.2), at most
  one per `invalid_ratelimit` (RFC 5961 §7, per connection as Linux); challenge ACKs also
  within the layer's host-wide `challenge_ack_limit`.
"""

from __future__ import annotations

from typing import Any

from netsim.errors import UsageError
from netsim.stack.tcp import ecn
from netsim.stack.tcp.errors import ConnectionClosed
from netsim.stack.tcp.retransmit_timer import RetransmitTimer
from netsim.stack.tcp.seq import HALF, MASK, MOD, seq_diff, seq_gt, seq_le, seq_lt
from netsim.stack.tcp.states import (
    CLOSE_WAIT,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    TIME_WAIT,
    Event,
)
from netsim.stack.tcp.tcb import seam_bytes
from netsim.stack.timers import INF
from netsim.wire.tcp import FIN, SYN, TCPSegment, TimestampOption


class Receiver(RetransmitTimer):
    """Acceptability, data and FIN in, the window and SACK blocks we advertise."""

    __slots__ = ()

    # ================================================================== application
    @property
    def readable(self) -> int:
        return self._rlen

    @property
    def at_eof(self) -> bool:
        """The peer's FIN has arrived and all data before it has been read."""
        return self.fin_received and not self._rlen

    def recv(self, max_bytes: int, now: float) -> bytes:
        """Up to `max_bytes` of in-order data (b"" when none; see `at_eof`)."""
        if max_bytes < 0:
            raise UsageError(f"recv: max_bytes {max_bytes!r} is negative; use a size >= 0")
        if not self._rlen:
            if self.error is not None and not isinstance(self.error, ConnectionClosed):
                raise self.error
            return b""
        out = self._take(max_bytes)
        # A window update when reading opened a window that had become small — at most
        # half the buffer and under 16 segments, so it could throttle the sender — and the
        # window would at least double, by no less than min(RCV.BUFF/2, MSS) (RFC 1122
        # §4.2.3.3; Linux's rule is alike). Otherwise the next ACK carries the larger
        # window (so the 64 kB window of the handshake needs no update of its own).
        if self.state in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
            rcvbuf = self.cfg.rcvbuf
            cur = max(0, seq_diff(self.rcv_adv, self.rcv_nxt))
            new = min(rcvbuf - self._rlen, 0xFFFF << self.rcv_wscale)
            if cur <= min(rcvbuf // 2, 16 * self.snd_mss) and new >= 2 * cur and \
                    new - cur >= min(rcvbuf // 2, self.snd_mss):
                self._send_ack(now)
        return out

    # ================================================================== segments in
    def _acceptable(self, seq: int, plen: int, flags: int) -> bool:
        """RFC 9293 §3.10.7.4, the four cases of the segment acceptability test."""
        rcv_nxt = self.rcv_nxt
        wnd = (self.rcv_adv - rcv_nxt) & MASK
        if wnd >= HALF:
            wnd = 0  # (a negative distance: the right edge is behind RCV.NXT)
        if plen == 0:
            if wnd == 0:
                return seq == rcv_nxt
            return ((seq - rcv_nxt) & MASK) < wnd
        if wnd == 0:
            return False
        return ((seq - rcv_nxt) & MASK) < wnd or ((seq + plen - 1 - rcv_nxt) & MASK) < wnd

    def _oow_limited(self, now: float) -> bool:
        """RFC 5961 §7 (ACK throttling), per connection as Linux: True if an answer to an
        out-of-window segment or a challenge ACK went out less than `invalid_ratelimit` ago."""
        if now - self._last_oow_ack < self.cfg.invalid_ratelimit:
            self.stack.tcp_counts["oow_ack_limited"] += 1
            return True
        self._last_oow_ack = now
        return False

    def _challenge_ack(self, now: float) -> None:
        """RFC 5961 §3.2/§4.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; throttled (RFC 5961 §7)
        per connection first, then host-wide (as Linux's tcp_send_challenge_ack)."""
        if self._oow_limited(now) or not self.layer.challenge_ack_allowed(now):
            return
        self.challenge_acks += 1
        self.stack.tcp_counts["challenge_ack"] += 1
        self._send_ack(now)

    def _seg_tsval(self, seg: TCPSegment) -> int:
        for opt in seg.options:
            if isinstance(opt, TimestampOption):
                return opt.tsval
        return self.ts_recent

    def _paws_drop(self, seg: TCPSegment, now: float) -> bool:
        """RFC 7323 §5.3 R1 (PAWS): a segment (not a RST) whose TSval is older than
        TS.Recent, in the timestamp clock's modular order, is an old duplicate: it is
        answered with an ACK (rate-limited as an out-of-window one) and dropped. A segment
        without the option passes (RFC 7323 §3.2 lets a receiver accept it; Linux does)."""
        for opt in seg.options:
            if isinstance(opt, TimestampOption):
                if not seq_lt(opt.tsval, self.ts_recent):
                    return False
                if seg.payload and self.cfg.dsack:
                    # RFC 2883 §4.3: the ACK of a segment PAWS drops may report it as a
                    # duplicate (D-SACK) if it is one
                    self._note_duplicate(seg.seq, len(seg.payload))
                if seg.payload or seg.flags & (SYN | FIN) or not self._oow_limited(now):
                    self._send_ack(now)
                self.stack.drop("tcp", "paws", self.name)
                return True
        return False

    def _receive_data(self, seg: TCPSegment, now: float, ip_ecn: int = 0) -> None:
        """RFC 9293 §3.10.7.4 seventh (the segment text) and eighth (FIN); `ip_ecn` is the
        ECN field of the datagram that carried the segment."""
        state = self.state
        flags = seg.flags
        payload = seg.payload
        if state not in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
            if payload:
                self.stack.drop("tcp", "data_after_fin", self.name)
            if flags & FIN and state in (CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT):
                self._send_ack(now)  # a retransmitted FIN: acknowledge it again
                if state is TIME_WAIT:
                    self.timewait_at = now + 2 * self.cfg.msl
                    self._arm()
            return
        # a CE (or the CWR that ends its echo) on a data segment in the window
        quick = self.ecn_ok and ecn.on_receive(self, flags, ip_ecn, now)
        seq = seg.seq
        plen = len(payload)
        before = self.rcv_nxt
        in_order = seq == before
        had_holes = self._pending > 0
        # what fits the window we advertised (a negative distance: none)
        window = (self.rcv_adv - before) & MASK
        if window >= HALF:
            window = 0
        # the segment's stream index (bytes_received counts the bytes assembled so far),
        # needed for its SACK block when it is out of order
        index = 0 if in_order else self.bytes_received + seq_diff(seq, before)
        if plen and (not in_order or had_holes) and self.cfg.dsack:
            # (data in order with no block held above it is never a duplicate)
            self._note_duplicate(seq, plen)
        seam: Any = self.receiver  # (as sender.payload: any bytes-like, in both builds)
        raw = seam.receive(seq, False, bool(flags & FIN), payload, window)
        data: bytes = raw if type(raw) is bytes else seam_bytes(raw, "receiver: receive()")
        self._take_ackno()
        dlen = len(data)
        if dlen:
            self.bytes_received += dlen
            if self.app_closed:
                # Nobody will read this: reset, as for a close with unread data
                # (RFC 1122 §4.2.2.13; Linux does the same)
                self.stack.tcp_counts["data_after_close"] += 1
                self.abort(now)
                return
            q = self._rq
            if q is None:
                q = self._rq = []
            q.append(data)
            self._rlen += dlen
        if plen and not in_order and self.sack_ok:
            recent = self._sack_recent
            if recent is None:
                recent = self._sack_recent = []
            recent.insert(0, index)
            del recent[8:]
        # The acknowledgment number moved past the data and one more: the FIN's (RFC 9293
        # §3.10.7.4 eighth, the FIN advances RCV.NXT over itself)
        fin_now = not self.fin_received and (self.rcv_nxt - before) & MASK == dlen + 1
        if fin_now:
            self.fin_received = True
            if state is FIN_WAIT_1 and self.fin_queued and \
                    seq_gt(self.snd_una, self._data_end()):
                self._transition(Event.RCV_ACK_OF_FIN, now)
                state = self.state
            self._transition(Event.RCV_FIN, now)
            self._send_ack(now)
            if data and not self.app_closed:
                self._notify("readable")
            self._notify("eof")
            return
        if not in_order or had_holes or not plen or quick:
            # RFC 5681 §4.2: an immediate ACK for out-of-order data and for data that
            # fills (part of) a hole; and for the first CE mark (as Linux's quick ACK)
            self._send_ack(now)
        else:
            self._unacked_rcv += plen
            # RFC 1122 §4.2.3.2 / RFC 5681 §4.2: an ACK for at least every second
            # full-sized segment, otherwise within the delayed-ACK time
            if self._unacked_rcv >= 2 * self.snd_mss or self.cfg.delayed_ack == 0:
                self._send_ack(now)
            elif self.delack_at == INF:
                self.delack_at = now + self.cfg.delayed_ack
                self._arm()
        if data and not self.app_closed and self._rlen >= self.rcv_lowat:
            notify = self.notify  # (as _notify, without the call)
            if notify is not None:
                notify("readable")

    def _take_ackno(self) -> None:
        """After the receiver object took a segment: RCV.NXT from it (unchanged while it has
        none: before the SYN), and its reassembler's pending_bytes (what the ACK policy,
        D-SACK and the SACK blocks of every segment sent read, until the next segment)."""
        ackno = self.receiver.ackno()
        if ackno is not None:
            if not 0 <= ackno <= MASK:
                raise UsageError(f"receiver: ackno() gave {ackno!r}; a 32-bit sequence number "
                                 "(0 to 2**32 - 1) or None is allowed")
            self.rcv_nxt = ackno
        self._pending = self.reasm.pending_bytes

    def _note_duplicate(self, seq: int, plen: int) -> None:
        """RFC 2883 §4: the first part of an arriving segment that was received before —
        below the cumulative ACK, or inside a block held above it — is what the ACK it draws
        reports first (a D-SACK block, (left, right) sequence numbers), and only that ACK."""
        if not self.sack_ok:
            return
        nxt = self.rcv_nxt
        if seq_lt(seq, nxt):
            end = (seq + plen) & MASK
            self._dsack = (seq, end if seq_le(end, nxt) else nxt)
            return
        if self._pending == 0:
            return  # no block held above RCV.NXT (the usual case: data in order)
        d = (seq - nxt) & MASK  # (seq_diff(seq, RCV.NXT) written out)
        index = self.bytes_received + (d - MOD if d >= HALF else d)
        end_index = index + plen
        base = self._index_base
        for left, right in self.reasm.blocks():
            if left < end_index and right > index:
                self._dsack = ((base + max(left, index)) & MASK,
                               (base + min(right, end_index)) & MASK)
                return

    # ================================================================== what we advertise
    def _window_field(self) -> int:
        """The window to advertise, with receiver SWS avoidance (RFC 1122 §4.2.3.3):
        the right edge moves only by min(RCV.BUFF/2, MSS) or more, and never left."""
        nxt = self.rcv_nxt
        rlen = self._rlen
        adv = self.rcv_adv
        mss = self.snd_mss
        shift = self.rcv_wscale
        if nxt == self._wf_nxt and rlen == self._wf_rlen and adv == self._wf_adv and \
                mss == self._wf_mss and shift == self._field_shift:
            # nothing the answer depends on changed since the last call, which left the
            # right edge where this one would: the same field (a sender's usual case)
            return self._field
        rcvbuf = self._rcvbuf
        if rcvbuf < 0:
            rcvbuf = self._rcvbuf = self.cfg.rcvbuf
        free = rcvbuf - rlen
        limit = 0xFFFF << shift
        if free > limit:
            free = limit  # RCV.WND is what the field can say (RFC 7323 §2.3), no more
        right = (nxt + free) & MASK
        # (distances in sequence space as in seq_diff: one of HALF or more is negative)
        grow = (right - adv) & MASK
        if 0 < grow < HALF and (grow >= rcvbuf // 2 or grow >= mss or
                                adv == nxt and free >= mss):
            adv = self.rcv_adv = right
        self._wf_nxt = nxt
        self._wf_rlen = rlen
        self._wf_adv = adv
        self._wf_mss = mss
        wnd = (adv - nxt) & MASK
        if wnd >= HALF:
            wnd = 0
        if wnd == self._field_wnd and shift == self._field_shift:
            return self._field  # the same window as the last segment's (the usual case)
        field = self.receiver.window_field(wnd, shift)
        if not 0 <= field <= 0xFFFF:
            raise UsageError(f"receiver: window_field() gave {field!r}; the field is 16 bits "
                             "(0 to 65535)")
        self._field_wnd = wnd
        self._field_shift = shift
        self._field = field
        return field

    def _sack_blocks(self, used: int, space: int = 40) -> tuple[tuple[int, int], ...]:
        """RFC 2018 §4: up to 4 blocks (3 with timestamps), the most recently received
        first; each block a contiguous range of held out-of-order data, as the (left, right)
        sequence numbers of a SACK option that fits in `space` bytes of options of which
        `used` are taken."""
        base = self._index_base
        held = self.reasm.blocks()
        room = min(4, (min(space, 40) - used - 4) // 8)
        dsack, self._dsack = self._dsack, None  # RFC 2883 §4 (2): in one ACK only
        if room <= 0:
            return ()
        out: list[tuple[int, int]] = []
        if dsack is not None:
            # RFC 2883 §4: the D-SACK block first; the block of held data it lies in, if
            # any, comes next (the most recent arrival, as RFC 2018 §4 orders it anyway)
            out.append(dsack)
            room -= 1
            self.stack.tcp_counts["dsack_sent"] += 1
        # (compiled, the loops below run on unboxed ints: no bisect call, no tuple built to
        # search with, no tuple comparisons; interpreted, about as fast as those)
        n = len(held)
        chosen: list[tuple[int, int]] = []
        recent = self._sack_recent or []  # those no longer held are dropped (`gone`)
        gone: list[int] | None = None
        # the block that held the previous index: recent arrivals behind one hole are mostly
        # in the same block, which is then in `chosen` already (or `chosen` is full)
        last_left = last_right = 0
        for k in range(len(recent)):
            idx = recent[k]
            if last_left <= idx < last_right:
                continue
            # blocks() is sorted and disjoint (the seam's contract): the block that holds
            # idx, if any, is the last one starting at or before it
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) >> 1
                if held[mid][0] <= idx:
                    lo = mid + 1
                else:
                    hi = mid
            if lo > 0:
                blk = held[lo - 1]
                left, right = blk
                if idx < right:
                    last_left = left
                    last_right = right
                    if len(chosen) < room:
                        for a, b in chosen:  # (blk in chosen, compared as ints)
                            if a == left and b == right:
                                break
                        else:
                            chosen.append(blk)
                    continue
            if gone is None:
                gone = []
            gone.append(k)
        if gone is not None:
            for k in reversed(gone):
                del recent[k]
        k = n - 1
        while k >= 0 and len(chosen) < room:
            blk = held[k]
            left, right = blk
            for a, b in chosen:
                if a == left and b == right:
                    break
            else:
                chosen.append(blk)
            k -= 1
        for left, right in chosen:
            out.append(((base + left) & MASK, (base + right) & MASK))
        return tuple(out)

