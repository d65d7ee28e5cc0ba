"""A TCP/IPv4 Ethernet frame held as the fields its sender chose; bytes built only when asked.

In the simulator a stack hands the TCP frames it sends to the link as `LazyFrame` objects. The
link needs only their length, and the receiving stack takes the segment as it is: no header
building and no checksum on the way out, no parsing and no checksum check on the way in — both
right by construction. Whatever needs the bytes (a pcap tap, a drop hook, a loss model that reads
frames, corruption, a port to the outside world) calls `raw()`, which builds exactly the bytes
the stack would otherwise have sent (once; they are kept).

`seg` is what `parse_tcp(raw()[34:])` gives, except its ``checksum`` field, which is 0: nobody
computed it, and bytes never built cannot have been damaged on the way. A frame a link corrupts
becomes ordinary bytes and is parsed and checked as usual (tests/test_lazy_frames.py).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Final

from netsim.wire.ethernet import ETHERTYPE_IPV4, ethernet_header
from netsim.wire.ipv4 import PROTO_TCP, ipv4_header
from netsim.wire.tcp import TCPSegment, tcp_fixed_header

__all__ = ["HEADERS", "LazyFrame", "as_bytes"]

#: Ethernet (14), IPv4 (20) and TCP (20) headers without options.
HEADERS: Final = 54


class LazyFrame:
    """One Ethernet II frame carrying an option-less IPv4 header (DF set, DSCP 0, ECN field
    `ecn`) and a TCP segment whose encoded options are `opts`. Immutable once made."""

    __slots__ = ("_raw", "dst_mac", "ecn", "ident", "ip_dst", "ip_src", "length", "opts", "seg",
                 "src_mac", "ttl")

    def __init__(self, dst_mac: bytes, src_mac: bytes, ip_src: IPv4Address, ip_dst: IPv4Address,
                 ttl: int, ident: int, seg: TCPSegment, opts: bytes, ecn: int = 0) -> None:
        self.dst_mac = dst_mac
        self.src_mac = src_mac
        self.ip_src = ip_src
        self.ip_dst = ip_dst
        self.ttl = ttl
        self.ident = ident
        self.seg = seg
        self.opts = opts
        self.ecn = ecn
        self.length = HEADERS + len(opts) + len(seg.payload)
        self._raw: bytes | None = None

    def __len__(self) -> int:
        return self.length

    def raw(self) -> bytes:
        """The frame's bytes (built on the first call)."""
        raw = self._raw
        if raw is None:
            seg = self.seg
            opts = self.opts
            payload = seg.payload
            tcp = tcp_fixed_header(self.ip_src, self.ip_dst, seg.src_port, seg.dst_port,
                                   seg.seq, seg.ack, seg.flags, seg.window, payload, opts,
                                   seg.urgent)
            ip = ipv4_header(self.ip_src, self.ip_dst, PROTO_TCP, 20 + len(opts) + len(payload),
                             ttl=self.ttl, identification=self.ident, df=True, ecn=self.ecn)
            # the headers and the payload joined once (the payload copied once)
            raw = b"".join((ethernet_header(self.dst_mac, self.src_mac, ETHERTYPE_IPV4), ip,
                            tcp, opts, payload))
            self._raw = raw
        return raw

    def forwarded(self, dst_mac: bytes, src_mac: bytes) -> LazyFrame:
        """The frame a router sends on: TTL one less, new Ethernet addresses (RFC 1812 §5.3.1).
        Its header checksum, computed afresh, equals the incremental update (RFC 1624) a router
        makes to the bytes."""
        return LazyFrame(dst_mac, src_mac, self.ip_src, self.ip_dst, self.ttl - 1, self.ident,
                         self.seg, self.opts, self.ecn)

    def __repr__(self) -> str:
        seg = self.seg
        return (f"<LazyFrame {self.ip_src}:{seg.src_port} > {self.ip_dst}:{seg.dst_port} "
                f"seq {seg.seq} ack {seg.ack} len {len(seg.payload)}>")


def as_bytes(frame: bytes | LazyFrame) -> bytes:
    """`frame`'s bytes, whichever form it is in."""
    return frame.raw() if isinstance(frame, LazyFrame) else frame
