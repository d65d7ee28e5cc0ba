"""The TCP layer of a stack: demultiplexing, listeners with a backlog, RST for closed ports,
and SYN cookies (netsim.stack.tcp.syncookies) for a listener whose half-open queue is full.

A full half-open queue, as in Linux: with cookies on (``syncookies`` 1, the default) a new SYN
is answered with a cookie and nothing is kept; with cookies off it is dropped (counted as
``tcp.drop.syn_backlog_full``), and the client's SYN retransmission tries again. Entries
already in the queue are never evicted for newcomers: a half-open connection leaves the queue
when its handshake completes, a RST arrives, or its SYN-ACK retransmissions (``synack_retries``,
5 as Linux's, the RTO doubling from 1 s) run out.

Segments come over IPv4 and IPv6 alike (netsim.stack.ipv6_input hands TCP those of IPv6):
a connection is known by its 4-tuple whatever the family, and a listener takes SYNs to any
of the host's addresses of both families (as a Linux socket bound to "::"), to its IPv4
addresses only ("0.0.0.0"), or to one address.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address

from netsim.errors import NetsimError, UsageError
from netsim.stack.tcp import syncookies
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.stack.tcp.host_api import LayerHost
from netsim.stack.tcp.states import State
from netsim.wire import icmp as icmpw
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import PROTO_TCP, IPv4Packet, intern_ip
from netsim.wire.ipv6 import MIN_MTU, NH_TCP
from netsim.wire.tcp import ACK, RST, SYN, IPAddress, TCPSegment, build_tcp, parse_tcp

ConnKey = tuple[IPAddress, int, IPAddress, int]
#: Takes every segment to a port handed to an object outside this layer (src, dst, segment,
#: now): netsim.stack.tcp.peer_adapter puts a TcpPeer (assignment 10) there
PortHandler = Callable[[IPAddress, IPAddress, TCPSegment, float], None]
ANY_IPV4 = IPv4Address("0.0.0.0")
EPHEMERAL = range(49152, 65536)


class AddressInUse(NetsimError):
    pass


class TcpListener:
    """A passive open on a port: half-open connections bounded by `max_half_open`, and
    established ones waiting for `accept` bounded by `backlog`."""

    def __init__(self, layer: TcpLayer, port: int, backlog: int, cfg: TcpConfig,
                 address: IPAddress | None = None) -> None:
        self.layer = layer
        self.port = port
        #: None: every address of the host; 0.0.0.0: every IPv4 one; else that one only
        self.address = address
        self.ipv4_only = address == ANY_IPV4
        self.backlog = backlog
        self.cfg = cfg
        self.half_open: set[TcpConnection] = set()
        self.accept_queue: deque[TcpConnection] = deque()
        self.notify: Callable[[str], None] | None = None
        self.closed = False
        self.last_overflow = -syncookies.VALIDITY  # when the half-open queue was last full

    def may_establish(self, conn: TcpConnection) -> bool:
        return len(self.accept_queue) < self.backlog

    def established(self, conn: TcpConnection, now: float) -> None:
        self.half_open.discard(conn)
        self.accept_queue.append(conn)
        if self.notify is not None:
            self.notify("accept")

    def forget(self, conn: TcpConnection) -> None:
        self.half_open.discard(conn)

    def accept(self) -> TcpConnection | None:
        while self.accept_queue:
            conn = self.accept_queue.popleft()
            if conn.state is not State.CLOSED:
                return conn
        return None

    def close(self, now: float) -> None:
        """Stop listening; connections not yet accepted are reset."""
        self.closed = True
        layer = self.layer
        if self.address is None or self.ipv4_only:
            if layer.listeners.get(self.port) is self:
                del layer.listeners[self.port]
        elif layer.bound.get((self.address, self.port)) is self:
            del layer.bound[(self.address, self.port)]
        for conn in list(self.half_open) + list(self.accept_queue):
            conn.abort(now)
        self.half_open.clear()
        self.accept_queue.clear()


class TcpLayer:
    def __init__(self, stack: LayerHost, cfg: TcpConfig | None = None) -> None:
        self.stack = stack
        # the stack's send_tcp as one bound method that all the connections keep (one each
        # was 80 bytes per connection)
        self.send_tcp = stack.send_tcp
        self.cfg = cfg or TcpConfig()
        self.conns: dict[ConnKey, TcpConnection] = {}
        # the connection the last segment in went to (`segment_input`): a host's next
        # segment is mostly for the same one, found by comparing the key's four parts
        # (addresses by identity: they are interned) instead of hashing the key; forgotten
        # whenever `conns` changes here (nothing else changes it)
        self._last: TcpConnection | None = None
        self.listeners: dict[int, TcpListener] = {}  # on every (IPv4) address
        self.bound: dict[tuple[IPAddress, int], TcpListener] = {}  # on one address
        self._next_port = EPHEMERAL.start
        #: ports whose segments go to a `PortHandler` (looked up only when no connection
        #: matches, so ordinary connections pay nothing for them)
        self.peer_ports: dict[int, PortHandler] = {}
        #: The key of SYN cookies: derived from the ISN key in simulation (reproducible);
        #: a live host sets random bytes.
        self.cookie_secret = syncookies.secret_for(self.cfg.isn_key, stack.name)
        self.ts_offsets: dict[IPAddress, int] = {}  # per peer, for cookie SYN-ACKs
        # RFC 5961 §7, host-wide: the interval the budget is for, and what is left of it
        self._challenge_interval = -1
        self._challenge_left = 0
        self._challenge_rng: random.Random | None = None

    # ------------------------------------------------------------------ application side
    def listen(self, port: int, backlog: int | None = None, cfg: TcpConfig | None = None,
               address: IPAddress | str | None = None) -> TcpListener:
        """Listen on `port` of `address`: None or "::" every address of both families,
        "0.0.0.0" every IPv4 one, else one of the host's addresses (which then wins over a
        listener on every address for SYNs to it)."""
        if not 1 <= port <= 0xFFFF:
            raise UsageError(f"port: {port} is not in 1..65535")
        addr = _address("listen", address) if address is not None else None
        if isinstance(addr, IPv6Address) and addr.is_unspecified:
            addr = None
        elif isinstance(addr, IPv4Address):
            addr = intern_ip(addr)  # (the instance the stack's tables hash cheaply)
        every = addr is None or addr == ANY_IPV4
        if port in self.listeners if every else (addr, port) in self.bound:
            where = "" if every else f" of {addr}"
            raise AddressInUse(f"TCP port {port}{where} is already listening on "
                               f"{self.stack.name}")
        if isinstance(addr, IPv6Address) and self.stack.ipv6.source_for(addr) != addr or \
                isinstance(addr, IPv4Address) and not every and \
                self.stack.source_for(addr) != addr:
            raise UsageError(f"listen: {addr} is not an address of {self.stack.name}")
        c = cfg or self.cfg
        lst = TcpListener(self, port, backlog if backlog is not None else c.backlog, c, addr)
        if addr is None or every:
            self.listeners[port] = lst
        else:
            self.bound[(addr, port)] = lst
        return lst

    def connect(self, remote_ip: IPAddress | str, remote_port: int, now: float,
                local_port: int = 0, cfg: TcpConfig | None = None) -> TcpConnection:
        rip: IPAddress
        lip: IPAddress | None
        if isinstance(remote_ip, IPv6Address) or isinstance(remote_ip, str) and ":" in remote_ip:
            rip = remote_ip if isinstance(remote_ip, IPv6Address) \
                else _ipv6("connect", remote_ip)
            if rip.is_multicast or rip.is_unspecified:
                # RFC 1122 §4.2.3.10: an OPEN to an invalid remote address is an error
                raise UsageError(f"connect: {rip} is not a unicast address")
            lip = self.stack.ipv6.source_for(rip)
        else:
            rip = intern_ip(remote_ip)
            lip = self.stack.source_for(rip)
        if not 1 <= remote_port <= 0xFFFF:
            raise UsageError(f"port: {remote_port} is not in 1..65535")
        if lip is None:
            raise UsageError(f"connect: no route to {rip}")
        if local_port == 0:
            local_port = self._ephemeral(lip, rip, remote_port)
        key = (lip, local_port, rip, remote_port)
        if key in self.conns:
            raise AddressInUse(f"TCP {lip}:{local_port} > {rip}:{remote_port} is in use")
        conn = TcpConnection(self, lip, local_port, rip, remote_port, cfg or self.cfg)
        conn.mss_local = conn.cfg.mss or self.mss_for(rip)
        self.conns[key] = conn
        self._last = None
        self.stack.now = now
        conn.open_active(now)
        return conn

    def _ephemeral(self, lip: IPAddress, rip: IPAddress, rport: int) -> int:
        for _ in EPHEMERAL:
            port = self._next_port
            self._next_port = port + 1 if port + 1 < EPHEMERAL.stop else EPHEMERAL.start
            if (lip, port, rip, rport) not in self.conns and port not in self.listeners \
                    and port not in self.peer_ports:
                return port
        raise AddressInUse("no free ephemeral TCP port")

    def mss_for(self, remote: IPAddress) -> int:
        """MSS to announce: the outgoing interface's MTU minus 40 (RFC 9293 §3.7.1), minus
        60 over IPv6 (RFC 8200 §8.3, maximum upper-layer payload size: its header is 40)."""
        if isinstance(remote, IPv6Address):
            return (self.stack.ipv6.mtu_for(remote) or MIN_MTU) - 60
        route = self.stack.routes.lookup(remote)
        mtu = self.stack.interfaces[route.interface].mtu if route else 1500
        return mtu - 40

    def remove(self, conn: TcpConnection) -> None:
        if self.conns.get(conn.key) is conn:
            del self.conns[conn.key]
            self._last = None
        if conn.listener is not None:
            conn.listener.forget(conn)

    # ------------------------------------------------------------------ input
    def input(self, pkt: IPv4Packet, now: float) -> None:
        """A TCP segment arrived in `pkt`."""
        try:
            seg = parse_tcp(pkt.payload, pkt.src, pkt.dst)
        except WireError as exc:
            self.stack.drop("tcp", "checksum" if "checksum" in str(exc) else "malformed",
                            str(exc))
            return
        self.segment_input(pkt.src, pkt.dst, seg, now, pkt.ecn)

    def segment_input(self, src: IPAddress, dst: IPAddress, seg: TCPSegment,
                      now: float, ip_ecn: int = 0) -> None:
        """The segment `seg` (parsed and checked, or handed over whole in a `LazyFrame`) came
        from `src` to our address `dst` in a datagram whose ECN field is `ip_ecn`."""
        stack = self.stack
        stack.tcp_counts["rx"] += 1
        conn = self._last
        if conn is None or conn.local_port != seg.dst_port or conn.remote_port != seg.src_port \
                or conn.local_ip is not dst or conn.remote_ip is not src:
            conn = self.conns.get((dst, seg.dst_port, src, seg.src_port))
            self._last = conn
        if conn is not None:
            conn.segment_arrives(seg, now, ip_ecn)
            return
        if self.peer_ports:
            handler = self.peer_ports.get(seg.dst_port)
            if handler is not None:
                handler(src, dst, seg, now)
                return
        flags = seg.flags
        lst = self.listeners.get(seg.dst_port)
        if self.bound:  # listeners on one address win over those on every address
            lst = self.bound.get((dst, seg.dst_port), lst)
        if lst is not None and lst.ipv4_only and dst.version == 6:
            lst = None
        if lst is not None:
            # RFC 9293 §3.10.7.2, LISTEN state
            if flags & RST:
                return
            if flags & ACK:
                if not flags & SYN and syncookies.cookies_apply(lst, now) and \
                        self._cookie_ack(lst, src, dst, seg, now, ip_ecn):
                    return
                self.send_rst(dst, src, seg.dst_port, seg.src_port, seg.ack, 0, RST,
                              now)
                return
            if not flags & SYN:
                stack.drop("tcp", "no_syn_in_listen")
                return
            full = len(lst.half_open) >= self.cfg.max_half_open or \
                len(lst.half_open) >= lst.cfg.max_half_open
            mode = lst.cfg.syncookies
            if full:
                lst.last_overflow = now
            if mode == syncookies.ALWAYS or full and mode == syncookies.ON_OVERFLOW:
                syncookies.send_cookie(self, lst, dst, src, seg, now)
                return
            if full:
                stack.drop("tcp", "syn_backlog_full", f"port {lst.port}")
                return
            child = TcpConnection(self, dst, seg.dst_port, src, seg.src_port, lst.cfg,
                                  listener=lst)
            self.conns[child.key] = child
            self._last = None
            lst.half_open.add(child)
            child.segs_in += 1
            child.open_passive(seg, now)
            return
        # RFC 9293 §3.10.7.1: CLOSED. A RST is never answered with a RST.
        if flags & RST:
            stack.drop("tcp", "rst_to_closed_port")
            return
        stack.drop("tcp", "closed_port", f"port {seg.dst_port}")
        if flags & ACK:
            self.send_rst(dst, src, seg.dst_port, seg.src_port, seg.ack, 0, RST, now)
        else:
            self.send_rst(dst, src, seg.dst_port, seg.src_port, 0,
                          (seg.seq + seg.seg_len) & 0xFFFFFFFF, RST | ACK, now)

    def _cookie_ack(self, lst: TcpListener, src: IPAddress, dst: IPAddress,
                    seg: TCPSegment, now: float, ip_ecn: int) -> bool:
        """An ACK to a listener that may return a SYN cookie: if it does, the connection is
        built from it and the ACK handed over with its ECN field `ip_ecn` (data on it may be
        CE-marked: RFC 3168 §6.1.3, the receiver echoes CE) (True); False means answer it
        with a RST."""
        counts = self.stack.tcp_counts
        found = syncookies.syn_from_cookie(self, dst, src, seg, now)
        if found is None:
            counts["syncookies_failed"] += 1
            return False
        if len(lst.accept_queue) >= lst.backlog:
            # Linux drops it too (ListenOverflows): the client's retransmission comes back
            self.stack.drop("tcp", "accept_queue_full", f"port {lst.port}")
            return True
        counts["syncookies_valid"] += 1
        syn, iss = found
        child = TcpConnection(self, dst, seg.dst_port, src, seg.src_port, lst.cfg,
                              listener=lst)
        self.conns[child.key] = child
        self._last = None
        child.open_from_cookie(syn, iss, now)
        child.segment_arrives(seg, now, ip_ecn)
        if child.state is State.SYN_RECEIVED:  # the ACK did not complete it: keep nothing
            child.abort(now)
        return True

    def challenge_ack_allowed(self, now: float) -> bool:
        """RFC 5961 §7 ACK throttling across all connections, as Linux's
        tcp_challenge_ack_limit: each `challenge_ack_interval` allows a budget drawn from
        [limit/2, limit/2 + limit) (drawn, not fixed: a fixed shared budget lets an off-path
        attacker count the challenge ACKs it triggers against a victim's, CVE-2016-5696).
        False (and counted as ``tcp.challenge_ack_limited``) when it is used up."""
        limit = self.cfg.challenge_ack_limit
        if limit is None:
            return True
        interval = int(now // self.cfg.challenge_ack_interval)
        if interval != self._challenge_interval:
            self._challenge_interval = interval
            rng = self._challenge_rng
            if rng is None:  # seeded from the cookie key: reproducible in simulation
                rng = self._challenge_rng = random.Random(self.cookie_secret)
            self._challenge_left = (limit + 1) // 2 + rng.randrange(limit) if limit else 0
        if self._challenge_left > 0:
            self._challenge_left -= 1
            return True
        self.stack.tcp_counts["challenge_ack_limited"] += 1
        return False

    def send_rst(self, src: IPAddress, dst: IPAddress, sport: int, dport: int, seq: int,
                 ack: int, flags: int, now: float) -> None:
        self.stack.tcp_counts["tx_rst"] += 1
        self.send_raw(src, dst, build_tcp(src, dst, sport, dport, seq, ack, flags, 0), now)

    def send_raw(self, src: IPAddress, dst: IPAddress, raw: bytes, now: float) -> None:
        """Send a segment built outside a connection (a RST, a cookie SYN-ACK): over IPv4
        with DF set (RFC 1191), or over IPv6 (whose packet size routers never cut down by
        fragmenting, RFC 8200 §5)."""
        if isinstance(dst, IPv6Address) and isinstance(src, IPv6Address):
            self.stack.ipv6.send(dst, NH_TCP, raw, now, src=src)
        elif isinstance(dst, IPv4Address) and isinstance(src, IPv4Address):
            self.stack.send_ip(dst, PROTO_TCP, raw, now, src=src, df=True)

    def icmp_error(self, msg: icmpw.ICMPMessage, quoted: IPv4Packet, sender: IPv4Address,
                   now: float) -> None:
        if len(quoted.payload) < 4:
            return
        sport = (quoted.payload[0] << 8) | quoted.payload[1]
        dport = (quoted.payload[2] << 8) | quoted.payload[3]
        kind = msg.type_name
        if msg.type == icmpw.DEST_UNREACHABLE:
            kind = {icmpw.UNREACH_NET: "net unreachable", icmpw.UNREACH_HOST: "host unreachable",
                    icmpw.UNREACH_PROTOCOL: "protocol unreachable",
                    icmpw.UNREACH_PORT: "port unreachable",
                    icmpw.UNREACH_FRAG_NEEDED: "fragmentation needed"}.get(msg.code, kind)
        self.icmp_error_for(quoted.src, sport, quoted.dst, dport, kind, now,
                            msg.next_hop_mtu if msg.type == icmpw.DEST_UNREACHABLE
                            and msg.code == icmpw.UNREACH_FRAG_NEEDED else 0)

    def icmp_error_for(self, local: IPAddress, sport: int, remote: IPAddress, dport: int,
                       kind: str, now: float, mtu: int = 0) -> None:
        """An ICMP (or ICMPv6) error of `kind` about a segment we sent: tell its connection."""
        conn = self.conns.get((local, sport, remote, dport))
        if conn is not None:
            conn.icmp_error(kind, now, mtu)

    def state_count(self) -> int:
        """Connections and listeners this layer holds (for the leak test)."""
        return len(self.conns) + sum(len(lst.half_open) + len(lst.accept_queue)
                                     for lst in self.listeners.values())


def _address(what: str, text: IPAddress | str) -> IPAddress:
    """`text` as an address; a bad one is a one-line error naming `what` it was for."""
    if not isinstance(text, str):
        return text
    try:
        return ip_address(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an IPv4 or IPv6 address") from None


def _ipv6(what: str, text: str) -> IPv6Address:
    try:
        return IPv6Address(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an IPv6 address") from None
