"""Loss recovery: duplicate ACKs, fast retransmit and fast recovery, SACK-based recovery,
and what a retransmission timeout does to the congestion state.

- A duplicate ACK (RFC 5681 §2) counts; at the third, or when the SACK scoreboard deems
  SND.UNA lost (RFC 6675 §5, IsLost), fast retransmit starts, once per window (RFC 6582 §3.2
  step 2: only if the ACK covers `recover`).
- Without SACK: NewReno (RFC 6582 §3.2): window inflation on each further duplicate ACK, a
  partial ACK retransmits the next hole, a full ACK ends recovery.
- With SACK: RFC 6675 §5: the pipe estimate replaces inflation; NextSeg picks what to send.
- A timeout (RFC 5681 §3.1, RFC 6298 (5.4)-(5.6)): give up after too many, else back off;
  a SYN is sent again; in the data phase ssthresh from FlightSize once per episode, cwnd to
  one segment, the scoreboard cleared, go back N from SND.UNA.

The window arithmetic itself is the congestion controller's (`cfg.new_cc()`,
netsim.stack.tcp.congestion, or a student's); the scoreboard is netsim.stack.tcp.sack.

ICMP errors (RFC 1122 §4.2.3.9) are here too: "fragmentation needed" lowers the MSS to the
path MTU (RFC 1191 §6) and resends what was lost at once; a hard error aborts a connection
still opening, anything else is a soft error.
"""

from __future__ import annotations

from netsim.stack.tcp import ecn
from netsim.stack.tcp import rack_recovery as rack
from netsim.stack.tcp.errors import ConnectionTimedOut, HostUnreachable
from netsim.stack.tcp.sack import is_dsack
from netsim.stack.tcp.sender import Sender
from netsim.stack.tcp.seq import HALF, MASK, MOD, seq_diff, seq_ge
from netsim.stack.tcp.states import SYN_RECEIVED, SYN_SENT, SYNCHRONIZED, Event
from netsim.wire.tcp import ACK, FIN, OPT_SACK, TCPSegment


class LossRecovery(Sender):
    """Duplicate ACKs, NewReno and SACK recovery, the congestion response to a timeout."""

    __slots__ = ()

    # ================================================================== ACKs
    def _take_sack(self, seg: TCPSegment, una: int, now: float = 0.0) -> None:
        """Record the SACK blocks of an ACK in the scoreboard (RFC 6675 §5, Update())."""
        for opt in seg.options:
            if opt.kind == OPT_SACK:
                # (the distances from `una` are seq_diff's, written out: a block's right edge
                # HALF or more above `una` is below it, so it counts for nothing here)
                top = (self.snd_max - una) & MASK
                if top >= HALF:
                    top -= MOD
                base = self._una_off
                # (typed: compiled, the blocks are iterated as a tuple, not through Python)
                blocks: tuple[tuple[int, int], ...] = opt.blocks  # type: ignore[union-attr]
                if is_dsack(blocks, seg.ack):
                    # RFC 2883 §5: a duplicate was received; no new SACK information
                    self._dsack_received(blocks[0], now)
                    blocks = blocks[1:]
                board = self.sack_board
                for left, right in blocks:
                    hi = (right - una) & MASK
                    # Only blocks above the cumulative ACK and below SND.MAX count
                    if 0 < hi < HALF and hi <= top:
                        lo = (left - una) & MASK
                        if lo >= HALF:
                            lo -= MOD
                        if lo >= hi:
                            continue
                        start = base + lo if lo > 0 else base  # (clipped at SND.UNA)
                        end = base + hi
                        if self.rack is not None:  # RACK: newly SACKed segments
                            self.rack.on_sack(board, start, end, now)
                        if self.rate is not None:  # delivery-rate samples: newly SACKed
                            self.rate.deliver_sack(board, start, end, now)
                        board.add(start, end)
                return

    def _dsack_received(self, block: tuple[int, int], now: float) -> None:
        """A D-SACK block arrived, reporting a duplicate (RFC 2883 §5): counted, traced,
        and told to RACK, whose reordering window grows on it (RFC 8985 §6.2 step 4)."""
        self.dsacks += 1
        self.stack.tcp_counts["dsack_received"] += 1
        self._event(now, "dsack", f"{block[0]}-{block[1]}")
        if self.rack is not None:
            self.rack.dsack_on_ack = True

    def _congestion_on_ack(self, acked: int, rtt: float | None, flight: int, ack: int,
                           now: float) -> None:
        """An ACK of new data: grow the window, or go on with (or end) loss recovery."""
        cc = self.cc
        if self.in_recovery:
            if seq_ge(ack, self.recover) or not (cc.partial_ack_recovery or
                                                 self.sack_recovery):
                # RFC 6582 §3.2 step 3 (full acknowledgment) / RFC 5681 step 6 /
                # RFC 6675 §5: recovery ends when RecoveryPoint is acknowledged
                self.in_recovery = self.sack_recovery = False
                cc.on_recovery_end(flight, now)
                self._event(now, "recovery_exit")
                self._trace_cwnd(now, "recovery_exit")
            elif self.sack_recovery:
                # RFC 6675 §5 (C): a partial ACK in SACK recovery changes no window; the
                # scoreboard decides what to send next (see _sack_output)
                self._restart_rto(now)
                self._trace_cwnd(now, "partial_ack")
            else:
                # RFC 6582 §3.2 step 4 (partial acknowledgment): retransmit the first
                # unacknowledged segment, deflate, and reset the timer
                cc.on_partial_ack(acked, flight, now)
                self._retransmit_head(now)
                self._restart_rto(now)
                self._trace_cwnd(now, "partial_ack")
        else:
            cc.on_ack(acked, rtt, flight, now)
            if self.trace is not None:
                self._trace_cwnd(now, "ack")
        if not self.in_recovery:
            # (in NewReno recovery each further dup ACK still inflates cwnd, RFC 6582 §3.2
            # step 4: the count goes on across partial ACKs)
            self.dupacks = 0

    def _dup_ack(self, seg: TCPSegment, now: float) -> None:
        self.dupacks += 1
        self.stack.tcp_counts["dupacks"] += 1
        if self.in_recovery:
            if not self.sack_recovery:  # with SACK, the pipe estimate replaces inflation
                self.cc.on_dup_ack(self.dupacks, self.flight, now)
                self._trace_cwnd(now, "dupack")
            return
        if self.rack is not None and self.sack_board.starts:
            # RACK-TLP (RFC 8985) detects losses from SACK blocks instead of DupAck
            # counting; plain duplicate ACKs (no SACK information) still count
            return
        if self.dupacks == self.cfg.dupack_threshold or self.sack_ok and \
                self.sack_board.starts and \
                self.sack_board.is_lost(self._una_off, self.snd_mss, self.cfg.dupack_threshold):
            # RFC 6582 §3.2 step 2: enter fast retransmit only if the ACK covers more than
            # `recover` (avoids multiple fast retransmits from one window); RFC 6675 §5:
            # with SACK, also when IsLost(HighACK + 1). RFC 6582's `recover` is the highest
            # sequence number sent; ours is one past it, so "covers more" is >= here.
            if seq_ge(self.snd_una, self.recover):
                # RFC 5681 §3.2 step 2: data sent by limited transmit (RFC 3042), what is
                # out beyond cwnd, is left out of the FlightSize that sets ssthresh
                flight = self.flight
                cwnd = self.cc.cwnd
                if flight > cwnd:
                    flight = max(cwnd, flight - 2 * self.snd_mss)
                self._enter_recovery(flight, now)
                return
        # Outside recovery a duplicate ACK changes no window (RFC 5681 §3.2: inflation is
        # part of fast recovery only); limited transmit is done in _output.

    def _enter_recovery(self, flight: int, now: float) -> None:
        # RFC 3168 §6.1.2: one reduction per window for losses and ECE together
        cut = not ecn.cut_this_window(self)
        self.recover = self.snd_max
        self.in_recovery = True
        if cut:
            self.cc.on_loss(flight, now)
        else:
            ecn.loss_after_cut(self, now)
        self.fast_retransmits += 1
        self.stack.tcp_counts["fast_retransmits"] += 1
        self._event(now, "fast_retransmit", f"seq {self.snd_una}")
        if self.sack_ok and self.sack_board.starts:
            # RFC 6675 §5 step (4): RecoveryPoint = HighData; cwnd = ssthresh (the pipe
            # estimate replaces Reno's window inflation); retransmit HighACK + 1
            self.sack_recovery = True
            self.sack_recoveries += 1
            self.stack.tcp_counts["sack_recoveries"] += 1
            self.cc.cwnd = self.cc.ssthresh
            self._high_rxt = self._una_off
            n = min(self.snd_mss, seq_diff(self._data_end(), self.snd_una))
            self._retransmit_head(now)
            self._high_rxt = self._una_off + max(n, 1)
            self._trace_cwnd(now, "fast_retransmit")
            self._sack_output(now)
            return
        self._retransmit_head(now)
        self._trace_cwnd(now, "fast_retransmit")

    # ================================================================== sending again
    def _sack_output(self, now: float) -> None:
        """RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg()."""
        if self.rack is not None:  # RACK-TLP: RACK's losses and pipe
            rack.output(self, now)
            return
        board = self.sack_board
        mss = self.snd_mss
        dupthresh = self.cfg.dupack_threshold
        while True:
            una_off = self._una_off
            high = una_off + seq_diff(self.snd_max, self.snd_una)
            pipe = board.pipe(una_off, high, self._high_rxt, mss, dupthresh)
            if self.cc.cwnd - pipe < mss or self.pacer is not None and self.pacer.wait(now):
                break
            lost = board.next_lost(self._high_rxt, una_off, high, mss, dupthresh)
            if lost is not None:
                # NextSeg rule (1): the first lost, un-SACKed range above HighRxt
                start, n = lost
                self._send_segment((self.snd_una + (start - una_off)) & MASK, n, now)
                self._high_rxt = start + n
                continue
            # Rule (2): new data, if the receiver's window allows
            nxt = self.snd_max
            avail = seq_diff(self._data_end(), nxt)
            n = min(mss, avail, self.snd_wnd - seq_diff(nxt, self.snd_una))
            if n <= 0 or n < mss and n < avail:
                # Rule (3): no new data to send; retransmit an un-SACKed range below the
                # highest SACKed byte even if it is not yet deemed lost
                hole = board.next_unsacked_below_sack(self._high_rxt, una_off, high, mss)
                if hole is None:
                    break
                start, n = hole
                self._send_segment((self.snd_una + (start - una_off)) & MASK, n, now)
                self._high_rxt = start + n
                continue
            self._send_segment(nxt, n, now)
            self.snd_nxt = self.snd_max = (nxt + n) & MASK
        if self.snd_una != self.snd_max:
            self._start_rto_if_stopped(now)

    def _retransmit_head(self, now: float) -> int:
        """Resend the first unacknowledged segment (data or FIN); returns the sequence
        space it covers."""
        una = self.snd_una
        data_end = self._data_end()
        n = min(self.snd_mss, seq_diff(data_end, una))
        sent_before = seq_diff(self.snd_max, una)
        if 0 < sent_before < n:
            n = sent_before  # RFC 6298 (5.4): resend what was sent, not data queued behind it
        if 0 < self.snd_wnd < n:
            n = self.snd_wnd  # RFC 9293 §3.8.6: not past the offered window (as Linux)
        self._rtt_seq = None  # Karn: never time a retransmitted segment
        sent = 0
        if n > 0:
            self._send_segment(una, n, now)
            sent = n
        elif self.fin_queued and una == data_end:
            self._emit(una, FIN | ACK, b"", now, True)
            sent = 1
        self._start_rto_if_stopped(now)
        return sent

    def _go_back_n(self, now: float) -> None:
        """Send again from SND.UNA (RFC 6298 (5.4)); SND.NXT follows what was resent."""
        self.snd_nxt = self.snd_una
        self._set_snd_nxt((self.snd_una + self._retransmit_head(now)) & MASK)

    # ================================================================== timeout
    def _on_rto(self, now: float) -> None:
        """The retransmission timer expired (RFC 6298 (5.4)-(5.6))."""
        state = self.state
        self.timeouts += 1
        self.retries += 1
        self.stack.tcp_counts["timeouts"] += 1
        syn_phase = state in (SYN_SENT, SYN_RECEIVED)
        self._timer_record(now, "syn" if syn_phase else "rto")
        limit = self.cfg.max_retries if not syn_phase else self.cfg.synack_retries \
            if self.listener is not None else self.cfg.syn_retries
        if self.retries > limit:
            if state is SYN_RECEIVED and self.listener is not None:
                self.listener.forget(self)
            self._fail(ConnectionTimedOut(f"connection {self.name} timed out after "
                                          f"{self.retries - 1} retransmissions"),
                       Event.GIVE_UP, now)
            return
        self._back_off(now)
        if syn_phase:
            self._syn_retransmitted = True
            self._set_rto(now)
            self._send_syn(now, ack=state is SYN_RECEIVED)
            self._arm()
            return
        self._timeout_recovery(now)

    def _timeout_recovery(self, now: float) -> None:
        """A retransmission timeout in the data phase: RFC 5681 §3.1 (4), RFC 6675 §5.1."""
        # ssthresh from FlightSize only when the segment has not already been resent by
        # the timer; a further timeout only keeps cwnd at one segment.
        if self.retries == 1:
            self.cc.on_rto(seq_diff(self.snd_max, self.snd_una), now)
            self._retrans_ts = self._tsval(now)
        else:
            self.cc.cwnd = min(self.cc.cwnd, self.snd_mss)
        self.in_recovery = self.sack_recovery = False
        if self.rack is not None:
            self.rack.on_rto()  # RFC 8985 §7.1: TLP state initialised again
        self.sack_board.clear()  # RFC 6675 §5.1: after a timeout, resend from SND.UNA
        self.dupacks = 0
        self.recover = self.snd_max
        self._event(now, "rto", f"seq {self.snd_una}")
        self._trace_cwnd(now, "rto")
        # Go back N: send again from the first unacknowledged byte (RFC 6298 (5.4)).
        self._set_rto(now)
        self._go_back_n(now)
        self._arm()

    # ================================================================== ICMP errors
    def icmp_error(self, kind: str, now: float, mtu: int = 0) -> None:
        """An ICMP error about this connection (RFC 1122 §4.2.3.9): hard errors abort a
        connection that is still opening; everything else is a soft error. Fragmentation
        needed (over IPv6: packet too big) lowers the MSS to the path MTU (RFC 1191 §6) and
        resends at once."""
        if kind == "fragmentation needed" and mtu >= 68:
            # headers: 40 bytes over IPv4, 60 over IPv6 (RFC 8200 §8.3, upper-layer payload)
            headers = 60 if self.remote_ip.version == 6 else 40
            new_mss = max(mtu - headers - (12 if self.ts_ok else 0), 64)
            if new_mss < self.snd_mss:
                self.snd_mss = new_mss
                if hasattr(self.cc, "mss"):
                    self.cc.mss = new_mss
                self.stack.tcp_counts["pmtu_reductions"] += 1
                self._event(now, "pmtu", f"mtu {mtu}, mss {new_mss}")
                if self.state in SYNCHRONIZED and self.snd_una != self.snd_max:
                    self._go_back_n(now)
            return
        err = HostUnreachable(f"{self.remote_ip}: {kind}")
        if self.state is SYN_SENT and kind in ("protocol unreachable", "port unreachable"):
            self._fail(err, Event.ABORT, now)
        else:
            self.soft_error = err
