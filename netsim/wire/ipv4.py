"""IPv4 headers (RFC 791) with options kept as bytes."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address
from typing import Final, NamedTuple

from netsim.wire.address import HashedIPv4Address
from netsim.wire.checksum import BytesLike
from netsim.wire.errors import IPv4ChecksumError, IPv4Error

PROTO_ICMP: Final = 1
PROTO_TCP: Final = 6
PROTO_UDP: Final = 17
PROTO_NAMES = {PROTO_ICMP: "ICMP", PROTO_TCP: "TCP", PROTO_UDP: "UDP"}

HEADER_LEN: Final = 20
MAX_OPTIONS_LEN: Final = 40
FLAG_DF: Final = 0x4000
FLAG_MF: Final = 0x2000

_HDR: Final = struct.Struct("!BBHHHBBH4s4s")
_HDR_NOADDR: Final = struct.Struct("!BBHHHBBH")
# version/IHL+TOS, length, id, flags+offset, TTL+proto...
_HDR_INT: Final = struct.Struct("!HHHHHHII")
_from_bytes: Final = int.from_bytes

_addr_cache: dict[bytes, IPv4Address] = {}


def ip_from_bytes(raw: bytes) -> IPv4Address:
    """An `IPv4Address` for 4 packed bytes, cached: parsing happens per packet."""
    addr = _addr_cache.get(raw)
    if addr is None:
        if len(_addr_cache) > 65536:
            _addr_cache.clear()
        addr = _addr_cache[raw] = HashedIPv4Address(raw)
    return addr


def intern_ip(addr: IPv4Address | str) -> IPv4Address:
    """The cached, cheaply hashed instance equal to `addr` (for the stack's own tables)."""
    if isinstance(addr, str):
        addr = IPv4Address(addr)
    return ip_from_bytes(addr.packed)


class IPv4Packet(NamedTuple):
    """One IPv4 packet. `fragment_offset` is in bytes (a multiple of 8), as tcpdump prints it."""

    src: IPv4Address
    dst: IPv4Address
    protocol: int
    payload: bytes
    ttl: int = 64
    identification: int = 0
    df: bool = False
    mf: bool = False
    fragment_offset: int = 0
    dscp: int = 0
    ecn: int = 0
    options: bytes = b""
    version: int = 4
    ihl: int = 5
    total_length: int = 0
    checksum: int = 0

    def build(self) -> bytes:
        """The packet's bytes; IHL, total length and checksum are computed here."""
        return build_ipv4(self.src, self.dst, self.protocol, self.payload, ttl=self.ttl,
                          identification=self.identification, df=self.df, mf=self.mf,
                          fragment_offset=self.fragment_offset, dscp=self.dscp, ecn=self.ecn,
                          options=self.options)

    @property
    def header_len(self) -> int:
        return self.ihl * 4

    @property
    def is_fragment(self) -> bool:
        return self.mf or self.fragment_offset != 0


def build_ipv4(src: IPv4Address, dst: IPv4Address, protocol: int, payload: bytes, *,
               ttl: int = 64, identification: int = 0, df: bool = False, mf: bool = False,
               fragment_offset: int = 0, dscp: int = 0, ecn: int = 0,
               options: bytes = b"") -> bytes:
    return b"".join((ipv4_header(src, dst, protocol, len(payload), ttl=ttl,
                                 identification=identification, df=df, mf=mf,
                                 fragment_offset=fragment_offset, dscp=dscp, ecn=ecn,
                                 options=options), payload))


def ipv4_header(src: IPv4Address, dst: IPv4Address, protocol: int, payload_len: int, *,
                ttl: int = 64, identification: int = 0, df: bool = False, mf: bool = False,
                fragment_offset: int = 0, dscp: int = 0, ecn: int = 0,
                options: bytes = b"") -> bytes:
    """The header (with `options`) `build_ipv4` puts before a payload of `payload_len`
    bytes, for a caller that joins a whole frame at once."""
    if options:
        options = bytes(options)
        if len(options) % 4:
            options = options + bytes(4 - len(options) % 4)  # pad with End of Option List
        if len(options) > MAX_OPTIONS_LEN:
            raise IPv4Error(f"IPv4: {len(options)} bytes of options exceed {MAX_OPTIONS_LEN}")
    hlen = HEADER_LEN + len(options)
    total = hlen + payload_len
    if total > 0xFFFF:
        raise IPv4Error(f"IPv4: total length {total} exceeds 65535")
    if fragment_offset % 8 or not 0 <= fragment_offset <= 0x1FFF * 8:
        raise IPv4Error(f"IPv4: fragment offset {fragment_offset} is not a multiple of 8 "
                        "in 0..65528")
    if not 0 <= ttl <= 255 or not 0 <= protocol <= 255:
        raise IPv4Error(f"IPv4: TTL {ttl} or protocol {protocol} out of 0..255")
    if not 0 <= dscp < 64 or not 0 <= ecn < 4 or not 0 <= identification <= 0xFFFF:
        raise IPv4Error(f"IPv4: DSCP must be 0..63 (got {dscp}), ECN 0..3 (got {ecn}), "
                        f"identification 0..65535 (got {identification})")
    if not isinstance(src, IPv4Address) or not isinstance(dst, IPv4Address):
        raise IPv4Error(f"IPv4: addresses must be IPv4Address values, got {src!r} and {dst!r}")
    vihl_tos = ((0x40 | (hlen >> 2)) << 8) | (dscp << 2) | ecn
    flags_frag = (FLAG_DF if df else 0) | (FLAG_MF if mf else 0) | (fragment_offset >> 3)
    ttl_proto = (ttl << 8) | protocol
    isrc, idst = int(src), int(dst)
    # RFC 791 §3.1 / RFC 1071: the checksum is the complement of the one's-complement sum of
    # the header's 16-bit words. Sum the fields as integers (a 32-bit address is congruent to
    # the sum of its halves modulo 0xFFFF) instead of packing twice; the sum is never 0.
    folded = (vihl_tos + total + identification + flags_frag + ttl_proto + isrc + idst
              + (_from_bytes(options, "big") if options else 0)) % 0xFFFF
    csum = 0xFFFF - folded if folded else 0
    head = _HDR_INT.pack(vihl_tos, total, identification, flags_frag, ttl_proto, csum, isrc, idst)
    return head + options if options else head


def parse_ipv4(data: BytesLike, verify_checksum: bool = True) -> IPv4Packet:
    """Parse an IPv4 packet. Bytes beyond the total length (link padding) are dropped."""
    n = len(data)
    if n < HEADER_LEN:
        raise IPv4Error(f"IPv4: truncated header: {n} of {HEADER_LEN} bytes")
    buf = bytes(data)
    vihl, tos, total, ident, flags_frag, ttl, proto, csum = _HDR_NOADDR.unpack_from(buf, 0)
    version = vihl >> 4
    if version != 4:
        raise IPv4Error(f"IPv4: version field is {version}, not 4")
    ihl = vihl & 0x0F
    hlen = ihl * 4
    if ihl < 5:
        raise IPv4Error(f"IPv4: bad IHL {ihl} (header length {hlen} < 20)")
    if hlen > n:
        raise IPv4Error(f"IPv4: IHL {ihl} says {hlen} header bytes but only {n} present")
    if total < hlen:
        raise IPv4Error(f"IPv4: total length {total} is shorter than the header ({hlen})")
    if total > n:
        raise IPv4Error(f"IPv4: total length {total} runs beyond the {n} bytes received")
    if flags_frag & 0x8000:
        raise IPv4Error("IPv4: reserved flag bit is set")
    # RFC 1071: a header carrying a correct checksum sums to 0xFFFF (never 0: version is 4),
    # i.e. its big-endian integer value is a multiple of 0xFFFF.
    if verify_checksum and _from_bytes(buf[:hlen], "big") % 0xFFFF:
        raise IPv4ChecksumError(f"IPv4: bad header checksum 0x{csum:04x}")
    return IPv4Packet(
        ip_from_bytes(buf[12:16]), ip_from_bytes(buf[16:20]), proto, buf[hlen:total],
        ttl, ident, bool(flags_frag & FLAG_DF), bool(flags_frag & FLAG_MF),
        (flags_frag & 0x1FFF) << 3, tos >> 2, tos & 3, buf[20:hlen], version, ihl, total, csum,
    )


def decrement_ttl(raw: bytes, total: int) -> bytes:
    """TTL minus one with the header checksum updated incrementally (RFC 1624, eqn. 3);
    bytes beyond `total` (link padding) are cut."""
    old_word = (raw[8] << 8) | raw[9]
    new_word = old_word - 0x0100
    csum = (raw[10] << 8) | raw[11]
    s = (~csum & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    csum = ~s & 0xFFFF
    # one join, the rest of the datagram through a view: its bytes copied once
    return b"".join((raw[:8], bytes((raw[8] - 1, raw[9])), csum.to_bytes(2, "big"),
                     memoryview(raw)[12:total]))
