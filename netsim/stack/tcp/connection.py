"""One TCP connection: RFC 9293 segment processing, RFC 6298 timers, RFC 5681/6582 loss
recovery, RFC 7323 options, RFC 2018 SACK generation, flow control (RFC 1122 §4.2.3).

Sans-I/O: segments come in through `segment_arrives(seg, now)`, time through
`on_timer(now)`, the application calls `send`/`recv`/`shutdown`/`close`/`abort`
with the current time; segments leave through the stack's `send_tcp`. Applications
are told about changes through `notify(event)` (see `netsim.sockets`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Final

from netsim.stack.events import (
    CwndRecord,
    EventRecord,
    RttRecord,
    SegmentRecord,
    StateRecord,
    TimerRecord,
)
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import (
    ConnectionClosed,
    ConnectionRefused,
    ConnectionReset,
    ConnectionTimedOut,
    HostUnreachable,
    TcpError,
)
from netsim.stack.tcp.isn import isn as make_isn
from netsim.stack.tcp.isn import ts_offset
from netsim.stack.tcp.sack import SackScoreboard
from netsim.stack.tcp.seq import MASK, seq_diff, seq_ge, seq_gt, seq_le, seq_lt
from netsim.stack.tcp.states import CAN_SEND, SYNCHRONIZED, Event, State, next_state
from netsim.stack.timers import INF
from netsim.wire.tcp import (
    ACK,
    FIN,
    NOP,
    OPT_MSS,
    OPT_SACK,
    OPT_SACK_PERMITTED,
    OPT_TIMESTAMPS,
    OPT_WSCALE,
    PSH,
    RST,
    SACK_PERMITTED,
    SYN,
    MSSOption,
    NopOption,
    SackOption,
    TCPOption,
    TCPSegment,
    TimestampOption,
    WindowScaleOption,
    decode_options,
    encode_options,
    flags_str,
    format_options,
)

if TYPE_CHECKING:
    from netsim.stack.tcp.layer import TcpLayer, TcpListener

_TS_HEAD: Final = b"\x01\x01\x08\x0a"
# NOP, NOP and a SACK option's kind and length, by number of blocks (RFC 2018 §3)
_NOP_NOP_SACK: Final = [b"\x01\x01" + bytes((OPT_SACK, 2 + 8 * n)) for n in range(5)]
# tuple.__new__: a NamedTuple made from all its fields without its Python-level __new__
_new: Final = tuple.__new__
_II: Final = struct.Struct("!II")
_NOP: Final = NopOption()

# The states as Final constants: the compiled build reads each directly, where `State.X`
# is a class-attribute lookup (~50 ns) on every test of the state.
CLOSED: Final = State.CLOSED
LISTEN: Final = State.LISTEN
SYN_SENT: Final = State.SYN_SENT
SYN_RECEIVED: Final = State.SYN_RECEIVED
ESTABLISHED: Final = State.ESTABLISHED
FIN_WAIT_1: Final = State.FIN_WAIT_1
FIN_WAIT_2: Final = State.FIN_WAIT_2
CLOSE_WAIT: Final = State.CLOSE_WAIT
CLOSING: Final = State.CLOSING
LAST_ACK: Final = State.LAST_ACK
TIME_WAIT: Final = State.TIME_WAIT


class TcpConnection:
    """The transmission control block (RFC 9293 §3.3.1) and everything that acts on it."""

    def __init__(self, layer: TcpLayer, local_ip: IPv4Address, local_port: int,
                 remote_ip: IPv4Address, remote_port: int, cfg: TcpConfig,
                 listener: TcpListener | None = None) -> None:
        self.layer = layer
        self.stack = layer.stack
        self.cfg = cfg
        self.local_ip, self.local_port = local_ip, local_port
        self.remote_ip, self.remote_port = remote_ip, remote_port
        self.key = (local_ip, local_port, remote_ip, remote_port)
        self.name = f"{local_ip}:{local_port}>{remote_ip}:{remote_port}"
        self.listener = listener
        self.state = CLOSED
        self._synced = False  # both SYNs acknowledged (the data phase was set up)
        # A tracer switched off (Recorder.enabled False) costs nothing per segment: the
        # connection keeps no reference to it, so no record is even built.
        tracer = self.stack.trace
        self.trace = tracer if cfg.trace_connections and getattr(tracer, "enabled", True) \
            else None
        # --- send sequence space (RFC 9293 §3.3.1)
        self.iss = 0
        self.snd_una = 0
        self.snd_nxt = 0
        self.snd_max = 0  # highest sequence number sent + 1
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_snd_wnd = 0
        self._sbuf = bytearray()  # unacknowledged and unsent data
        self._shead = 0  # offset in _sbuf of the byte at sequence _sseq
        self._sseq = 0  # sequence number of _sbuf[_shead]
        self.fin_queued = False  # the application shut down the sending side
        # --- receive sequence space
        self.irs = 0
        self.rcv_nxt = 0
        self.rcv_adv = 0  # right edge of the window we advertised (never moves left)
        self._rbuf = bytearray()  # in-order data the application has not read
        self.reasm = cfg.reassembler_factory()
        self._index_base = 0  # sequence number of stream index 0 (IRS + 1)
        self.fin_received = False
        self._fin_index: int | None = None
        self.app_closed = False
        # --- options (RFC 7323, RFC 2018)
        self.mss_local = cfg.mss or 1460
        self.peer_mss = 536  # RFC 9293 §3.7.1 default when no MSS option arrives
        self.snd_mss = 536  # effective payload per segment
        self.rcv_wscale = 0  # our shift: applied by the peer to our window field
        self.snd_wscale = 0  # the peer's shift: applied by us to its window field
        self._want_wscale = 0
        self.ts_ok = False
        self.sack_ok = False
        self.ts_recent = 0
        self.last_ack_sent = 0
        self._ts_off = 0
        self._sack_recent: list[int] = []  # stream indices of recent out-of-order arrivals
        # --- timers (absolute times; INF when off) and the TimerOwner field
        self.timer_at = INF
        self.rto_at = INF
        self.persist_at = INF
        self.delack_at = INF
        self.timewait_at = INF
        self._persist_backoff = 0
        self._sws_override = False  # the persist timer forces a small segment out
        self.rto_est = cfg.new_rto()
        self._rtt_seq: int | None = None  # Karn: the one segment being timed (no timestamps)
        self._rtt_time = 0.0
        self.retries = 0
        # TSval of the first timer retransmission of this loss episode: echoes older than it
        # time the original transmission and would inflate the RTT (Linux's retrans_stamp)
        self._retrans_ts: int | None = None
        self._syn_retransmitted = False
        self.from_cookie = False  # opened by a returning SYN cookie (no handshake RTT sample)
        self._unacked_rcv = 0  # bytes received since our last ACK (delayed ACK)
        self._last_send = 0.0
        # --- congestion control and loss recovery
        self.cc = cfg.new_cc()
        self.dupacks = 0
        self.in_recovery = False
        self.recover = 0  # RFC 6582: initialised to the ISS
        # RFC 6675: the SACK scoreboard, in 64-bit offsets from the ISS (no wraparound)
        self.sack_board = SackScoreboard()
        self.sack_recovery = False  # in loss recovery driven by the scoreboard
        self._una_off = 0  # offset of SND.UNA
        self._high_rxt = 0  # RFC 6675 HighRxt, as an offset
        # --- application
        self.notify: Callable[[str], None] | None = None
        self.error: TcpError | None = None
        self.soft_error: TcpError | None = None
        # --- statistics
        self.segs_out = 0
        self.segs_in = 0
        self.data_segs_out = 0
        self.bytes_acked = 0
        self.bytes_received = 0
        self.retransmissions = 0
        self.timeouts = 0
        self.fast_retransmits = 0
        self.sack_recoveries = 0
        self.challenge_acks = 0
        self._last_oow_ack = -INF

    # ================================================================== state machine
    def _transition(self, event: Event, now: float) -> None:
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
        self._sbuf = bytearray()
        self.reasm = self.cfg.reassembler_factory()
        self.layer.remove(self)

    def _fail(self, error: TcpError, event: Event, now: float) -> None:
        self.error = error
        if self.state is not CLOSED:
            self._transition(event, now)
        self._notify("error")

    def _notify(self, event: str) -> None:
        if self.notify is not None:
            self.notify(event)

    @property
    def closed(self) -> bool:
        return self.state is CLOSED

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
        key = self.cfg.isn_key
        self.iss = make_isn(key, now, self.local_ip, self.local_port, self.remote_ip,
                            self.remote_port) if iss is None else iss
        self.snd_una = self.iss
        self.recover = self.iss
        self.snd_nxt = self.snd_max = (self.iss + 1) & MASK
        self._sseq = self.snd_nxt
        self._ts_off = ts_offset(key, self.local_ip, self.remote_ip)

    def _take_syn(self, syn: TCPSegment, now: float) -> None:
        """Record the peer's SYN: IRS, RCV.NXT and its options."""
        self.irs = syn.seq
        self.rcv_nxt = (syn.seq + 1) & MASK
        self._index_base = self.rcv_nxt
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
        # RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS, our MMS) - option bytes per segment
        self.snd_mss = min(self.peer_mss, mss_local) - (12 if self.ts_ok else 0)
        self.snd_mss = max(self.snd_mss, 64)

    @staticmethod
    def _wscale_for(rcvbuf: int) -> int:
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
            opts += [_NOP, WindowScaleOption(shift)]
        return encode_options(opts)

    @property
    def _peer_offered_ws(self) -> bool:
        return self.rcv_wscale != 0 or self.snd_wscale != 0

    def _send_syn(self, now: float, ack: bool) -> None:
        flags = SYN | ACK if ack else SYN
        # The window in a SYN or SYN-ACK is not scaled (RFC 7323 §2.2).
        window = min(self.cfg.rcvbuf, 0xFFFF)
        self.rcv_adv = (self.rcv_nxt + window) & MASK
        retransmit = self.retries > 0
        if self.segs_out == 0:
            self._rtt_time = now  # RFC 6298 §3: the handshake is timed from our first SYN
        self._emit_raw(self.iss, flags, b"", self._syn_options(ack), window, now, retransmit)
        if self.rto_at == INF:
            self.rto_at = now + self.rto_est.rto
            self._arm()

    def _established(self, now: float) -> None:
        """Both SYNs are acknowledged: set up the data phase."""
        if self._syn_retransmitted:
            self.rto_est.on_syn_timeout_done()  # RFC 6298 (5.7)
        self._synced = True
        self.retries = 0
        self.cc.init(self.snd_mss, now)
        self._trace_cwnd(now, "init")
        self._notify("established")

    # ================================================================== application calls
    @property
    def send_space(self) -> int:
        return max(0, self.cfg.sndbuf - (len(self._sbuf) - self._shead))

    @property
    def readable(self) -> int:
        return len(self._rbuf)

    @property
    def at_eof(self) -> bool:
        """The peer's FIN has arrived and all data before it has been read."""
        return self.fin_received and not self._rbuf

    @property
    def unsent(self) -> int:
        return seq_diff(self._data_end(), self.snd_nxt) if self.state is not CLOSED else 0

    @property
    def flight(self) -> int:
        return seq_diff(self.snd_nxt, self.snd_una)

    def send(self, data: bytes, now: float) -> int:
        """Queue up to `send_space` bytes; returns how many were taken."""
        if self.error is not None:
            raise self.error
        if self.fin_queued or self.state not in CAN_SEND and self.state not in (
                SYN_SENT, SYN_RECEIVED):
            raise ConnectionClosed(f"TCP {self.name}: cannot send in state {self.state}"
                                   + (" after shutdown" if self.fin_queued else ""))
        take = min(len(data), self.send_space)
        if take:
            if self._shead > 65536 and self._shead * 2 > len(self._sbuf):
                del self._sbuf[:self._shead]
                self._shead = 0
            self._sbuf += data[:take] if take < len(data) else data
            if self.state in CAN_SEND:
                self._output(now)
        return take

    def recv(self, max_bytes: int, now: float) -> bytes:
        """Up to `max_bytes` of in-order data (b"" when none; see `at_eof`)."""
        if not self._rbuf:
            if self.error is not None and not isinstance(self.error, ConnectionClosed):
                raise self.error
            return b""
        out = bytes(self._rbuf[:max_bytes])
        del self._rbuf[:max_bytes]
        # A window update when reading opened a window that had become small — at most
        # half the buffer and under 16 segments, so it could throttle the sender — and the
        # window would at least double, by no less than min(RCV.BUFF/2, MSS) (RFC 1122
        # §4.2.3.3; Linux's rule is alike). Otherwise the next ACK carries the larger
        # window (so the 64 kB window of the handshake needs no update of its own).
        if self.state in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
            rcvbuf = self.cfg.rcvbuf
            cur = max(0, seq_diff(self.rcv_adv, self.rcv_nxt))
            new = min(rcvbuf - len(self._rbuf), 0xFFFF << self.rcv_wscale)
            if cur <= min(rcvbuf // 2, 16 * self.snd_mss) and new >= 2 * cur and \
                    new - cur >= min(rcvbuf // 2, self.snd_mss):
                self._send_ack(now)
        return out

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
        if self._rbuf and self.state in SYNCHRONIZED:
            # RFC 1122 §4.2.2.13 / RFC 2525 §2.17: closing with unread data resets the
            # connection, so the peer learns that the data was not consumed
            self._rbuf = bytearray()
            self.stack.tcp_counts["close_with_unread_data"] += 1
            self.abort(now)
            return
        self._rbuf = bytearray()
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
    def segment_arrives(self, seg: TCPSegment, now: float) -> None:
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
            self._send_syn(now, ack=True)
            return
        # --- RFC 9293 §3.10.7.4 first: the acceptability test
        if not self._acceptable(seq, plen, flags):
            if not flags & RST:
                if state is TIME_WAIT and flags & FIN:
                    self.timewait_at = now + 2 * self.cfg.msl  # a retransmitted FIN
                    self._arm()
                # a segment without data or SYN is answered at most once per
                # invalid_ratelimit (Linux's tcp_oow_rate_limited): no ACK storms
                if plen or flags & (SYN | FIN) or not self._oow_limited(now):
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
                self._send_syn(now, ack=True)  # the peer lost our SYN-ACK
                return
            self._challenge_ack(now)
            return
        # --- fifth: the ACK field
        if not flags & ACK:
            self.stack.drop("tcp", "no_ack", self.name)
            return
        if self.ts_ok:
            self._update_ts_recent(seg)
        if state is SYN_RECEIVED or not self._synced and state is FIN_WAIT_1:
            # (FIN-WAIT-1 here: the application closed in SYN-RECEIVED, RFC 9293 §3.10.4)
            if seq_lt(self.snd_una, seg.ack) and seq_le(seg.ack, self.snd_nxt):
                if self.listener is not None and not self.listener.may_establish(self):
                    self.stack.drop("tcp", "accept_queue_full", self.name)
                    return
                if state is SYN_RECEIVED:
                    self._transition(Event.RCV_ACK_OF_SYN, now)
                self.snd_una = seg.ack
                self.snd_wnd = seg.window << self.snd_wscale
                self.max_snd_wnd = max(self.max_snd_wnd, self.snd_wnd)
                self.snd_wl1, self.snd_wl2 = seq, seg.ack
                self.rto_at = INF
                self._rtt_from_ack(seg, now, True)
                self._established(now)
                if self.listener is not None:
                    self.listener.established(self, now)
                state = self.state
            else:
                # RFC 9293: an unacceptable ACK in SYN-RECEIVED gets <SEQ=SEG.ACK><CTL=RST>
                self.layer.send_rst(self.local_ip, self.remote_ip, self.local_port,
                                    self.remote_port, seg.ack, 0, RST, now)
                return
        if not self._process_ack(seg, now) or self.closed:
            return
        # --- seventh: the segment text
        if plen or flags & FIN:
            self._receive_data(seg, now)
        if not self.closed:
            self._output(now)

    def _acceptable(self, seq: int, plen: int, flags: int) -> bool:
        """RFC 9293 §3.10.7.4, the four cases of the segment acceptability test."""
        rcv_nxt = self.rcv_nxt
        wnd = seq_diff(self.rcv_adv, rcv_nxt)
        if wnd < 0:
            wnd = 0
        if plen == 0:
            if wnd == 0:
                return seq == rcv_nxt
            return ((seq - rcv_nxt) & MASK) < wnd
        if wnd == 0:
            return False
        return ((seq - rcv_nxt) & MASK) < wnd or ((seq + plen - 1 - rcv_nxt) & MASK) < wnd

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
            self.rto_at = INF
            if self.ts_ok:
                self.ts_recent = self._seg_tsval(seg)
            self._rtt_from_ack(seg, now, True)
            self._established(now)
            self._send_ack(now)
            self._output(now)
        else:
            # Simultaneous open (RFC 9293 Figure 8): SYN-RECEIVED, send SYN,ACK
            self._transition(Event.RCV_SYN, now)
            self.snd_nxt = (self.iss + 1) & MASK
            self._send_syn(now, ack=True)

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

    def _oow_limited(self, now: float) -> bool:
        """RFC 5961 §7 (ACK throttling), per connection as Linux: True if an answer to an
        out-of-window segment or a challenge ACK went out less than `invalid_ratelimit` ago."""
        if now - self._last_oow_ack < self.cfg.invalid_ratelimit:
            self.stack.tcp_counts["oow_ack_limited"] += 1
            return True
        self._last_oow_ack = now
        return False

    def _challenge_ack(self, now: float) -> None:
        """RFC 5961 §3.2/§4.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
        if self._oow_limited(now):
            return
        self.challenge_acks += 1
        self.stack.tcp_counts["challenge_ack"] += 1
        self._send_ack(now)

    def _seg_tsval(self, seg: TCPSegment) -> int:
        for opt in seg.options:
            if isinstance(opt, TimestampOption):
                return opt.tsval
        return self.ts_recent

    def _update_ts_recent(self, seg: TCPSegment) -> None:
        # RFC 7323 §4.3: TS.Recent <- SEG.TSval if SEG.TSval >= TS.Recent and
        # SEG.SEQ <= Last.ACK.sent
        for opt in seg.options:
            if isinstance(opt, TimestampOption):
                if seq_ge(opt.tsval, self.ts_recent) and seq_le(seg.seq, self.last_ack_sent):
                    self.ts_recent = opt.tsval
                return

    # ------------------------------------------------------------------ ACK processing
    def _process_ack(self, seg: TCPSegment, now: float) -> bool:
        """RFC 9293 §3.10.7.4 fifth step in synchronized states. False: stop processing."""
        ack = seg.ack
        una = self.snd_una
        # RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
        if seq_gt(ack, self.snd_max):
            self.stack.drop("tcp", "ack_of_unsent", self.name)
            self._send_ack(now)
            return False
        if seq_lt(ack, (una - self.max_snd_wnd) & MASK):
            self.stack.drop("tcp", "ack_too_old", self.name)
            self._challenge_ack(now)
            return False
        wnd = seg.window << self.snd_wscale
        if self.sack_ok and len(seg.options) > (3 if self.ts_ok else 0):
            self._take_sack(seg, una)
        if seq_gt(ack, una):
            self._new_ack(seg, ack, wnd, now)
        elif ack == una:
            # RFC 5681 §2: a duplicate ACK carries no data, no SYN/FIN, the same window,
            # and arrives while data is outstanding.
            # Answers to zero-window probes (the persist timer runs) do not count, as in
            # 4.4BSD, where only ACKs while the retransmission timer runs are duplicates.
            if not seg.payload and not seg.flags & (SYN | FIN) and wnd == self.snd_wnd and \
                    self.snd_max != una and self.persist_at == INF:
                self._dup_ack(seg, now)
        # Window update (RFC 9293 §3.10.7.4): if SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ
        # and SND.WL2 =< SEG.ACK)
        if seq_lt(self.snd_wl1, seg.seq) or (self.snd_wl1 == seg.seq and
                                              seq_le(self.snd_wl2, ack)):
            opened = wnd > self.snd_wnd
            self.snd_wnd = wnd
            self.snd_wl1, self.snd_wl2 = seg.seq, ack
            if wnd > self.max_snd_wnd:
                self.max_snd_wnd = wnd
            if wnd and self.persist_at != INF:
                self.persist_at = INF  # the window opened: no more probes
                self._persist_backoff = 0
                # A probe byte the receiver refused is sent again from SND.UNA (as BSD
                # does), not left as a hole for the retransmission timer to find.
                self.snd_nxt = self.snd_una
                if self.snd_nxt != self.snd_una and self.rto_at == INF:
                    self.rto_at = now + self.rto_est.rto
                    self._arm()
            elif opened:
                pass
        return True

    def _new_ack(self, seg: TCPSegment, ack: int, wnd: int, now: float) -> None:
        una = self.snd_una
        acked = seq_diff(ack, una)
        self.snd_una = ack
        self._una_off += acked
        if self.sack_board.starts:
            self.sack_board.advance(self._una_off)
        if seq_lt(self.snd_nxt, ack):
            self.snd_nxt = ack  # after a go-back-N retransmission the peer had more
        # Drop acknowledged bytes from the send buffer (SYN and FIN take no buffer space).
        data_acked = seq_diff(ack, self._sseq)
        if data_acked > 0:
            held = len(self._sbuf) - self._shead
            n = min(data_acked, held)
            self._shead += n
            self._sseq = (self._sseq + n) & MASK
            if self._shead == len(self._sbuf):
                self._sbuf.clear()
                self._shead = 0
            self.bytes_acked += n
        self.retries = 0
        rtt = self._rtt_from_ack(seg, now, False)
        if self._retrans_ts is not None and seq_ge(ack, self.recover):
            self._retrans_ts = None  # everything sent before the timeout is acknowledged
        flight = seq_diff(self.snd_max, ack)
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
                self.rto_at = now + self.rto_est.rto
                self._arm()
                self._trace_cwnd(now, "partial_ack")
            else:
                # RFC 6582 §3.2 step 4 (partial acknowledgment): retransmit the first
                # unacknowledged segment, deflate, and reset the timer
                cc.on_partial_ack(acked, flight, now)
                self._retransmit_head(now)
                self.rto_at = now + self.rto_est.rto
                self._arm()
                self._trace_cwnd(now, "partial_ack")
        else:
            cc.on_ack(acked, rtt, flight, now)
            if self.trace is not None:
                self._trace_cwnd(now, "ack")
        if not self.in_recovery:
            # (in NewReno recovery each further dup ACK still inflates cwnd, RFC 6582 §3.2
            # step 4: the count goes on across partial ACKs)
            self.dupacks = 0
        # RFC 6298 (5.2)/(5.3): stop the timer when all is acked, else restart it
        if ack == self.snd_max:
            self.rto_at = INF
        elif not self.in_recovery:
            self.rto_at = now + self.rto_est.rto
            self._arm()
        # Our FIN acknowledged?
        if self.fin_queued and seq_gt(ack, self._data_end()):
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

    def _dup_ack(self, seg: TCPSegment, now: float) -> None:
        self.dupacks += 1
        self.stack.tcp_counts["dupacks"] += 1
        flight = self.flight
        if self.in_recovery:
            if not self.sack_recovery:  # with SACK, the pipe estimate replaces inflation
                self.cc.on_dup_ack(self.dupacks, flight, now)
                self._trace_cwnd(now, "dupack")
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
                cwnd = self.cc.cwnd
                if flight > cwnd:
                    flight = max(cwnd, flight - 2 * self.snd_mss)
                self._enter_recovery(flight, now)
                return
        # Outside recovery a duplicate ACK changes no window (RFC 5681 §3.2: inflation is
        # part of fast recovery only); limited transmit is done in _output.

    def _enter_recovery(self, flight: int, now: float) -> None:
        self.recover = self.snd_max
        self.in_recovery = True
        self.cc.on_loss(flight, now)
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

    def _take_sack(self, seg: TCPSegment, una: int) -> None:
        """Record the SACK blocks of an ACK in the scoreboard (RFC 6675 §5, Update())."""
        for opt in seg.options:
            if opt.kind == OPT_SACK:
                top = seq_diff(self.snd_max, una)
                base = self._una_off
                for left, right in opt.blocks:  # type: ignore[union-attr]
                    lo, hi = seq_diff(left, una), seq_diff(right, una)
                    # Only blocks above the cumulative ACK and below SND.MAX count
                    # (a D-SACK block below SND.UNA is ignored, RFC 2883).
                    if 0 < hi <= top and lo < hi:
                        self.sack_board.add(base + max(lo, 0), base + hi)
                return

    def _sack_output(self, now: float) -> None:
        """RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg()."""
        board = self.sack_board
        mss = self.snd_mss
        dupthresh = self.cfg.dupack_threshold
        while True:
            una_off = self._una_off
            high = una_off + seq_diff(self.snd_max, self.snd_una)
            pipe = board.pipe(una_off, high, self._high_rxt, mss, dupthresh)
            if self.cc.cwnd - pipe < mss:
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
        if self.rto_at == INF and self.snd_una != self.snd_max:
            self.rto_at = now + self.rto_est.rto
            self._arm()

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
        if self.rto_at == INF:
            self.rto_at = now + self.rto_est.rto
            self._arm()
        return sent

    def _rtt_from_ack(self, seg: TCPSegment, now: float, handshake: bool) -> float | None:
        """An RTT sample for an ACK of new data: RFC 7323 §4 (RTTM) with timestamps,
        else the one timed segment, never a retransmitted one (Karn's algorithm)."""
        sample: float | None = None
        if handshake and self.from_cookie:
            pass  # when the cookie SYN-ACK left is not known
        elif self.ts_ok:
            for opt in seg.options:
                if isinstance(opt, TimestampOption):
                    if opt.tsecr and (self._retrans_ts is None or
                                      seq_ge(opt.tsecr, self._retrans_ts)):
                        ms = (self._tsval(now) - opt.tsecr) & MASK
                        if ms < 0x7FFFFFFF:
                            sample = max(ms / 1000.0, 0.0)
                    break
            if handshake and self._syn_retransmitted:
                sample = None  # a retransmitted SYN's echo may be from the first SYN
        elif handshake:
            if not self._syn_retransmitted:
                sample = now - self._rtt_time
        elif self._rtt_seq is not None and seq_gt(seg.ack, self._rtt_seq):
            sample = now - self._rtt_time
            self._rtt_seq = None
        if sample is not None:
            self.rto_est.on_sample(sample)
            if self.trace is not None:
                est = self.rto_est
                self.trace.record(RttRecord(now, self.stack.name, self.name, sample, est.srtt,
                                            est.rttvar, est.rto, est.backoffs))
        return sample

    # ------------------------------------------------------------------ data and FIN
    def _receive_data(self, seg: TCPSegment, now: float) -> None:
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
        base = self._index_base
        index = self.reasm.next_index + seq_diff(seg.seq, self.rcv_nxt)
        window_end = self.reasm.next_index + max(0, seq_diff(self.rcv_adv, self.rcv_nxt))
        in_order = seg.seq == self.rcv_nxt
        had_holes = self.reasm.pending_bytes > 0
        fin = bool(flags & FIN)
        if fin:
            self._fin_index = index + len(payload)
        data = self.reasm.insert(index, payload, fin, window_end)
        if data:
            self.bytes_received += len(data)
            self.rcv_nxt = (base + self.reasm.next_index) & MASK
            if self.app_closed:
                # Nobody will read this: reset, as for a close with unread data
                # (RFC 1122 §4.2.2.13; Linux does the same)
                self.stack.tcp_counts["data_after_close"] += 1
                self.abort(now)
                return
            self._rbuf += data
        if payload and not in_order and self.sack_ok:
            self._sack_recent.insert(0, index)
            del self._sack_recent[8:]
        fin_now = self._fin_index is not None and self.reasm.next_index >= self._fin_index \
            and not self.fin_received
        if fin_now:
            # RFC 9293 §3.10.7.4 eighth: the FIN advances RCV.NXT over itself
            self.fin_received = True
            self.rcv_nxt = (self.rcv_nxt + 1) & MASK
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
        if not in_order or had_holes or not payload:
            # RFC 5681 §4.2: an immediate ACK for out-of-order data and for data that
            # fills (part of) a hole
            self._send_ack(now)
        else:
            self._unacked_rcv += len(payload)
            # RFC 1122 §4.2.3.2 / RFC 5681 §4.2: an ACK for at least every second
            # full-sized segment, otherwise within the delayed-ACK time
            if self._unacked_rcv >= 2 * self.snd_mss or self.cfg.delayed_ack == 0:
                self._send_ack(now)
            elif self.delack_at == INF:
                self.delack_at = now + self.cfg.delayed_ack
                self._arm()
        if data and not self.app_closed:
            self._notify("readable")

    # ================================================================== output
    def _data_end(self) -> int:
        """Sequence number just past the last queued data byte (where a FIN goes)."""
        return (self._sseq + len(self._sbuf) - self._shead) & MASK

    def _output(self, now: float) -> None:
        """Send what the windows, Nagle and SWS avoidance allow (RFC 9293 §3.8.6,
        RFC 1122 §4.2.3.4)."""
        state = self.state
        if state not in (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK):
            return
        if not self.fin_queued and self.snd_nxt == \
                (self._sseq + len(self._sbuf) - self._shead) & MASK and not self.sack_recovery:
            return  # nothing queued beyond SND.NXT (the common case on a receiver)
        if self.sack_recovery:
            self._sack_output(now)
            if seq_diff(self._data_end(), self.snd_max) > 0 or not self.fin_queued:
                return
        mss = self.snd_mss
        sent = False
        while True:
            nxt = self.snd_nxt
            data_end = self._data_end()
            avail = seq_diff(data_end, nxt)
            if avail > 0:
                flight = seq_diff(nxt, self.snd_una)
                wnd = self.cc.cwnd
                if self.dupacks and not self.in_recovery:
                    # RFC 3042 limited transmit: a new segment for each of the first two
                    # duplicate ACKs, so a small window still gets three of them
                    wnd += min(self.dupacks, 2) * mss
                if self.snd_wnd < wnd:
                    wnd = self.snd_wnd
                usable = wnd - flight
                n = avail if avail < mss else mss
                if usable < n:
                    n = usable
                if n <= 0:
                    if self.snd_wnd == 0 and flight == 0 and self.persist_at == INF:
                        self._start_persist(now)
                    break
                if n < mss:
                    # Sender SWS avoidance and Nagle: a small segment goes only when it
                    # carries all queued data and nothing is unacknowledged (or NODELAY,
                    # or the connection is closing), or it fills half the peer's max window.
                    if not ((n == avail and (self.cfg.nodelay or flight == 0 or
                                             self.fin_queued))
                            or n >= self.max_snd_wnd // 2 > 0 or self._sws_override):
                        if flight == 0 and self.persist_at == INF:
                            # RFC 1122 §4.2.3.4: an override timeout, so that a small
                            # window that never grows cannot stall the sender for good
                            self._start_persist(now)
                        break
                if flight == 0 and now - self._last_send > self.rto_est.rto and \
                        self.data_segs_out:
                    self.cc.on_idle(now - self._last_send, self.rto_est.rto, now)
                    n = min(n, self.cc.cwnd)
                self._send_segment(nxt, n, now)
                nxt = (nxt + n) & MASK
                self.snd_nxt = nxt
                if seq_gt(nxt, self.snd_max):
                    self.snd_max = nxt
                sent = True
                continue
            if avail == 0 and self.fin_queued and state in (FIN_WAIT_1, LAST_ACK,
                                                             CLOSING):
                # The FIN follows the last data byte.
                retransmit = seq_lt(nxt, self.snd_max)
                self._emit(nxt, FIN | ACK, b"", now, retransmit)
                self.snd_nxt = (nxt + 1) & MASK
                if seq_gt(self.snd_nxt, self.snd_max):
                    self.snd_max = self.snd_nxt
                sent = True
            break
        if sent and self.rto_at == INF and self.persist_at == INF:
            # RFC 6298 (5.1): start the timer when sending data and it is not running
            self.rto_at = now + self.rto_est.rto
            self._arm()

    def _send_segment(self, seq: int, n: int, now: float) -> None:
        off = self._shead + seq_diff(seq, self._sseq)
        payload = bytes(self._sbuf[off:off + n])
        retransmit = seq_lt(seq, self.snd_max)
        flags = ACK
        if seq_diff(self._data_end(), seq) == n:
            flags |= PSH  # the last queued byte: push
        if not retransmit and self._rtt_seq is None and not self.ts_ok:
            self._rtt_seq = seq  # time this segment (RFC 6298 §3, Karn)
            self._rtt_time = now
        self.data_segs_out += 1
        self._last_send = now
        self._emit(seq, flags, payload, now, retransmit)

    def _send_ack(self, now: float) -> None:
        # <SEQ=SND.NXT><ACK=RCV.NXT> (RFC 9293 §3.10.7.4), but after a go-back-N timeout
        # SND.NXT lags what the peer may already hold and the ACK would be unacceptable
        # there: a pure ACK carries SND.MAX instead (as 4.4BSD tcp_output does)
        self._emit(self.snd_max, ACK, b"", now, False)

    def _tsval(self, now: float) -> int:
        return (int(now * 1000) + self._ts_off) & MASK

    def _window_field(self) -> int:
        """The window to advertise, with receiver SWS avoidance (RFC 1122 §4.2.3.3):
        the right edge moves only by min(RCV.BUFF/2, MSS) or more, and never left."""
        free = self.cfg.rcvbuf - len(self._rbuf)
        limit = 0xFFFF << self.rcv_wscale
        if free > limit:
            free = limit  # RCV.WND is what the field can say (RFC 7323 §2.3), no more
        right = (self.rcv_nxt + free) & MASK
        grow = seq_diff(right, self.rcv_adv)
        if grow > 0 and (grow >= min(self.cfg.rcvbuf // 2, self.snd_mss)
                         or self.rcv_adv == self.rcv_nxt and free >= self.snd_mss):
            self.rcv_adv = right
        wnd = seq_diff(self.rcv_adv, self.rcv_nxt)
        if wnd <= 0:
            return 0
        field = wnd >> self.rcv_wscale
        return field if field < 0xFFFF else 0xFFFF

    def _emit(self, seq: int, flags: int, payload: bytes, now: float, retransmit: bool) -> None:
        """Send one segment of the data phase (with ACK, timestamps and SACK blocks)."""
        window = self._window_field()
        opts = b""
        # `options`: `opts` decoded, as the receiver would parse them
        options: tuple[TCPOption, ...] = ()
        if self.ts_ok:
            tsval = self._tsval(now)
            opts = _TS_HEAD + _II.pack(tsval, self.ts_recent)
            options = (NOP, NOP, _new(TimestampOption, (tsval, self.ts_recent, OPT_TIMESTAMPS)))
        if self.sack_ok and self.reasm.pending_bytes:
            # RFC 9293 §3.7.1: data and options together fit the MSS, so SACK blocks go
            # only into the option space a data segment leaves free
            space = self.snd_mss + len(opts) - len(payload) if payload else 40
            blocks = self._sack_blocks(len(opts), space)
            if blocks:
                opts += _NOP_NOP_SACK[len(blocks)]
                for left, right in blocks:
                    opts += _II.pack(left, right)
                options += (NOP, NOP, SackOption(blocks))
        self._emit_raw(seq, flags, payload, opts, window, now, retransmit, options)

    def _emit_raw(self, seq: int, flags: int, payload: bytes, opts: bytes, window: int,
                  now: float, retransmit: bool = False,
                  options: tuple[TCPOption, ...] | None = None) -> None:
        """Send a segment; `options` is `opts` decoded, when the caller knows it."""
        ack = self.rcv_nxt if flags & ACK else 0
        if options is None:
            options = decode_options(opts)
        # what parsing its bytes gives, but for the checksum, computed only if the bytes are
        # built (netsim.wire.lazyframe)
        segment: TCPSegment = _new(TCPSegment, (self.local_port, self.remote_port, seq, ack,
                                                flags, window, payload, options, 0,
                                                5 + (len(opts) >> 2), 0))
        if flags & ACK:
            self.last_ack_sent = ack
            self._unacked_rcv = 0
            self.delack_at = INF
        self.segs_out += 1
        if retransmit:
            self.retransmissions += 1
            self.stack.tcp_counts["retransmissions"] += 1
        self.stack.tcp_counts["tx"] += 1
        if self.trace is not None:
            self._trace_segment("tx", seq, ack, len(payload), flags, window, options, now,
                                retransmit)
        self.stack.send_tcp(self.local_ip, self.remote_ip, segment, opts, now)

    def _sack_blocks(self, used: int, space: int = 40) -> tuple[tuple[int, int], ...]:
        """RFC 2018 §4: up to 4 blocks (3 with timestamps), the most recently received
        first; each block a contiguous range of held out-of-order data, as the (left, right)
        sequence numbers of a SACK option that fits in `space` bytes of options of which
        `used` are taken."""
        base = self._index_base
        held = self.reasm.blocks()
        room = min(4, (min(space, 40) - used - 4) // 8)
        if room <= 0:
            return ()
        chosen: list[tuple[int, int]] = []
        for idx in self._sack_recent:
            for blk in held:
                if blk[0] <= idx < blk[1] and blk not in chosen:
                    chosen.append(blk)
                    break
            if len(chosen) >= room:
                break
        for blk in reversed(held):
            if len(chosen) >= room:
                break
            if blk not in chosen:
                chosen.append(blk)
        self._sack_recent = [i for i in self._sack_recent if any(b[0] <= i < b[1]
                                                                 for b in held)]
        return tuple([((base + left) & MASK, (base + right) & MASK) for left, right in chosen])

    # ================================================================== timers
    def _arm(self) -> None:
        soonest = min(self.rto_at, self.persist_at, self.delack_at, self.timewait_at)
        if soonest != INF:
            self.stack.timers.ensure(self, soonest)

    def on_timer(self, now: float) -> None:
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
        self._arm()

    def _on_rto(self, now: float) -> None:
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
        # RFC 6298 (5.5) back off; (5.6) restart the timer
        self.rto_est.on_timeout()
        if self.trace is not None:
            est = self.rto_est
            self.trace.record(RttRecord(now, self.stack.name, self.name, None, est.srtt,
                                        est.rttvar, est.rto, est.backoffs))
        self._rtt_seq = None  # Karn
        if syn_phase:
            self._syn_retransmitted = True
            self.rto_at = now + self.rto_est.rto
            self._send_syn(now, ack=state is SYN_RECEIVED)
            self._arm()
            return
        # RFC 5681 §3.1 (4): ssthresh from FlightSize only when the segment has not already
        # been resent by the timer; a further timeout only keeps cwnd at one segment.
        if self.retries == 1:
            self.cc.on_rto(seq_diff(self.snd_max, self.snd_una), now)
            self._retrans_ts = self._tsval(now)
        else:
            self.cc.cwnd = min(self.cc.cwnd, self.snd_mss)
        self.in_recovery = self.sack_recovery = False
        self.sack_board.clear()  # RFC 6675 §5.1: after a timeout, resend from SND.UNA
        self.dupacks = 0
        self.recover = self.snd_max
        self._event(now, "rto", f"seq {self.snd_una}")
        self._trace_cwnd(now, "rto")
        # Go back N: send again from the first unacknowledged byte (RFC 6298 (5.4)).
        self.snd_nxt = self.snd_una
        self.rto_at = now + self.rto_est.rto
        self.snd_nxt = (self.snd_una + self._retransmit_head(now)) & MASK
        if seq_gt(self.snd_nxt, self.snd_max):
            self.snd_max = self.snd_nxt
        self._arm()

    def _start_persist(self, now: float) -> None:
        # RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe a zero window, backing off
        delay = min(max(self.rto_est.rto, 0.2) * (1 << self._persist_backoff), 60.0)
        self.persist_at = now + delay
        self.rto_at = INF
        self._arm()

    def _on_persist(self, now: float) -> None:
        self._timer_record(now, "persist")
        if self.snd_wnd > 0 or self.state not in (ESTABLISHED, CLOSE_WAIT,
                                                  FIN_WAIT_1, CLOSING, LAST_ACK):
            self._persist_backoff = 0
            self._sws_override = True  # send what the small window takes (RFC 1122 §4.2.3.4)
            self._output(now)
            self._sws_override = False
            return
        self.stack.tcp_counts["window_probes"] += 1
        una = self.snd_una
        if seq_diff(self._data_end(), una) > 0:
            # A window probe: one byte at SND.UNA, past the closed window
            self._send_segment(una, 1, now)
            if seq_lt(self.snd_nxt, (una + 1) & MASK):
                self.snd_nxt = (una + 1) & MASK
                if seq_gt(self.snd_nxt, self.snd_max):
                    self.snd_max = self.snd_nxt
        else:
            self._send_ack(now)
        if self._persist_backoff < 16:
            self._persist_backoff += 1
        self._start_persist(now)

    def icmp_error(self, kind: str, now: float, mtu: int = 0) -> None:
        """An ICMP error about this connection (RFC 1122 §4.2.3.9): hard errors abort a
        connection that is still opening; everything else is a soft error. Fragmentation
        needed lowers the MSS to the path MTU (RFC 1191 §6) and resends at once."""
        if kind == "fragmentation needed" and mtu >= 68:
            new_mss = max(mtu - 40 - (12 if self.ts_ok else 0), 64)
            if new_mss < self.snd_mss:
                self.snd_mss = new_mss
                if hasattr(self.cc, "mss"):
                    self.cc.mss = new_mss
                self.stack.tcp_counts["pmtu_reductions"] += 1
                self._event(now, "pmtu", f"mtu {mtu}, mss {new_mss}")
                if self.state in SYNCHRONIZED and self.snd_una != self.snd_max:
                    self.snd_nxt = self.snd_una
                    self.snd_nxt = (self.snd_una + self._retransmit_head(now)) & MASK
                    if seq_gt(self.snd_nxt, self.snd_max):
                        self.snd_max = self.snd_nxt
            return
        err = HostUnreachable(f"{self.remote_ip}: {kind}")
        if self.state is SYN_SENT and kind in ("protocol unreachable", "port unreachable"):
            self._fail(err, Event.ABORT, now)
        else:
            self.soft_error = err

    # ================================================================== tracing
    def _trace_segment(self, direction: str, seq: int, ack: int, length: int, flags: int,
                       window: int, options: tuple[TCPOption, ...], now: float,
                       retransmit: bool) -> None:
        assert self.trace is not None
        sack: tuple[tuple[int, int], ...] = ()
        for opt in options:
            if opt.kind == OPT_SACK:
                sack = opt.blocks  # type: ignore[union-attr]
        if direction == "tx":
            seq_rel = (seq - self.iss) & MASK
            ack_rel = (ack - self.irs) & MASK if flags & ACK else 0
        else:
            seq_rel = (seq - self.irs) & MASK if self.state is not SYN_SENT else 0
            ack_rel = (ack - self.iss) & MASK if flags & ACK else 0
        self.trace.record(SegmentRecord(now, self.stack.name, self.name, direction, seq, ack,
                                        length, flags_str(flags), window,
                                        format_options(options), retransmit, sack, seq_rel,
                                        ack_rel))

    def _trace_cwnd(self, now: float, event: str) -> None:
        if self.trace is not None:
            self.trace.record(CwndRecord(now, self.stack.name, self.name, self.cc.cwnd,
                                         self.cc.ssthresh, self.flight, event))

    def _timer_record(self, now: float, timer: str) -> None:
        if self.trace is not None:
            self.trace.record(TimerRecord(now, self.stack.name, self.name, timer, "fired"))

    def _event(self, now: float, kind: str, detail: str = "") -> None:
        if self.trace is not None:
            self.trace.record(EventRecord(now, self.stack.name, self.name, kind, detail))

    def __repr__(self) -> str:
        return f"<TcpConnection {self.name} {self.state}>"


__all__ = ["TcpConnection", "OPT_SACK_PERMITTED"]
