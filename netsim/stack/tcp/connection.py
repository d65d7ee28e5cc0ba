"""One TCP connection: the state table, opening and closing, and the dispatch of segments
(RFC 9293 §3.10.7) and timers (RFC 6298, RFC 9293 §3.10.8).

Sans-I/O: segments come in through `segment_arrives(seg, now)`, time through
`on_timer(now)`, the application calls `send`/`recv`/`shutdown`/`close`/`abort`
with the current time; segments leave through the host's `send_tcp`
(netsim.stack.tcp.host_api). Applications are told about changes through `notify(event)`
(see `netsim.sockets`).

The parts of the work are in their own modules, one idea each (netsim.stack.tcp.tcb lists
them): this one holds the state changes (all through `_transition`), the order of the checks
of SEGMENT ARRIVES, ACK processing, and the dispatch of the timers (a retransmission
timeout is netsim.stack.tcp.recovery's `_on_rto`).
"""

from __future__ import annotations

from netsim.stack.events import StateRecord
from netsim.stack.tcp import rack_recovery as rack
from netsim.stack.tcp.errors import ConnectionRefused, ConnectionReset
from netsim.stack.tcp.handshake import Handshake
from netsim.stack.tcp.isn import isn as make_isn
from netsim.stack.tcp.isn import ts_offset
from netsim.stack.tcp.seq import HALF, MASK, MOD, seq_ge, seq_gt, seq_lt
from netsim.stack.tcp.states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    SYN_RECEIVED,
    SYN_SENT,
    SYNCHRONIZED,
    TIME_WAIT,
    Event,
    next_state,
)
from netsim.stack.timers import INF
from netsim.wire.tcp import (
    ACK,
    ECE,
    FIN,
    OPT_SACK_PERMITTED,
    RST,
    SYN,
    TCPSegment,
    TimestampOption,
)


class TcpConnection(Handshake):
    """One connection: the transmission control block (netsim.stack.tcp.tcb) and the
    parts that act on it."""

    __slots__ = ()

    # ================================================================== state machine
    def _transition(self, event: Event, now: float) -> None:
        """The one place the state changes (RFC 9293 §3.3.2, netsim.stack.tcp.states)."""
        old = self.state
        new = next_state(old, event)
        self.state = new
        if self.trace is not None:
            self.trace.record(StateRecord(now, self.stack.name, self.name, str(old), str(new),
                                          str(event)))
        if new is FIN_WAIT_2 and self.app_closed:
            self._start_fin_wait_2_timer(now)
        elif new is TIME_WAIT:
            # RFC 9293 §3.10.7.4: TIME-WAIT lasts 2 MSL; nothing else is timed any more
            self.rto_at = self.persist_at = self.delack_at = INF
            self.timewait_at = now + 2 * self.cfg.msl
            self._arm()
        elif new is CLOSED:
            self._release()

    def _release(self) -> None:
        """Leave nothing behind: timers, buffers and the table entry go."""
        self.rto_at = self.persist_at = self.delack_at = self.timewait_at = INF
        self.stack.timers.cancel(self)
        self.sender, self._snd_end = self.cfg.new_sender(), -1  # (data_end() to ask again)
        self.receiver = self.cfg.new_receiver()
        self.reasm, self._pending = self.receiver.reassembler, 0
        self.layer.remove(self)

    # ================================================================== opening
    def open_active(self, now: float) -> None:
        """Send a SYN (RFC 9293 §3.10.1, active OPEN)."""
        self._transition(Event.ACTIVE_OPEN, now)
        self._choose_isn(now)
        self._send_syn(now, ack=False)

    def open_passive(self, syn: TCPSegment, now: float) -> None:
        """A SYN reached a listener: this new connection answers it (RFC 9293 §3.10.7.2)."""
        self.state = LISTEN
        if self.trace is not None:  # the SYN the listener received, for ladders and graphs
            self.irs = syn.seq
            self._trace_segment("rx", syn.seq, syn.ack, len(syn.payload), syn.flags,
                                syn.window, syn.options, now, False)
        self._transition(Event.RCV_SYN, now)
        self._take_syn(syn, now)
        self._choose_isn(now)
        self._send_syn(now, ack=True)

    def open_from_cookie(self, syn: TCPSegment, iss: int, now: float) -> None:
        """A valid SYN cookie came back (netsim.stack.tcp.syncookies): enter SYN-RECEIVED as
        if `syn` had been answered with ISN `iss`; the caller then hands over the ACK."""
        self.state = LISTEN
        self.from_cookie = True
        self._transition(Event.RCV_SYN, now)
        self._take_syn(syn, now)
        self._choose_isn(now, iss)
        self.rcv_adv = (self.rcv_nxt + min(self.cfg.rcvbuf, 0xFFFF)) & MASK

    def _choose_isn(self, now: float, iss: int | None = None) -> None:
        """ISS from the clock and a keyed hash of the addresses (RFC 9293 §3.4.1)."""
        key = self.cfg.isn_key
        self.iss = make_isn(key, now, self.local_ip, self.local_port, self.remote_ip,
                            self.remote_port) if iss is None else iss
        self.snd_una = self.recover = self.iss
        self.snd_nxt = self.snd_max = (self.iss + 1) & MASK
        self._snd_end = -1  # data_end() moves
        self.sender.start(self.iss)
        self._ts_off = ts_offset(key, self.local_ip, self.remote_ip)

    # ================================================================== closing
    def shutdown(self, now: float) -> None:
        """Close the sending side (half-close): a FIN follows the queued data."""
        if self.fin_queued or self.state in (CLOSED, TIME_WAIT):
            return
        if self.state is SYN_SENT:
            self._transition(Event.CLOSE, now)
            return
        self.fin_queued = True
        if self.state in (ESTABLISHED, SYN_RECEIVED, CLOSE_WAIT):
            self._transition(Event.CLOSE, now)
        self._output(now)

    def close(self, now: float) -> None:
        """The application is done with the connection: shut down writing; data arriving
        afterwards is acknowledged and discarded."""
        self.app_closed = True
        if self._rlen and self.state in SYNCHRONIZED:
            # RFC 1122 §4.2.2.13 / RFC 2525 §2.17: closing with unread data resets the
            # connection, so the peer learns that the data was not consumed
            self._discard_unread()
            self.stack.tcp_counts["close_with_unread_data"] += 1
            self.abort(now)
            return
        self._discard_unread()
        self.shutdown(now)
        if self.state is FIN_WAIT_2:
            self._start_fin_wait_2_timer(now)

    def _start_fin_wait_2_timer(self, now: float) -> None:
        """An orphaned FIN-WAIT-2 (the application closed; the peer never sends its FIN)
        ends after cfg.fin_wait2_timeout, as Linux's tcp_fin_timeout does."""
        self.timewait_at = now + self.cfg.fin_wait2_timeout
        self._arm()

    def abort(self, now: float) -> None:
        """Reset the connection (RFC 9293 §3.10.5 ABORT)."""
        if self.state in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2,
                          CLOSE_WAIT):
            self._emit_raw(self.snd_nxt, RST, b"", b"", 0, now)
        if self.state is not CLOSED:
            self._transition(Event.ABORT, now)

    # ================================================================== input
    def segment_arrives(self, seg: TCPSegment, now: float, ip_ecn: int = 0) -> None:
        """SEGMENT ARRIVES (RFC 9293 §3.10.7.4), its checks in the RFC's order."""
        self.segs_in += 1
        if self.trace is not None:
            self._trace_segment("rx", seg.seq, seg.ack, len(seg.payload), seg.flags,
                                seg.window, seg.options, now, False)
        state = self.state
        if state is SYN_SENT:
            self._syn_sent_input(seg, now)
            return
        flags = seg.flags
        seq = seg.seq
        plen = len(seg.payload)
        if state is SYN_RECEIVED and flags & (SYN | ACK | RST) == SYN and seq == self.irs:
            # The peer's SYN again: it lost our SYN-ACK, so send that again rather than the
            # bare ACK the acceptability test would give (as Linux's tcp_check_req does)
            self._syn_again(flags, now)
            return
        ts: TimestampOption | None = None  # its timestamps option (RFC 7323 §3), looked up once
        if self.ts_ok:
            for opt in seg.options:
                if isinstance(opt, TimestampOption):
                    ts = opt
                    break
            # --- RFC 7323 §5.3 R1, before the acceptability test: PAWS
            if ts is not None and self.cfg.paws and not flags & RST and \
                    self._paws_drop(seg, now):
                return
        # --- RFC 9293 §3.10.7.4 first: the acceptability test (passed by a segment at
        # RCV.NXT, unless it carries data and the window is closed: the usual case)
        rcv_nxt = self.rcv_nxt
        if (seq != rcv_nxt or plen and not 0 < (self.rcv_adv - rcv_nxt) & MASK < HALF) and \
                not self._acceptable(seq, plen, flags):
            if not flags & RST:
                if state is TIME_WAIT and flags & FIN:
                    self.timewait_at = now + 2 * self.cfg.msl  # a retransmitted FIN
                    self._arm()
                # a segment without data or SYN is answered at most once per
                # invalid_ratelimit (Linux's tcp_oow_rate_limited): no ACK storms
                if plen or flags & (SYN | FIN) or not self._oow_limited(now):
                    if plen and self.cfg.dsack:  # an old duplicate: RFC 2883 §4
                        self._note_duplicate(seq, plen)
                    self._send_ack(now)
            self.stack.drop("tcp", "out_of_window", self.name)
            return
        # --- second: RST (RFC 5961 §3.2: only exactly at RCV.NXT, else a challenge ACK)
        if flags & RST:
            if state is TIME_WAIT:
                # RFC 1337: no TIME-WAIT assassination: a RST here is ignored
                self.stack.drop("tcp", "rst_in_time_wait", self.name)
                return
            if seq == self.rcv_nxt:
                self._reset(now)
            else:
                self._challenge_ack(now)
            return
        # --- fourth: SYN in a synchronized state: challenge ACK (RFC 5961 §4.2)
        if flags & SYN:
            if state is SYN_RECEIVED and seq == self.irs:
                self._syn_again(flags, now)  # the peer lost our SYN-ACK
                return
            self._challenge_ack(now)
            return
        # --- fifth: the ACK field
        if not flags & ACK:
            self.stack.drop("tcp", "no_ack", self.name)
            return
        # (seq_ge(SEG.TSval, TS.Recent) and seq_le(SEG.SEQ, Last.ACK.sent), written out)
        if ts is not None and (ts.tsval - self.ts_recent) & MASK < HALF and \
                (self.last_ack_sent - seq) & MASK < HALF:
            # RFC 7323 §4.3: TS.Recent <- SEG.TSval if SEG.TSval >= TS.Recent and
            # SEG.SEQ <= Last.ACK.sent
            self.ts_recent = ts.tsval
        if state is SYN_RECEIVED or not self._synced and state is FIN_WAIT_1:
            # (FIN-WAIT-1 here: the application closed in SYN-RECEIVED, RFC 9293 §3.10.4)
            if not self._ack_of_syn(seg, now):
                return
        if not self._process_ack(seg, now, ts) or self.state is CLOSED:
            return
        # --- seventh: the segment text
        if plen or flags & FIN:
            self._receive_data(seg, now, ip_ecn)
            if self.closed:  # (the property: mypy keeps self.state narrowed from above)
                return
        self._output(now)

    def _reset(self, now: float) -> None:
        state = self.state
        if state is SYN_RECEIVED and self.listener is not None:
            self.stack.tcp_counts["embryonic_rst"] += 1
            self.listener.forget(self)
            self._transition(Event.RCV_RST, now)
            return
        if state in (CLOSING, LAST_ACK):
            self._transition(Event.RCV_RST, now)
            self._notify("closed")
            return
        if state is SYN_RECEIVED:
            # RFC 9293 §3.10.7.4 second, SYN-RECEIVED from an active OPEN: "connection refused"
            self._fail(ConnectionRefused(f"connection to {self.remote_ip}:{self.remote_port} "
                                         "refused"), Event.RCV_RST, now)
            return
        self._fail(ConnectionReset(f"connection {self.name} reset by peer"), Event.RCV_RST, now)

    # ================================================================== ACK processing
    def _process_ack(self, seg: TCPSegment, now: float, ts: TimestampOption | None) -> bool:
        """RFC 9293 §3.10.7.4 fifth step in synchronized states (`ts`: the segment's
        timestamps option). False: stop processing."""
        ack = seg.ack
        una = self.snd_una
        # RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT (as is
        # SEG.ACK = SND.UNA, the usual case of a receiver: no need to ask)
        if ack != una:
            if seq_gt(ack, self.snd_max):
                self.stack.drop("tcp", "ack_of_unsent", self.name)
                self._send_ack(now)
                return False
            if seq_lt(ack, (una - self.max_snd_wnd) & MASK):
                self.stack.drop("tcp", "ack_too_old", self.name)
                self._challenge_ack(now)
                return False
        wnd, ece = seg.window << self.snd_wscale, self.ecn_ok and seg.flags & ECE != 0
        cwnd = self.cc.cwnd if ece else 0  # (before this ACK; asked only for an ECE's response)
        if self.sack_ok and len(seg.options) > (3 if self.ts_ok else 0):
            self._take_sack(seg, una, now)
        if ack != una:
            if (ack - una) & MASK < HALF:  # (seq_gt(ack, una), as ack != una)
                self._new_ack(seg, ack, now, ts)
        else:
            # RFC 5681 §2: a duplicate ACK carries no data, no SYN/FIN, the same window,
            # and arrives while data is outstanding.
            # Answers to zero-window probes (the persist timer runs) do not count, as in
            # 4.4BSD, where only ACKs while the retransmission timer runs are duplicates.
            if not seg.payload and not seg.flags & (SYN | FIN) and wnd == self.snd_wnd and \
                    self.snd_max != una and self.persist_at == INF:
                self._dup_ack(seg, now)
        if self.rack is not None:  # RACK-TLP: loss detection on every ACK (RFC 8985 §6.2)
            rack.on_ack(self, seg, now)
        if self.rate is not None:  # a rate sample for BBR (netsim.stack.tcp.delivery)
            self._rate_sample(seg, now)
        if ece:  # RFC 3168 §6.1.2: the sender's response
            self._ecn_echoed(ack, cwnd, now)
        self._update_window(seg.seq, ack, wnd)
        return True

    def _new_ack(self, seg: TCPSegment, ack: int, now: float,
                 ts: TimestampOption | None) -> None:
        """An ACK of new data: SND.UNA advances."""
        acked = (ack - self.snd_una) & MASK  # (seq_diff: SEG.ACK > SND.UNA)
        self.snd_una = ack
        self._una_off += acked
        if self.sack_board.starts:
            self.sack_board.advance(self._una_off)
        if 0 < (ack - self.snd_nxt) & MASK < HALF:  # (seq_lt(SND.NXT, ack))
            self.snd_nxt = ack  # after a go-back-N retransmission the peer had more
        self._drop_acked(ack, acked)
        self.retries = 0
        rtt = self._rtt_from_ack(seg, now, False, ts)
        if self._retrans_ts is not None and seq_ge(ack, self.recover):
            self._retrans_ts = None  # everything sent before the timeout is acknowledged
        left = (self.snd_max - ack) & MASK  # (seq_diff(SND.MAX, ack) written out)
        self._congestion_on_ack(acked, rtt, left - MOD if left >= HALF else left, ack, now)
        # RFC 6298 (5.2)/(5.3): stop the timer when all is acked, else restart it
        if ack == self.snd_max:
            self._stop_rto()
        elif not self.in_recovery:
            self._restart_rto(now)
        if self.fin_queued and seq_gt(ack, self._data_end()):  # our FIN acknowledged?
            state = self.state
            if state is FIN_WAIT_1 or state is CLOSING:
                self._transition(Event.RCV_ACK_OF_FIN, now)
                if state is CLOSING:
                    # simultaneous close done (RFC 9293 Figure 13): tell the application
                    self._notify("closed")
            elif state is LAST_ACK:
                self._transition(Event.RCV_ACK_OF_FIN, now)
                self._notify("closed")
                return
        # Wake a writer only once a good part of the send buffer is free again (as
        # Linux's sk_stream_write_space does), not on every ACK.
        if self.notify is not None and not self.fin_queued and \
                self.send_space * 2 >= self.cfg.sndbuf:
            self.notify("writable")

    # ================================================================== timers
    def on_timer(self, now: float) -> None:
        """The timer queue's call (netsim.stack.timers): run every deadline that passed."""
        if self.timewait_at <= now:
            if self.state is FIN_WAIT_2:
                self._timer_record(now, "fin_wait_2")
                self._transition(Event.GIVE_UP, now)
                self._notify("closed")
                return
            self._timer_record(now, "time_wait")
            self._transition(Event.TIMEOUT_2MSL, now)
            return
        if self.delack_at <= now:
            self.delack_at = INF
            self._timer_record(now, "delack")
            self._send_ack(now)
        if self.rto_at <= now:
            self.rto_at = INF
            self._on_rto(now)
            if self.state is CLOSED:
                return
        if self.persist_at <= now:
            self.persist_at = INF
            self._on_persist(now)
        if self.rack is not None:  # RACK-TLP's reordering timer and PTO (RFC 8985 §8)
            rack.on_timer(self, now)
        self._arm()

    def __repr__(self) -> str:
        return f"<TcpConnection {self.name} {self.state}>"


__all__ = ["TcpConnection", "OPT_SACK_PERMITTED"]
