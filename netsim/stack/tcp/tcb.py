"""The transmission control block (RFC 9293 §3.3.1): the variables of one connection.

The send sequence space (SND.UNA, SND.NXT, SND.WND, SND.WL1, SND.WL2, ISS), the receive
sequence space (RCV.NXT, RCV.WND as the right edge last advertised, IRS), the options agreed
in the handshake (RFC 7323, RFC 2018), the four timers' deadlines, loss-recovery state and
statistics. Every part of a connection works on this one block, each in its own module:

    tcb.ControlBlock                 variables, tracing, the two sequence-space helpers
    retransmit_timer.RetransmitTimer RTO arm/restart/stop, RTT samples, backoff, persist start
    receiver.Receiver                acceptability, data and FIN in, window and SACK to tell
    output.SegmentOutput             one segment out: ACK, window, timestamps, SACK blocks
    sender.Sender                    what to send now, the peer's window, persist
    recovery.LossRecovery            duplicate ACKs, NewReno (RFC 6582), SACK (RFC 6675), RTO
    handshake.Handshake              SYN, SYN-ACK, options, SYN-SENT input
    connection.TcpConnection         the state table, open/close, segment and timer dispatch

Each class extends the one before it (the parts share the block, as BSD's tcp_input.c,
tcp_output.c and tcp_timer.c share the tcpcb); methods a part needs from a later one are
declared here. The stack around a connection is `host_api.ConnectionHost`, not the Stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.errors import UsageError
from netsim.stack.events import CwndRecord, EventRecord, SegmentRecord, TimerRecord
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import TcpError
from netsim.stack.tcp.host_api import ConnectionTable, ListenerHooks
from netsim.stack.tcp.pacing import Pacer
from netsim.stack.tcp.rack import RackTlp
from netsim.stack.tcp.rate_sample import RateTracker
from netsim.stack.tcp.sack import SackScoreboard
from netsim.stack.tcp.seq import MASK, seq_diff, seq_gt
from netsim.stack.tcp.states import CLOSED, SYN_SENT, Event
from netsim.stack.timers import INF
from netsim.wire.tcp import ACK, OPT_SACK, IPAddress, TCPOption, flags_str, format_options


def seam_bytes(value: Any, call: str) -> bytes:
    """What a replaceable part (a seam) returned where bytes are due, as `bytes`: a bytes
    subclass, bytearray or memoryview is copied (so later changes to the student's buffer
    cannot reach data already handed over), anything else is a `UsageError` naming the call.
    Both builds take the same values: the compiled one would otherwise refuse all but exact
    `bytes` with a bare TypeError."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise UsageError(f"{call} returned {type(value).__name__}; it must return bytes "
                     f"(a bytearray or memoryview is taken too)")


class ControlBlock:
    """The variables of one connection (RFC 9293 §3.3.1), and its trace records."""

    __slots__ = (  # every field of a connection: no instance dict (3 kB); later parts add none
        "layer", "stack", "_tcp_counts", "_send_tcp", "cfg", "local_ip", "local_port", "remote_ip",
        "remote_port", "key", "name", "listener", "state", "_synced", "trace", "iss", "snd_una",
        "snd_nxt", "snd_max", "snd_wnd", "snd_wl1", "snd_wl2", "max_snd_wnd", "sender", "_snd_end",
        "fin_queued", "irs", "rcv_nxt", "rcv_adv", "_rq", "_rq_off", "_rlen", "receiver", "reasm",
        "_pending", "_index_base", "_field_wnd", "_field_shift", "_field", "_wf_nxt", "_wf_rlen",
        "_wf_adv", "_wf_mss", "fin_received", "app_closed", "mss_local", "peer_mss", "snd_mss",
        "rcv_wscale", "snd_wscale", "_want_wscale", "ts_ok", "sack_ok", "ts_recent",
        "last_ack_sent", "_ts_off", "_ts_val", "_ts_ecr", "_ts_opts", "_ts_options",
        "_sack_recent", "_dsack", "timer_at", "rto_at", "persist_at", "delack_at", "timewait_at",
        "_persist_backoff", "_sws_override", "rto_est", "_rtt_seq", "_rtt_time", "retries",
        "_retrans_ts", "_syn_retransmitted", "from_cookie", "_unacked_rcv", "_last_send", "cc",
        "rate", "pacer", "dupacks", "in_recovery", "recover", "sack_board", "sack_recovery",
        "_una_off", "_high_rxt", "rack", "ecn_ok", "_ecn_asked", "ecn_echo", "_ecn_cwr",
        "_ecn_high", "_ecn_recover", "_probing", "ce_received", "ecn_reductions", "notify",
        "rcv_lowat", "error", "soft_error", "segs_out", "segs_in", "data_segs_out", "bytes_acked",
        "bytes_received", "retransmissions", "timeouts", "fast_retransmits", "sack_recoveries",
        "dsacks", "challenge_acks", "_last_oow_ack", "_srtt_fresh", "_srtt_seen", "_rcvbuf")

    def __init__(self, layer: ConnectionTable, local_ip: IPAddress, local_port: int,
                 remote_ip: IPAddress, remote_port: int, cfg: TcpConfig,
                 listener: ListenerHooks | None = None) -> None:
        self.layer = layer
        self.stack = layer.stack
        # the stack's TCP counters and send_tcp (the layer's one bound method), looked up once:
        # compiled, a lookup through the protocols (per segment sent) is a generic getattr
        self._tcp_counts = self.stack.tcp_counts
        self._send_tcp = layer.send_tcp
        self.cfg = cfg
        self.local_ip, self.local_port = local_ip, local_port
        self.remote_ip, self.remote_port = remote_ip, remote_port
        self.key = (local_ip, local_port, remote_ip, remote_port)
        # (an IPv6 address in brackets before its port, as RFC 3986 writes it in a URI)
        ep = "[{}]:{}" if local_ip.version == 6 else "{}:{}"
        self.name = f"{ep.format(local_ip, local_port)}>{ep.format(remote_ip, remote_port)}"
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
        # The send side in sequence space (netsim.stack.tcp.tcp_sender): it holds the bytes
        # written and not yet acknowledged and gives the bytes at a sequence number
        self.sender = cfg.new_sender()
        # its data_end() as last asked, -1 after a call that may change it (`_data_end`)
        self._snd_end = -1
        self.fin_queued = False  # the application shut down the sending side
        # --- receive sequence space
        self.irs = 0
        self.rcv_nxt = 0
        self.rcv_adv = 0  # right edge of the window we advertised (never moves left)
        # in-order data the application has not read: the pieces as the receiver gave them
        # (a list from the first on), the bytes of the first already read, the total left
        self._rq: list[bytes] | None = None
        self._rq_off = 0
        self._rlen = 0
        # The receive side in sequence space (netsim.stack.tcp.tcp_receiver): it sets RCV.NXT
        # and the window field; its reassembler holds out-of-order data (for the ACK policy
        # and SACK blocks)
        self.receiver = cfg.new_receiver()
        self.reasm = self.receiver.reassembler
        # its reassembler's pending_bytes, taken after every segment the receiver takes
        # (`_take_ackno`): only an insert changes it, and only the receiver inserts
        self._pending = 0
        self._index_base = 0  # sequence number of stream index 0 (IRS + 1), for SACK blocks
        # the receiver's last window field and the (window, shift) it was for: a window field
        # is a function of these two (TcpReceiver.window_field), asked again only on a change
        self._field_wnd = -1
        self._field_shift = -1
        self._field = 0
        # and RCV.NXT, the bytes unread, RCV.WND's right edge and the MSS after the last call
        # (`_window_field`: with these and the shift unchanged, it gives the same field)
        self._wf_nxt = self._wf_rlen = self._wf_adv = self._wf_mss = -1
        # cfg.rcvbuf as _window_field first read it (it runs per segment sent, and a read of the
        # interpreted TcpConfig costs more than one of this block's own fields); -1: unread
        self._rcvbuf = -1
        self.fin_received = False
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
        # the last NOP, NOP, timestamps option sent, encoded and decoded, and the TSval and
        # TSecr it holds: segments sent in the same millisecond repeat it (SegmentOutput)
        self._ts_val = -1
        self._ts_ecr = -1
        self._ts_opts = b""
        self._ts_options: tuple[TCPOption, ...] = ()
        self._sack_recent: list[int] | None = None  # indices of recent out-of-order arrivals
        # RFC 2883 §4: (left, right) of the duplicate the next ACK reports first, once
        self._dsack: tuple[int, int] | None = None
        # --- timers (absolute times; INF when off) and the TimerOwner field
        self.timer_at = INF
        self.rto_at = INF
        self.persist_at = INF
        self.delack_at = INF
        self.timewait_at = INF
        self._persist_backoff = 0
        self._sws_override = False  # the persist timer forces a small segment out
        self.rto_est = cfg.new_rto()
        # its SRTT as last asked (`_srtt`), read by RACK-TLP on every ACK and data segment sent;
        # False: ask again. Only its on_sample and on_timeout calls (retransmit_timer.py) change it
        self._srtt_fresh = False
        self._srtt_seen: float | None = None
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
        # Delivery-rate samples for a controller whose class takes them (`on_rate_sample`,
        # BBR) and pacing for one whose class has a `pacing_rate`, or for any with cfg.pacing
        # (netsim.stack.tcp.delivery); None for the others, which run as without them. (The
        # class, not the object: a grader's proxy for a student's controller forwards any
        # attribute, and must not be asked for these on every connection.)
        cc_class = type(self.cc)
        self.rate: RateTracker | None = RateTracker() \
            if hasattr(cc_class, "on_rate_sample") else None
        self.pacer: Pacer | None = Pacer(self.stack.timers, self._output) \
            if cfg.pacing or hasattr(cc_class, "pacing_rate") else None
        self.dupacks = 0
        self.in_recovery = False
        self.recover = 0  # RFC 6582: initialised to the ISS
        # RFC 6675: the SACK scoreboard, in 64-bit offsets from the ISS (no wraparound)
        self.sack_board = SackScoreboard()
        self.sack_recovery = False  # in loss recovery driven by the scoreboard
        self._una_off = 0  # offset of SND.UNA
        self._high_rxt = 0  # RFC 6675 HighRxt, as an offset
        # RFC 8985 RACK-TLP state (netsim.stack.tcp.rack); None: DupAck counting only
        self.rack: RackTlp | None = RackTlp(cfg.dupack_threshold) if cfg.rack else None
        # --- ECN (RFC 3168 §6.1, netsim.stack.tcp.ecn)
        self.ecn_ok = False  # agreed in the handshake: new data leaves ECT(0)
        self._ecn_asked = False  # our SYN (the last one sent) was an ECN-setup SYN
        self.ecn_echo = False  # receiver: CE seen, ECE on every ACK until a CWR arrives
        self._ecn_cwr = False  # sender: CWR on the next new data segment
        self._ecn_high = 0  # sender: SND.MAX at the last ECE reduction (once per window)
        self._ecn_recover = 0  # sender: `recover` last seen (a loss reduction moves it)
        self._probing = False  # a window probe is being sent (no ECT on it)
        self.ce_received = 0  # CE-marked segments received
        self.ecn_reductions = 0  # window reductions for an ECN-Echo
        # --- application
        self.notify: Callable[[str], None] | None = None
        # "readable" for data in order (not the FIN's) only once this many bytes are unread,
        # as SO_RCVLOWAT: netsim.sockets raises it while no read of that size is waiting
        self.rcv_lowat = 1
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
        self.dsacks = 0  # D-SACK blocks: duplicates reported (RFC 2883 §5)
        self.challenge_acks = 0
        self._last_oow_ack = -INF

    # ================================================================== sequence space
    @property
    def closed(self) -> bool:
        return self.state is CLOSED

    @property
    def flight(self) -> int:
        return seq_diff(self.snd_nxt, self.snd_una)

    def _set_snd_nxt(self, nxt: int) -> None:
        """SND.NXT = `nxt`, and SND.MAX (the highest sent + 1) follows it up."""
        self.snd_nxt = nxt
        if seq_gt(nxt, self.snd_max):
            self.snd_max = nxt

    def _data_end(self) -> int:
        """Sequence number just past the last queued data byte (where a FIN goes): the
        sender's `data_end()`, asked again only after a call that may change it (start,
        write, acknowledge, a new sender: `_snd_end` is -1 then). In between the TcpSender
        contract fixes the answer (it is ISN + 1 + the bytes written), and a connection asked
        it about twice per segment, often with nothing written or acknowledged since."""
        end = self._snd_end
        if end < 0:
            end = self._snd_end = self.sender.data_end()
        return end

    def _tsval(self, now: float) -> int:
        """Our TSval: a millisecond clock with a per-connection offset (RFC 7323 §5.4)."""
        return (int(now * 1000) + self._ts_off) & MASK

    # ================================================================== later parts
    # Declared here so that every part can call them; each is defined in the module named.
    def _arm(self) -> None:  # retransmit_timer
        raise NotImplementedError

    def on_timer(self, now: float) -> None:  # connection (the timer queue calls it)
        raise NotImplementedError

    def _emit(self, seq: int, flags: int, payload: bytes, now: float,
              retransmit: bool) -> None:  # output
        raise NotImplementedError

    def _send_ack(self, now: float) -> None:  # output
        raise NotImplementedError

    def _output(self, now: float) -> None:  # sender
        raise NotImplementedError

    def _send_segment(self, seq: int, n: int, now: float) -> None:  # sender
        raise NotImplementedError

    def _sack_output(self, now: float) -> None:  # recovery
        raise NotImplementedError

    def _retransmit_head(self, now: float) -> int:  # recovery
        raise NotImplementedError

    def _send_syn(self, now: float, ack: bool) -> None:  # handshake
        raise NotImplementedError

    def _transition(self, event: Event, now: float) -> None:  # connection
        raise NotImplementedError

    def abort(self, now: float) -> None:  # connection
        raise NotImplementedError

    # ================================================================== application
    def _notify(self, event: str) -> None:
        if self.notify is not None:
            self.notify(event)

    def _fail(self, error: TcpError, event: Event, now: float) -> None:
        """The connection ends with `error` (reset, refused, timed out)."""
        self.error = error
        if self.state is not CLOSED:
            self._transition(event, now)
        self._notify("error")

    def _take(self, n: int) -> bytes:
        """The first `n` bytes of the receive buffer (`Receiver.recv`), taken out of it. The
        buffer holds the in-order pieces as they came (no copy on arrival); a read of exactly
        one whole piece hands it over as it is, any other read copies once (slice or join)."""
        q = self._rq
        assert q is not None  # (recv calls it with bytes unread)
        off = self._rq_off
        if n >= self._rlen and off == 0:  # all of it (the usual read of a bulk reader)
            out = q[0] if len(q) == 1 else b"".join(q)
            q.clear()
            self._rlen = 0
            return out
        head = q[0]
        left = len(head) - off  # what is left of the first piece
        if n < left:
            self._rq_off = off + n
            self._rlen -= n
            return head[off:off + n]
        if n == left and off == 0:  # exactly the first piece: as it is
            del q[0]
            self._rlen -= left
            return head
        parts: list[bytes | memoryview] = [head if off == 0 else memoryview(head)[off:]]
        got = left
        self._rq_off = 0
        i = 1
        count = len(q)
        while i < count and got < n:
            piece = q[i]
            size = len(piece)
            if got + size > n:  # the read ends inside this piece: the rest stays
                self._rq_off = n - got
                parts.append(memoryview(piece)[:n - got])
                got = n
                break
            parts.append(piece)
            got += size
            i += 1
        del q[:i]
        self._rlen -= got
        return b"".join(parts)

    def _discard_unread(self) -> None:
        """Empty the receive buffer (the application closed without reading it)."""
        self._rq = None
        self._rq_off = 0
        self._rlen = 0

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
