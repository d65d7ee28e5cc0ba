"""The three-way handshake and the options agreed in it.

- SYN and SYN-ACK carry MSS (RFC 9293 §3.7.1), SACK-permitted (RFC 2018 §2), timestamps
  (RFC 7323 §3) and window scale (RFC 7323 §2), in Linux's order; their window is never
  scaled (RFC 7323 §2.2). An option is on only when both sides offered it.
- The effective send MSS: min(peer's MSS, ours) less the option bytes of every segment.
- SEGMENT ARRIVES in SYN-SENT (RFC 9293 §3.10.7.3), simultaneous open included (Figure 8).
- ECN is agreed in the SYN and SYN-ACK flags (RFC 3168 §6.1.1, netsim.stack.tcp.ecn).
- When both SYNs are acknowledged the data phase is set up: the congestion window, and the
  RTO kept from a SYN timeout is dropped (RFC 6298 (5.7)).

The ISN itself (RFC 9293 §3.4.1, RFC 6528) is chosen in netsim.stack.tcp.connection.
"""

from __future__ import annotations

from netsim.stack.tcp import ecn
from netsim.stack.tcp.errors import ConnectionRefused
from netsim.stack.tcp.recovery import LossRecovery
from netsim.stack.tcp.seq import MASK, seq_gt, seq_le, seq_lt
from netsim.stack.tcp.states import SYN_RECEIVED, SYN_SENT, Event
from netsim.wire.tcp import (
    ACK,
    NOP,
    OPT_MSS,
    OPT_SACK_PERMITTED,
    OPT_TIMESTAMPS,
    OPT_WSCALE,
    RST,
    SACK_PERMITTED,
    SYN,
    MSSOption,
    TCPOption,
    TCPSegment,
    TimestampOption,
    WindowScaleOption,
    encode_options,
)


def timestamps_of(seg: TCPSegment) -> TimestampOption | None:
    """The segment's timestamps option, if it has one."""
    for opt in seg.options:
        if isinstance(opt, TimestampOption):
            return opt
    return None


class Handshake(LossRecovery):
    """SYN and SYN-ACK, their options, SYN-SENT input, the start of the data phase."""

    __slots__ = ()

    def _take_syn(self, syn: TCPSegment, now: float) -> None:
        """Record the peer's SYN: IRS, RCV.NXT and its options."""
        self.irs = syn.seq
        # the receiver learns the ISN from the SYN (data on a SYN is not taken)
        self.receiver.receive(syn.seq, True, False, b"", 0)
        self._take_ackno()
        self._index_base = (syn.seq + 1) & MASK
        self.snd_wnd = syn.window  # RFC 7323 §2.2: the window in a SYN is never scaled
        self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
        self.snd_wl1 = syn.seq
        self.snd_wl2 = syn.ack
        mss_local = self.cfg.mss or self.layer.mss_for(self.remote_ip)
        self.mss_local = mss_local
        saw_ws = saw_ts = saw_sack = False
        for opt in syn.options:
            kind = opt.kind
            if kind == OPT_MSS and isinstance(opt, MSSOption):
                self.peer_mss = opt.mss
            elif kind == OPT_WSCALE and isinstance(opt, WindowScaleOption):
                saw_ws = True
                # RFC 7323 §2.3: a shift above 14 is treated as 14
                self.snd_wscale = min(opt.shift, 14)
            elif kind == OPT_TIMESTAMPS and isinstance(opt, TimestampOption):
                saw_ts = True
                self.ts_recent = opt.tsval
            elif kind == OPT_SACK_PERMITTED:
                saw_sack = True
        cfg = self.cfg
        if self.state is SYN_RECEIVED and self.listener is not None or \
                self.state is SYN_SENT or self.state is SYN_RECEIVED:
            # Options are on only when both sides offered them.
            self.ts_ok = saw_ts and cfg.timestamps
            self.sack_ok = saw_sack and cfg.sack
            if saw_ws and cfg.window_scaling:
                self.rcv_wscale = self._wscale_for(cfg.rcvbuf)
            else:
                self.rcv_wscale = self.snd_wscale = 0
            ecn.take_syn(self, syn.flags)
        # RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS, our MMS) - option bytes per segment
        self.snd_mss = min(self.peer_mss, mss_local) - (12 if self.ts_ok else 0)
        self.snd_mss = max(self.snd_mss, 64)

    @staticmethod
    def _wscale_for(rcvbuf: int) -> int:
        """The smallest shift that lets the window field say `rcvbuf` (at most 14)."""
        shift = 0
        while (rcvbuf >> shift) > 0xFFFF and shift < 14:
            shift += 1
        return shift

    def _syn_options(self, ack: bool) -> bytes:
        cfg = self.cfg
        opts: list[TCPOption] = [MSSOption(self.mss_local)]
        # Linux's order: mss, sackOK, TS, nop, wscale
        if cfg.sack and (not ack or self.sack_ok):
            opts.append(SACK_PERMITTED)
        if cfg.timestamps and (not ack or self.ts_ok):
            opts.append(TimestampOption(self._tsval(self.stack.now),
                                        self.ts_recent if ack else 0))
        if cfg.window_scaling and (not ack or self.rcv_wscale or self.snd_wscale or
                                   self._peer_offered_ws):
            shift = self._wscale_for(cfg.rcvbuf)
            if not ack:
                self._want_wscale = shift
            opts += [NOP, WindowScaleOption(shift)]
        return encode_options(opts)

    @property
    def _peer_offered_ws(self) -> bool:
        return self.rcv_wscale != 0 or self.snd_wscale != 0

    def _send_syn(self, now: float, ack: bool) -> None:
        flags = (SYN | ACK if ack else SYN) | ecn.syn_flags(self, ack)
        # The window in a SYN or SYN-ACK is not scaled (RFC 7323 §2.2).
        window = min(self.cfg.rcvbuf, 0xFFFF)
        self.rcv_adv = (self.rcv_nxt + window) & MASK
        retransmit = self.retries > 0
        if self.segs_out == 0:
            self._rtt_time = now  # RFC 6298 §3: the handshake is timed from our first SYN
        self._emit_raw(self.iss, flags, b"", self._syn_options(ack), window, now, retransmit)
        self._start_rto_if_stopped(now)

    def _syn_again(self, flags: int, now: float) -> None:
        """The peer's SYN came again in SYN-RECEIVED (it lost our SYN-ACK): answer it again.
        A SYN that is no longer ECN-setup (the peer gave up on ECN, RFC 3168 §6.1.1.1) turns
        ECN off, and the SYN-ACK says so."""
        ecn.syn_again(self, flags)
        self._send_syn(now, ack=True)

    def _established(self, now: float) -> None:
        """Both SYNs are acknowledged: set up the data phase."""
        if self._syn_retransmitted:
            self.rto_est.on_syn_timeout_done()  # RFC 6298 (5.7)
        self._synced = True
        self.retries = 0
        self.cc.init(self.snd_mss, now)
        self._trace_cwnd(now, "init")
        if self.ecn_ok:
            ecn.established(self, now)
        self._notify("established")

    def _ack_of_syn(self, seg: TCPSegment, now: float) -> bool:
        """RFC 9293 §3.10.7.4 fifth, in SYN-RECEIVED (or FIN-WAIT-1 before both SYNs were
        acknowledged): an ACK of our SYN sets up the data phase. False: the segment goes no
        further."""
        ack = seg.ack
        if seq_lt(self.snd_una, ack) and seq_le(ack, self.snd_nxt):
            if self.listener is not None and not self.listener.may_establish(self):
                self.stack.drop("tcp", "accept_queue_full", self.name)
                return False
            if self.state is SYN_RECEIVED:
                self._transition(Event.RCV_ACK_OF_SYN, now)
            self.snd_una = ack
            self.snd_wnd = seg.window << self.snd_wscale
            self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
            self.snd_wl1, self.snd_wl2 = seg.seq, ack
            self._stop_rto()
            self._rtt_from_ack(seg, now, True, timestamps_of(seg))
            self._established(now)
            if self.listener is not None:
                self.listener.established(self, now)
            return True
        # RFC 9293: an unacceptable ACK in SYN-RECEIVED gets <SEQ=SEG.ACK><CTL=RST>
        self.layer.send_rst(self.local_ip, self.remote_ip, self.local_port, self.remote_port,
                            ack, 0, RST, now)
        return False

    def _syn_sent_input(self, seg: TCPSegment, now: float) -> None:
        """RFC 9293 §3.10.7.3, SEGMENT ARRIVES in SYN-SENT."""
        flags = seg.flags
        ack_ok = False
        if flags & ACK:
            if seq_le(seg.ack, self.iss) or seq_gt(seg.ack, self.snd_max):
                if not flags & RST:
                    self.layer.send_rst(self.local_ip, self.remote_ip, self.local_port,
                                        self.remote_port, seg.ack, 0, RST, now)
                self.stack.drop("tcp", "bad_ack_in_syn_sent", self.name)
                return
            ack_ok = True
        if flags & RST:
            if ack_ok:
                self._fail(ConnectionRefused(f"connection to {self.remote_ip}:"
                                             f"{self.remote_port} refused"), Event.RCV_RST, now)
            return
        if not flags & SYN:
            return
        self._take_syn(seg, now)
        if ack_ok:
            self.snd_una = seg.ack
            self._transition(Event.RCV_SYN_ACK, now)
            self._stop_rto()
            if self.ts_ok:
                self.ts_recent = self._seg_tsval(seg)
            self._rtt_from_ack(seg, now, True, timestamps_of(seg))
            self._established(now)
            self._send_ack(now)
            self._output(now)
        else:
            # Simultaneous open (RFC 9293 Figure 8): SYN-RECEIVED, send SYN,ACK
            self._transition(Event.RCV_SYN, now)
            self.snd_nxt = (self.iss + 1) & MASK
            self._send_syn(now, ack=True)
