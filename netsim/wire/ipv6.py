"""IPv6 headers (RFC 8200 §3) and the extension headers that may follow them (RFC 8200 §4).

`parse_ipv6` walks the chain of extension headers structurally: each one must fit in the
packet, and the TLV options of hop-by-hop and destination options headers must fit in
their header. What to do with a header (skip it, drop the packet, answer with a parameter
problem) is the stack's decision (netsim/stack/ipv6.py), made from the `ExtensionHeader`
values this module returns.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Final, NamedTuple

from netsim.wire.checksum import BytesLike
from netsim.wire.errors import IPv6Error

HEADER_LEN: Final = 40
MIN_MTU: Final = 1280  # RFC 8200 §5: every link carries packets of 1280 bytes

NH_HOPOPTS: Final = 0
NH_TCP: Final = 6
NH_UDP: Final = 17
NH_ROUTING: Final = 43
NH_FRAGMENT: Final = 44
NH_ICMPV6: Final = 58
NH_NONE: Final = 59
NH_DSTOPTS: Final = 60

#: The extension headers this module walks through (RFC 8200 §4.3 to §4.6)
EXTENSION_HEADERS: Final = frozenset({NH_HOPOPTS, NH_ROUTING, NH_FRAGMENT, NH_DSTOPTS})
NH_NAMES: Final = {NH_HOPOPTS: "hop-by-hop", NH_TCP: "TCP", NH_UDP: "UDP",
                   NH_ROUTING: "routing", NH_FRAGMENT: "fragment", NH_ICMPV6: "ICMPv6",
                   NH_NONE: "no next header", NH_DSTOPTS: "destination options"}

OPT_PAD1: Final = 0
OPT_PADN: Final = 1

_HDR: Final = struct.Struct("!IHBB16s16s")
_FRAG: Final = struct.Struct("!BBHI")

_addr_cache: dict[bytes, IPv6Address] = {}


def ip6_from_bytes(raw: bytes) -> IPv6Address:
    """An `IPv6Address` for 16 packed bytes, cached: parsing happens per packet."""
    addr = _addr_cache.get(raw)
    if addr is None:
        if len(_addr_cache) > 65536:
            _addr_cache.clear()
        addr = _addr_cache[raw] = IPv6Address(raw)
    return addr


class Option(NamedTuple):
    """One TLV option of a hop-by-hop or destination options header (RFC 8200 §4.2).

    `offset` is where its type byte is, counted from the start of the IPv6 header (what a
    parameter problem's pointer names)."""

    type: int
    data: bytes
    offset: int

    @property
    def action(self) -> int:
        """RFC 8200 §4.2: the two high-order bits of the type say what a node that does not
        recognize the option must do (0 skip, 1 discard, 2 discard and send a parameter
        problem, 3 the same unless the destination is multicast)."""
        return self.type >> 6


class ExtensionHeader(NamedTuple):
    """One extension header as it appeared in the packet.

    `raw` is the whole header (its next-header and length bytes included); `offset` where it
    starts, counted from the start of the IPv6 header."""

    type: int
    next_header: int
    raw: bytes
    offset: int
    options: tuple[Option, ...] = ()

    @property
    def routing_type(self) -> int:
        return self.raw[2] if self.type == NH_ROUTING else -1

    @property
    def segments_left(self) -> int:
        return self.raw[3] if self.type == NH_ROUTING else 0

    @property
    def fragment_offset(self) -> int:
        """In bytes (a multiple of 8), as tcpdump prints it."""
        return ((self.raw[2] << 8) | self.raw[3]) & 0xFFF8 if self.type == NH_FRAGMENT else 0

    @property
    def more_fragments(self) -> bool:
        return bool(self.raw[3] & 1) if self.type == NH_FRAGMENT else False

    @property
    def identification(self) -> int:
        return int.from_bytes(self.raw[4:8], "big") if self.type == NH_FRAGMENT else 0

    @property
    def name(self) -> str:
        return NH_NAMES.get(self.type, f"header {self.type}")


class IPv6Packet(NamedTuple):
    """One IPv6 packet.

    `next_header` and `payload` are those of the upper layer, after the extension headers
    (when the chain ends in a header this module does not know, they are that header's
    number and everything from it on); `first_header` is the fixed header's Next Header field.
    `nh_field` is the offset of the Next Header field that names `next_header` (6, or the
    start of the last extension header), for a parameter problem's pointer.
    """

    src: IPv6Address
    dst: IPv6Address
    next_header: int
    payload: bytes
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    extensions: tuple[ExtensionHeader, ...] = ()
    first_header: int = -1
    payload_length: int = 0
    nh_field: int = 6

    def build(self) -> bytes:
        """The packet's bytes, its extension headers as they were; the payload length is
        computed here."""
        ext = b"".join(h.raw for h in self.extensions)
        first = self.extensions[0].type if self.extensions else self.next_header
        return build_ipv6(self.src, self.dst, first, ext + self.payload,
                          hop_limit=self.hop_limit, traffic_class=self.traffic_class,
                          flow_label=self.flow_label)

    @property
    def fragment(self) -> ExtensionHeader | None:
        for h in self.extensions:
            if h.type == NH_FRAGMENT:
                return h
        return None


def build_ipv6(src: IPv6Address, dst: IPv6Address, next_header: int, payload: bytes, *,
               hop_limit: int = 64, traffic_class: int = 0, flow_label: int = 0) -> bytes:
    """An IPv6 packet (RFC 8200 §3). `payload` holds any extension headers, then the upper
    layer; `next_header` names the first of them."""
    if not isinstance(src, IPv6Address) or not isinstance(dst, IPv6Address):
        raise IPv6Error(f"IPv6: addresses must be IPv6Address values, got {src!r} and {dst!r}")
    if len(payload) > 0xFFFF:
        raise IPv6Error(f"IPv6: payload of {len(payload)} bytes exceeds 65535 (jumbograms "
                        "are not supported)")
    if not 0 <= next_header <= 255 or not 0 <= hop_limit <= 255:
        raise IPv6Error(f"IPv6: next header {next_header} or hop limit {hop_limit} out of "
                        "0..255")
    if not 0 <= traffic_class <= 255 or not 0 <= flow_label <= 0xFFFFF:
        raise IPv6Error(f"IPv6: traffic class must be 0..255 (got {traffic_class}), flow "
                        f"label 0..0xfffff (got {flow_label})")
    first = (6 << 28) | (traffic_class << 20) | flow_label
    return _HDR.pack(first, len(payload), next_header, hop_limit, src.packed,
                     dst.packed) + payload


def options_header(next_header: int, options: list[tuple[int, bytes]]) -> bytes:
    """A hop-by-hop or destination options header body (RFC 8200 §4.3, §4.6): the options
    as (type, data), padded with Pad1/PadN to a multiple of 8 bytes (RFC 8200 §4.2)."""
    body = bytearray()
    for otype, data in options:
        if not 0 <= otype <= 255 or otype == OPT_PAD1 and data:
            raise IPv6Error(f"IPv6: option type {otype} out of 0..255 (Pad1 has no data)")
        if otype == OPT_PAD1:
            body.append(0)
            continue
        if len(data) > 255:
            raise IPv6Error(f"IPv6: option data of {len(data)} bytes exceed 255")
        body += bytes((otype, len(data))) + data
    pad = -(len(body) + 2) % 8
    if pad == 1:
        body.append(OPT_PAD1)
    elif pad:
        body += bytes((OPT_PADN, pad - 2)) + bytes(pad - 2)
    return _ext(next_header, bytes(body))


def routing_header(next_header: int, routing_type: int, segments_left: int,
                   data: bytes = bytes(4)) -> bytes:
    """A routing header (RFC 8200 §4.4); `data` is its type-specific data (4 + 8k bytes)."""
    if not 0 <= routing_type <= 255 or not 0 <= segments_left <= 255:
        raise IPv6Error("IPv6: routing type and segments left must be 0..255")
    if (len(data) + 4) % 8:
        raise IPv6Error(f"IPv6: routing data of {len(data)} bytes do not end the header on "
                        "an 8-byte boundary")
    return _ext(next_header, bytes((routing_type, segments_left)) + data)


def fragment_header(next_header: int, offset: int, more: bool, identification: int) -> bytes:
    """A fragment header (RFC 8200 §4.5). `offset` in bytes, a multiple of 8."""
    if offset % 8 or not 0 <= offset <= 0xFFF8:
        raise IPv6Error(f"IPv6: fragment offset {offset} is not a multiple of 8 in 0..65528")
    if not 0 <= identification <= 0xFFFFFFFF or not 0 <= next_header <= 255:
        raise IPv6Error("IPv6: fragment identification must be 0..2**32-1, next header 0..255")
    return _FRAG.pack(next_header, 0, offset | int(more), identification)


def _ext(next_header: int, body: bytes) -> bytes:
    if not 0 <= next_header <= 255:
        raise IPv6Error(f"IPv6: next header {next_header} out of 0..255")
    length = len(body) + 2
    if length % 8 or length > 2048:
        raise IPv6Error(f"IPv6: extension header of {length} bytes is not 8..2048 in steps of 8")
    return bytes((next_header, length // 8 - 1)) + body


def parse_ipv6(data: BytesLike) -> IPv6Packet:
    """Parse an IPv6 packet and walk its extension headers. Bytes beyond the payload length
    (link padding) are dropped."""
    n = len(data)
    if n < HEADER_LEN:
        raise IPv6Error(f"IPv6: truncated header: {n} of {HEADER_LEN} bytes")
    buf = bytes(data)
    first, plen, nh, hlim, src, dst = _HDR.unpack_from(buf, 0)
    if first >> 28 != 6:
        raise IPv6Error(f"IPv6: version field is {first >> 28}, not 6")
    if plen == 0 and nh == NH_HOPOPTS:
        raise IPv6Error("IPv6: payload length 0 with a hop-by-hop header (a jumbogram, "
                        "RFC 2675) is not supported")
    end = HEADER_LEN + plen
    if end > n:
        raise IPv6Error(f"IPv6: payload length {plen} runs beyond the {n - HEADER_LEN} bytes "
                        "received")
    headers: list[ExtensionHeader] = []
    off, cur, nh_field = HEADER_LEN, nh, 6
    while cur in EXTENSION_HEADERS:
        if off + 8 > end:
            raise IPv6Error(f"IPv6: {NH_NAMES[cur]} header at offset {off} is truncated "
                            f"({end - off} bytes left)")
        hlen = 8 if cur == NH_FRAGMENT else (buf[off + 1] + 1) * 8
        if off + hlen > end:
            raise IPv6Error(f"IPv6: {NH_NAMES[cur]} header at offset {off} says {hlen} bytes "
                            f"but {end - off} are left")
        raw = buf[off:off + hlen]
        options = _options(raw, off) if cur in (NH_HOPOPTS, NH_DSTOPTS) else ()
        headers.append(ExtensionHeader(cur, raw[0], raw, off, options))
        nh_field = off
        cur = raw[0]
        off += hlen
    return IPv6Packet(ip6_from_bytes(src), ip6_from_bytes(dst), cur, buf[off:end], hlim,
                      (first >> 20) & 0xFF, first & 0xFFFFF, tuple(headers), nh, plen,
                      nh_field)


def _options(raw: bytes, base: int) -> tuple[Option, ...]:
    """The TLV options of a hop-by-hop or destination options header (RFC 8200 §4.2);
    padding is left out."""
    out = []
    i, n = 2, len(raw)
    while i < n:
        otype = raw[i]
        if otype == OPT_PAD1:
            i += 1
            continue
        if i + 2 > n or i + 2 + raw[i + 1] > n:
            raise IPv6Error(f"IPv6: option {otype} at offset {base + i} runs beyond its "
                            "header")
        olen = raw[i + 1]
        if otype != OPT_PADN:
            out.append(Option(otype, raw[i + 2:i + 2 + olen], base + i))
        i += 2 + olen
    return tuple(out)


# ---------------------------------------------------------------- addresses

LINK_LOCAL_PREFIX: Final = 0xFE80 << 112
ALL_NODES: Final = IPv6Address("ff02::1")
ALL_ROUTERS: Final = IPv6Address("ff02::2")
UNSPECIFIED: Final = IPv6Address("::")


def interface_id(mac: bytes) -> int:
    """The modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291 Appendix A,
    RFC 2464 §4 stateless autoconfiguration): FF FE inserted in the middle and the
    universal/local bit inverted."""
    if len(mac) != 6:
        raise IPv6Error(f"IPv6: an interface identifier needs a 6-byte MAC, got {len(mac)}")
    eui = bytes((mac[0] ^ 0x02,)) + bytes(mac[1:3]) + b"\xff\xfe" + bytes(mac[3:6])
    return int.from_bytes(eui, "big")


def link_local(mac: bytes) -> IPv6Address:
    """fe80::/64 with the MAC's interface identifier (RFC 4862 §5.3, RFC 2464 §5 link-local
    addresses)."""
    return IPv6Address(LINK_LOCAL_PREFIX | interface_id(mac))


def solicited_node(addr: IPv6Address) -> IPv6Address:
    """The solicited-node multicast address ff02::1:ffXX:XXXX of `addr` (RFC 4291 §2.7.1,
    the pre-defined multicast addresses)."""
    return IPv6Address((0xFF02 << 112) | (0x1FF << 24) | (int(addr) & 0xFFFFFF))


def multicast_mac(addr: IPv6Address) -> bytes:
    """The Ethernet address of an IPv6 multicast address: 33:33 and its last four bytes
    (RFC 2464 §7, address mapping for multicast)."""
    if not addr.is_multicast:
        raise IPv6Error(f"IPv6: {addr} is not a multicast address")
    return b"\x33\x33" + addr.packed[12:]
