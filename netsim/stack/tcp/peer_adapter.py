"""Put a TcpPeer — any object with assignment 10's interface (netsim's `LabPeer`, or a
student's `TcpPeer`) — on a netsim stack as a real TCP endpoint, in simulation and live.

The peer speaks plain 7-tuples ``(seqno, ackno, window, syn, fin, rst, payload)``
(netsim.stack.tcp.lab_peer); this module turns them into TCP segments and back:

- `listen_peer(stack, port, factory)`: every SYN to `port` gets a new peer from `factory`
  (one peer per connection, as a listening socket makes one socket per connection);
- `connect_peer(stack, ip, port, peer)`: the peer opens a connection from an ephemeral port.

Segments for those ports reach the adapter through the TCP layer's `peer_ports` (looked at
only when no ordinary connection matches a segment). The adapter adds the MSS option
(= max_payload) to a SYN and ignores the other side's options but MSS; it never offers
window scaling, so the window field is in bytes. Time reaches the peer through `tick`, every
`tick_interval` seconds from the stack's timer queue while the peer is active.

Whatever the peer returns is checked before anything is sent: a list of 7-tuples of the
right types, sequence numbers in 32 bits, a window in 16, payload at most `max_payload`, no
RST with SYN, FIN or data. A bad value (or an exception from the peer) ends that connection
with a one-line `PeerError` in `PeerConnection.error`, sends a RST if the peer had sent
anything, and never raises into the stack. Each connection counts its segments and
retransmissions and writes the same trace records (`SegmentRecord`) as netsim's connections,
so the time-sequence graph (netsim.trace.plots) draws a peer's connection too.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address
from typing import Any

from netsim.errors import UsageError
from netsim.stack.events import SegmentRecord, Tracer
from netsim.stack.host import Stack
from netsim.stack.tcp.layer import ConnKey
from netsim.stack.tcp.peer_checks import (
    MASK,
    PeerError,
    Seg,
    check_bool,
    check_segments,
    is_int,
    raised,
    shown,
)
from netsim.stack.timers import INF
from netsim.wire.ipv4 import intern_ip
from netsim.wire.tcp import (
    ACK,
    FIN,
    OPT_MSS,
    PSH,
    RST,
    SYN,
    IPAddress,
    MSSOption,
    TCPSegment,
    build_tcp,
    encode_options,
    flags_str,
)

__all__ = ["PeerConnection", "PeerError", "PeerListener", "check_segments", "connect_peer",
           "listen_peer", "raised"]

#: factory(isn=, initial_rto=, max_payload=, capacity=) -> a TcpPeer
PeerFactory = Callable[..., Any]


class PeerConnection:
    """One TCP connection whose endpoint on `stack` is `peer`. The application side (`write`,
    `close`, `read`, `at_eof`) calls the peer and sends what it returns; `notify(self)` is
    called after every segment that arrived, call of the application, tick that sent
    something, and at the end."""

    def __init__(self, stack: Stack, peer: Any, key: ConnKey, max_payload: int,
                 tick_interval: float, remove: Callable[[PeerConnection], None]) -> None:
        self.stack = stack
        self.peer = peer
        self.key = key
        self.local_ip, self.local_port, self.remote_ip, self.remote_port = key
        ep = "[{}]:{}" if self.local_ip.version == 6 else "{}:{}"
        self.name = f"{ep.format(self.local_ip, self.local_port)}>" \
                    f"{ep.format(self.remote_ip, self.remote_port)}"
        self.max_payload = max_payload
        self.tick_interval = tick_interval
        self._remove = remove
        tracer = stack.trace
        self.trace: Tracer | None = tracer if stack.tcp.cfg.trace_connections and \
            getattr(tracer, "enabled", True) else None
        self.notify: Callable[[PeerConnection], None] | None = None
        self.timer_at = INF  # (the TimerQueue's field)
        self.last_tick = stack.now
        self.closed = False  # the peer is no longer active (or failed)
        self.error: PeerError | None = None
        # counters
        self.segs_out = 0
        self.segs_in = 0
        self.retransmissions = 0  # segments whose sequence numbers were all sent before
        self.rst_sent = False
        self.rst_received = False  # a RST arrived (acceptable or not)
        self.reset = False  # a RST arrived and the peer took it: it became inactive
        self._iss: int | None = None  # the peer's ISN (its SYN's seqno), for relative numbers
        self._irs: int | None = None  # the other side's ISN
        self._high = 0  # relative end of the highest sequence number the peer sent

    # ------------------------------------------------------------ calling the peer
    def _call(self, name: str, *args: Any) -> Any:
        """peer.name(*args), or PeerError (one line) if it raised."""
        try:
            return getattr(self.peer, name)(*args)
        except Exception as exc:
            raise PeerError(f"{name}() raised {raised(exc)}") from None

    def run(self, name: str, *args: Any) -> None:
        """Call a method of the peer that returns segments, send them, and see whether the
        peer is still active; a bad answer ends the connection (`fail`)."""
        if self.closed:
            return
        try:
            segs = check_segments(self._call(name, *args), f"{name}()", self.max_payload)
            for seg in segs:
                self._send(seg)
            active = check_bool(self._call("active"), "active()")
        except PeerError as exc:
            self.fail(exc)
            return
        if not active:
            self._finish()
        elif self.timer_at == INF:
            self.stack.timers.ensure(self, self.stack.now + self.tick_interval)
        # (a tick that sent nothing changed nothing the application can see: no call)
        if self.notify is not None and (segs or not active or name != "tick"):
            self.notify(self)

    # ---------------------------------------------------------- the application side
    def write(self, data: bytes) -> None:
        self.run("write", bytes(data))

    def close(self) -> None:
        self.run("close")

    def read(self) -> bytes:
        """The bytes the peer has in order for the application ("" after a failure)."""
        if self.error is not None:
            return b""
        try:
            data = self._call("read")
            if not isinstance(data, bytes):
                raise PeerError(f"read() returned {shown(data)}; it must return bytes")
        except PeerError as exc:
            self.fail(exc)
            return b""
        return data

    def at_eof(self) -> bool:
        if self.error is not None:
            return False
        try:
            return check_bool(self._call("at_eof"), "at_eof()")
        except PeerError as exc:
            self.fail(exc)
            return False

    # ---------------------------------------------------------------- the wire
    def segment_input(self, src: IPAddress, dst: IPAddress, seg: TCPSegment,
                      now: float) -> None:
        """The layer's handler of the port this connection owns (an active open)."""
        if (dst, seg.dst_port, src, seg.src_port) == self.key:
            self.segment_arrives(seg, now)
        elif seg.flags & ACK:  # not our connection: as a closed port (RFC 9293 §3.10.7.1)
            self.stack.tcp.send_rst(dst, src, seg.dst_port, seg.src_port, seg.ack, 0, RST, now)
        elif not seg.flags & RST:
            self.stack.tcp.send_rst(dst, src, seg.dst_port, seg.src_port, 0,
                                    (seg.seq + seg.seg_len) & MASK, RST | ACK, now)

    def segment_arrives(self, seg: TCPSegment, now: float) -> None:
        self.stack.now = now
        self.segs_in += 1
        flags = seg.flags
        if flags & SYN and self._irs is None:
            self._irs = seg.seq
        if flags & RST:
            self.rst_received = True
        if self.trace is not None:
            self._record("rx", seg.seq, seg.ack, len(seg.payload), flags, seg.window, False)
        ackno = seg.ack if flags & ACK else None
        was_closed = self.closed
        self.run("receive", (seg.seq, ackno, seg.window, bool(flags & SYN), bool(flags & FIN),
                             bool(flags & RST), bytes(seg.payload)))
        if flags & RST and self.closed and not was_closed and self.error is None:
            self.reset = True

    def on_timer(self, now: float) -> None:
        """The stack's timer queue: time passed; tell the peer (and keep ticking while
        it is active)."""
        elapsed = max(0.0, now - self.last_tick)
        self.last_tick = now
        self.run("tick", elapsed)

    def _send(self, seg: Seg) -> None:
        seqno, ackno, window, syn, fin, rst, payload = seg
        flags = (SYN if syn else 0) | (FIN if fin else 0) | (RST if rst else 0) | \
            (ACK if ackno is not None else 0) | (PSH if payload else 0)
        # the adapter's one option: MSS on a SYN (RFC 9293 §3.7.1, the maximum segment size)
        opts = encode_options([MSSOption(self.max_payload)]) if syn else b""
        if syn and self._iss is None:
            self._iss = seqno
        length = len(payload) + syn + fin
        retransmit = False
        if length and self._iss is not None:
            end = ((seqno - self._iss) & MASK) + length
            retransmit = end <= self._high
            self._high = max(self._high, end)
        self.segs_out += 1
        self.retransmissions += retransmit
        counts = self.stack.tcp_counts
        counts["tx"] += 1
        if retransmit:
            counts["retransmissions"] += 1
        if rst:
            counts["tx_rst"] += 1
            self.rst_sent = True
        if self.trace is not None:
            self._record("tx", seqno, ackno or 0, len(payload), flags, window, retransmit,
                         "mss " + str(self.max_payload) if syn else "")
        raw = build_tcp(self.local_ip, self.remote_ip, self.local_port, self.remote_port,
                        seqno, ackno or 0, flags, window, payload, opts)
        self.stack.tcp.send_raw(self.local_ip, self.remote_ip, raw, self.stack.now)

    def _record(self, direction: str, seq: int, ack: int, length: int, flags: int,
                window: int, retransmit: bool, options: str = "") -> None:
        assert self.trace is not None
        mine, theirs = (self._iss, self._irs) if direction == "tx" else (self._irs, self._iss)
        seq_rel = (seq - mine) & MASK if mine is not None else 0
        ack_rel = (ack - theirs) & MASK if flags & ACK and theirs is not None else 0
        self.trace.record(SegmentRecord(self.stack.now, self.stack.name, self.name, direction,
                                        seq, ack, length, flags_str(flags), window, options,
                                        retransmit, (), seq_rel, ack_rel))

    # -------------------------------------------------------------------- the end
    def fail(self, error: PeerError) -> None:
        """The peer broke the interface: stop here, and tell the other side with a RST
        (RFC 9293 §3.10.5, ABORT call): after the highest sequence number the peer sent; if
        it sent nothing, one acknowledging the other side's SYN, as a closed port answers
        (§3.10.7.1), so a connection that never opened is refused at once."""
        if self.closed:
            return
        self.error = error
        self.stack.tcp_counts["peer_errors"] += 1
        if self._iss is not None and not self.rst_sent:
            self._send(((self._iss + self._high) & MASK, None, 0, False, False, True, b""))
        elif self._iss is None and self._irs is not None:
            self._send((0, (self._irs + 1) & MASK, 0, False, False, True, b""))
        self._finish()
        if self.notify is not None:
            self.notify(self)

    def _finish(self) -> None:
        self.closed = True
        self.stack.timers.cancel(self)
        self._remove(self)


class PeerListener:
    """`port` of `stack` given to peers: one peer from `factory` per SYN (passive open)."""

    def __init__(self, stack: Stack, port: int, factory: PeerFactory, *, isn: Callable[[], int],
                 initial_rto: float, max_payload: int, capacity: int, tick_interval: float,
                 on_open: Callable[[PeerConnection], None] | None) -> None:
        self.stack = stack
        self.port = port
        self.factory = factory
        self.isn = isn
        self.initial_rto = initial_rto
        self.max_payload = max_payload
        self.capacity = capacity
        self.tick_interval = tick_interval
        self.on_open = on_open
        self.conns: dict[ConnKey, PeerConnection] = {}
        self.opened: list[PeerConnection] = []  # every connection made, in order
        self.error: PeerError | None = None  # the last time `factory` raised

    def segment_input(self, src: IPAddress, dst: IPAddress, seg: TCPSegment,
                      now: float) -> None:
        key = (dst, seg.dst_port, src, seg.src_port)
        conn = self.conns.get(key)
        if conn is not None:
            conn.segment_arrives(seg, now)
            return
        flags = seg.flags
        layer = self.stack.tcp
        # RFC 9293 §3.10.7.2, LISTEN state: a RST is ignored, an ACK answered with a RST,
        # and only a SYN opens a connection
        if flags & RST:
            return
        if flags & ACK:
            layer.send_rst(dst, src, seg.dst_port, seg.src_port, seg.ack, 0, RST, now)
            return
        if not flags & SYN:
            self.stack.drop("tcp", "no_syn_in_listen")
            return
        mss = next((o.mss for o in seg.options if o.kind == OPT_MSS), 536)  # type: ignore[union-attr]
        max_payload = max(1, min(self.max_payload, mss))
        self.stack.now = now
        try:
            peer = self.factory(isn=self.isn(), initial_rto=self.initial_rto,
                                max_payload=max_payload, capacity=self.capacity)
        except Exception as exc:
            # the SYN is dropped, counted; the other side's retransmission tries again
            self.error = PeerError(f"making the peer raised {raised(exc)}")
            self.stack.tcp_counts["peer_errors"] += 1
            self.stack.drop("tcp", "peer_factory", str(self.error))
            return
        conn = PeerConnection(self.stack, peer, key, max_payload, self.tick_interval,
                              self._forget)
        self.conns[key] = conn
        self.opened.append(conn)
        if self.on_open is not None:
            self.on_open(conn)
        conn.segment_arrives(seg, now)

    def _forget(self, conn: PeerConnection) -> None:
        if self.conns.get(conn.key) is conn:
            del self.conns[conn.key]

    def close(self) -> None:
        """Stop taking SYNs (open connections go on to their end)."""
        if self.stack.tcp.peer_ports.get(self.port) == self.segment_input:
            del self.stack.tcp.peer_ports[self.port]


def _check_options(port: int | None, initial_rto: float, max_payload: int, capacity: int,
                   tick_interval: float) -> None:
    if port is not None and not (is_int(port, 1, 0xFFFF)):
        raise UsageError(f"port: {port!r} is not in 1..65535")
    for name, seconds in (("initial_rto", initial_rto), ("tick_interval", tick_interval)):
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or \
                not 0 < seconds < INF:
            raise UsageError(f"{name}: {seconds!r} is not allowed; use seconds > 0")
    if not is_int(max_payload, 1, 0xFFFF - 60):
        raise UsageError(f"max_payload: {max_payload!r} is not allowed; use 1..65475 bytes")
    if not is_int(capacity, 1, 1 << 30):
        raise UsageError(f"capacity: {capacity!r} is not allowed; use 1..2**30 bytes")


def _claim(stack: Stack, port: int) -> None:
    layer = stack.tcp
    if port in layer.peer_ports or port in layer.listeners:
        from netsim.stack.tcp.layer import AddressInUse
        raise AddressInUse(f"TCP port {port} is already in use on {stack.name}")


def listen_peer(stack: Stack, port: int, factory: PeerFactory, *, isn: Callable[[], int],
                initial_rto: float = 1.0, max_payload: int = 1000, capacity: int = 64000,
                tick_interval: float = 0.01,
                on_open: Callable[[PeerConnection], None] | None = None) -> PeerListener:
    """Give `port` of `stack` to peers: each SYN makes one with `factory(isn=isn(),
    initial_rto=, max_payload=, capacity=)`; `on_open(conn)` runs before the SYN is handed
    to it (to set `conn.notify`)."""
    _check_options(port, initial_rto, max_payload, capacity, tick_interval)
    _claim(stack, port)
    lst = PeerListener(stack, port, factory, isn=isn, initial_rto=initial_rto,
                       max_payload=max_payload, capacity=capacity,
                       tick_interval=tick_interval, on_open=on_open)
    stack.tcp.peer_ports[port] = lst.segment_input
    return lst


def connect_peer(stack: Stack, ip: str | IPAddress, port: int, peer: Any, *,
                 max_payload: int = 1000, tick_interval: float = 0.01,
                 notify: Callable[[PeerConnection], None] | None = None) -> PeerConnection:
    """Open a connection to `ip`:`port` with `peer` (made with `max_payload`) from an
    ephemeral port of `stack`: its `connect()` SYN goes out now."""
    _check_options(port, 1.0, max_payload, 1, tick_interval)
    layer = stack.tcp
    rip: IPAddress = IPv6Address(ip) if isinstance(ip, str) and ":" in ip else \
        intern_ip(ip) if isinstance(ip, str) else ip
    lip = stack.ipv6.source_for(rip) if isinstance(rip, IPv6Address) else stack.source_for(rip)
    if lip is None:
        raise UsageError(f"connect: no route to {rip}")
    lport = layer._ephemeral(lip, rip, port)

    def forget(conn: PeerConnection) -> None:
        if layer.peer_ports.get(lport) == conn.segment_input:
            del layer.peer_ports[lport]

    conn = PeerConnection(stack, peer, (lip, lport, rip, port), max_payload, tick_interval,
                          forget)
    conn.notify = notify
    layer.peer_ports[lport] = conn.segment_input
    conn.run("connect")
    return conn

