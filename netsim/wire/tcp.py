"""TCP headers and options (RFC 9293 §3.1; options from RFC 7323 and RFC 2018)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import Final, NamedTuple

from netsim.wire.checksum import BytesLike, pseudo_header_sum, word_sum
from netsim.wire.errors import TCPChecksumError, TCPError
from netsim.wire.ipv4 import PROTO_TCP

FIN: Final = 0x01
SYN: Final = 0x02
RST: Final = 0x04
PSH: Final = 0x08
ACK: Final = 0x10
URG: Final = 0x20
ECE: Final = 0x40
CWR: Final = 0x80
AE: Final = 0x100  # the former NS bit (RFC 3540, historic); the remaining reserved bits are 0xE00

# tcpdump's letters in tcpdump's order ("." is ACK); tcpdump 4.99 does not print AE at all.
FLAG_LETTERS = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."), (URG, "U"),
                (ECE, "E"), (CWR, "W"))

HEADER_LEN: Final = 20
MAX_OPTIONS_LEN: Final = 40

OPT_EOL: Final = 0
OPT_NOP: Final = 1
OPT_MSS: Final = 2
OPT_WSCALE: Final = 3
OPT_SACK_PERMITTED: Final = 4
OPT_SACK: Final = 5
OPT_TIMESTAMPS: Final = 8

#: Pseudo-header addresses: IPv4 (RFC 9293 §3.1) or IPv6 (RFC 8200 §8.1, upper-layer
#: checksums: the same sum over the 128-bit addresses, netsim.wire.checksum)
IPAddress = IPv4Address | IPv6Address

_HDR: Final = struct.Struct("!HHIIHHHH")
_from_bytes = int.from_bytes
_TS: Final = struct.Struct("!II")
_MSS: Final = struct.Struct("!BBH")
_KNOWN_KINDS = frozenset({OPT_EOL, OPT_NOP, OPT_MSS, OPT_WSCALE, OPT_SACK_PERMITTED, OPT_SACK,
                          OPT_TIMESTAMPS})
_NOP_NOP_TS: Final = b"\x01\x01\x08\x0a"
_NOP_NOP_TS_VALUES: Final = struct.Struct("!4sII")  # those 4 bytes, TSval, TSecr


class EolOption(NamedTuple):
    kind: int = OPT_EOL


class NopOption(NamedTuple):
    kind: int = OPT_NOP


class MSSOption(NamedTuple):
    mss: int
    kind: int = OPT_MSS


class WindowScaleOption(NamedTuple):
    shift: int
    kind: int = OPT_WSCALE


class SackPermittedOption(NamedTuple):
    kind: int = OPT_SACK_PERMITTED


class SackOption(NamedTuple):
    blocks: tuple[tuple[int, int], ...]  # (left edge, right edge) pairs, right edge exclusive
    kind: int = OPT_SACK


class TimestampOption(NamedTuple):
    tsval: int
    tsecr: int
    kind: int = OPT_TIMESTAMPS


class UnknownOption(NamedTuple):
    kind: int
    data: bytes


TCPOption = (EolOption | NopOption | MSSOption | WindowScaleOption | SackPermittedOption
             | SackOption | TimestampOption | UnknownOption)

NOP: Final = NopOption()
EOL: Final = EolOption()
SACK_PERMITTED: Final = SackPermittedOption()


def encode_options(options: Sequence[TCPOption]) -> bytes:
    """Encode options in the given order, padded with EOL to a multiple of 4 bytes."""
    if len(options) == 3:
        ts = options[2]
        # the common data-segment layout (RFC 7323 Appendix A): NOP, NOP, timestamps
        if type(ts) is TimestampOption and type(options[0]) is NopOption \
                and type(options[1]) is NopOption \
                and 0 <= ts.tsval <= 0xFFFFFFFF and 0 <= ts.tsecr <= 0xFFFFFFFF:
            return _NOP_NOP_TS + _TS.pack(ts.tsval, ts.tsecr)
    out = bytearray()
    for opt in options:
        if isinstance(opt, NopOption | EolOption):
            out.append(opt.kind)
        elif isinstance(opt, MSSOption):
            if not 0 <= opt.mss <= 0xFFFF:
                raise TCPError(f"TCP: MSS {opt.mss} is not in 0..65535")
            out += _MSS.pack(OPT_MSS, 4, opt.mss)
        elif isinstance(opt, WindowScaleOption):
            # RFC 7323 §2.3 caps the shift at 14 on receipt; the byte itself may hold 0..255.
            if not 0 <= opt.shift <= 255:
                raise TCPError(f"TCP: window scale shift {opt.shift} is not in 0..255")
            out += bytes((OPT_WSCALE, 3, opt.shift))
        elif isinstance(opt, SackPermittedOption):
            out += b"\x04\x02"
        elif isinstance(opt, TimestampOption):
            if not (0 <= opt.tsval <= 0xFFFFFFFF and 0 <= opt.tsecr <= 0xFFFFFFFF):
                raise TCPError(f"TCP: timestamps {opt.tsval}, {opt.tsecr} are not 32-bit values")
            out += b"\x08\x0a" + _TS.pack(opt.tsval, opt.tsecr)
        elif isinstance(opt, SackOption):
            # RFC 2018 §3: 1 to 4 blocks of (left edge, right edge), 8 bytes each
            if not 1 <= len(opt.blocks) <= 4:
                raise TCPError(f"TCP: a SACK option holds 1 to 4 blocks, not {len(opt.blocks)}")
            out += bytes((OPT_SACK, 2 + 8 * len(opt.blocks)))
            # checked as plain objects: a caller's bad block must become a TCPError
            blocks: tuple[object, ...] = opt.blocks
            for block in blocks:
                if not isinstance(block, tuple) or len(block) != 2:
                    raise TCPError(f"TCP: SACK block {block!r} is not a (left, right) pair")
                out += _TS.pack(block[0] & 0xFFFFFFFF, block[1] & 0xFFFFFFFF)
        elif isinstance(opt, UnknownOption):
            kind = opt.kind
            # EOL and NOP have no length byte, and a known kind would decode as its own class
            # (or fail to decode with a wrong length): neither round-trips as UnknownOption.
            if not 0 <= kind <= 255 or kind in _KNOWN_KINDS:
                raise TCPError(f"TCP: UnknownOption kind {kind} must be in 0..255 and not one "
                               f"of the kinds with their own class {sorted(_KNOWN_KINDS)}")
            if len(opt.data) > 38:
                raise TCPError(f"TCP: option kind {kind} carries {len(opt.data)} bytes of data, "
                               "more than 38")
            out += bytes((kind, 2 + len(opt.data))) + opt.data
        else:
            raise TCPError(f"TCP: cannot encode option {opt!r}")
    if len(out) % 4:
        out += bytes(4 - len(out) % 4)  # RFC 9293 §3.1: pad with zeros (EOL) to 32 bits
    if len(out) > MAX_OPTIONS_LEN:
        raise TCPError(f"TCP: {len(out)} bytes of options exceed {MAX_OPTIONS_LEN}")
    return bytes(out)


def decode_options(raw: bytes) -> tuple[TCPOption, ...]:
    """Decode the options area of a TCP header (RFC 9293 §3.1, "Options")."""
    if raw == b"":
        return ()
    if len(raw) == 12 and raw[:4] == _NOP_NOP_TS:  # the common data-segment layout
        tsval, tsecr = _TS.unpack_from(raw, 4)
        return (NOP, NOP, TimestampOption(tsval, tsecr))
    opts: list[TCPOption] = []
    i, n = 0, len(raw)
    while i < n:
        kind = raw[i]
        if kind == OPT_EOL:
            opts.append(EOL)
            break  # the rest is padding
        if kind == OPT_NOP:
            opts.append(NOP)
            i += 1
            continue
        if i + 1 >= n:
            raise TCPError(f"TCP: option kind {kind} at offset {i} has no length byte")
        length = raw[i + 1]
        if length < 2:
            raise TCPError(f"TCP: option kind {kind} at offset {i} has bad length {length}")
        if i + length > n:
            raise TCPError(f"TCP: option kind {kind} at offset {i} (length {length}) "
                           f"overruns the header by {i + length - n} bytes")
        body = raw[i + 2:i + length]
        if kind == OPT_MSS and length == 4:
            opts.append(MSSOption((body[0] << 8) | body[1]))
        elif kind == OPT_WSCALE and length == 3:
            opts.append(WindowScaleOption(body[0]))
        elif kind == OPT_SACK_PERMITTED and length == 2:
            opts.append(SACK_PERMITTED)
        elif kind == OPT_TIMESTAMPS and length == 10:
            tsval, tsecr = _TS.unpack(body)
            opts.append(TimestampOption(tsval, tsecr))
        elif kind == OPT_SACK and length in (10, 18, 26, 34):
            opts.append(SackOption(tuple(_TS.unpack_from(body, j)
                                         for j in range(0, length - 2, 8))))
        elif kind in (OPT_MSS, OPT_WSCALE, OPT_SACK_PERMITTED, OPT_TIMESTAMPS, OPT_SACK):
            raise TCPError(f"TCP: option kind {kind} at offset {i} has bad length {length}")
        else:
            opts.append(UnknownOption(kind, bytes(body)))
        i += length
    return tuple(opts)


class TCPSegment(NamedTuple):
    """A TCP segment. `flags` holds the 12 bits after the data offset (FIN = 0x01 … AE)."""

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes = b""
    options: tuple[TCPOption, ...] = ()
    urgent: int = 0
    data_offset: int = 5
    checksum: int = 0

    def build(self, src_ip: IPAddress, dst_ip: IPAddress) -> bytes:
        """The segment's bytes; data offset and checksum are computed here."""
        return build_tcp(src_ip, dst_ip, self.src_port, self.dst_port, self.seq, self.ack,
                         self.flags, self.window, self.payload, encode_options(self.options),
                         self.urgent)

    def option(self, kind: int) -> TCPOption | None:
        for opt in self.options:
            if opt.kind == kind:
                return opt
        return None

    @property
    def seg_len(self) -> int:
        """RFC 9293 SEG.LEN: payload length plus one for each of SYN and FIN."""
        return len(self.payload) + (self.flags & SYN) // SYN + (self.flags & FIN)


# ------------------------------------------------------------------ fast paths for a stack's output
# A stack builds a segment per packet from values it knows to be valid; these skip the
# NamedTuples' Python-level __new__ (tuple.__new__ with all fields) and encode the two options
# of the data phase from byte templates. The results equal what the checked constructors and
# `encode_options`/`decode_options` give.
_new: Final = tuple.__new__
_NOP_NOP_SACK: Final = [b"\x01\x01" + bytes((OPT_SACK, 2 + 8 * n)) for n in range(5)]


def segment_unchecked(src_port: int, dst_port: int, seq: int, ack: int, flags: int, window: int,
                      payload: bytes, options: tuple[TCPOption, ...],
                      data_offset: int) -> TCPSegment:
    """A `TCPSegment` (urgent pointer and checksum 0) from fields known to be in range."""
    seg: TCPSegment = _new(TCPSegment, (src_port, dst_port, seq, ack, flags, window, payload,
                                        options, 0, data_offset, 0))
    return seg


def timestamps_option(tsval: int, tsecr: int) -> tuple[bytes, tuple[TCPOption, ...]]:
    """NOP, NOP, timestamps (RFC 7323 Appendix A): the bytes and the options decoded."""
    # (compiled: each value made a Python int once, for both; the bytes in one pack)
    val: object = tsval
    ecr: object = tsecr
    ts: TimestampOption = _new(TimestampOption, (val, ecr, OPT_TIMESTAMPS))
    return _NOP_NOP_TS_VALUES.pack(_NOP_NOP_TS, val, ecr), (NOP, NOP, ts)


def sack_option(blocks: tuple[tuple[int, int], ...]) -> tuple[bytes, tuple[TCPOption, ...]]:
    """NOP, NOP, SACK with 1-4 `blocks` (RFC 2018 §3): the bytes and the options decoded."""
    raw = _NOP_NOP_SACK[len(blocks)]
    for left, right in blocks:
        raw += _TS.pack(left, right)
    sack: SackOption = _new(SackOption, (blocks, OPT_SACK))
    return raw, (NOP, NOP, sack)


def build_tcp(src_ip: IPAddress, dst_ip: IPAddress, src_port: int, dst_port: int,
              seq: int, ack: int, flags: int, window: int, payload: bytes = b"",
              options: bytes = b"", urgent: int = 0) -> bytes:
    """Build a segment from already-encoded `options` (see `encode_options`)."""
    return b"".join((tcp_fixed_header(src_ip, dst_ip, src_port, dst_port, seq, ack, flags,
                                      window, payload, options, urgent), options, payload))


def tcp_fixed_header(src_ip: IPAddress, dst_ip: IPAddress, src_port: int, dst_port: int,
                     seq: int, ack: int, flags: int, window: int, payload: bytes = b"",
                     options: bytes = b"", urgent: int = 0) -> bytes:
    """The 20 bytes that come before `options` and `payload` in the segment `build_tcp`
    builds (its checksum covers them all), for a caller that joins a whole frame at once."""
    olen = len(options)
    if olen % 4 or olen > MAX_OPTIONS_LEN:
        raise TCPError(f"TCP: options must be encoded, padded to 4 bytes, at most 40 "
                       f"(got {olen})")
    if not 0 <= flags <= 0xFFF:
        raise TCPError(f"TCP: flags 0x{flags:x} do not fit in 12 bits")
    if not (isinstance(src_ip, IPv4Address) and isinstance(dst_ip, IPv4Address)
            or isinstance(src_ip, IPv6Address) and isinstance(dst_ip, IPv6Address)):
        raise TCPError(f"TCP: pseudo-header addresses must be two IPv4Address or two "
                       f"IPv6Address values, got {src_ip!r} and {dst_ip!r}")
    hlen = HEADER_LEN + olen
    length = hlen + len(payload)
    if length > 0xFFFF:
        # (IPv6 jumbograms, RFC 9293 §3.7.5, are not supported)
        family = "IPv6" if isinstance(src_ip, IPv6Address) else "IPv4"
        raise TCPError(f"TCP: segment of {length} bytes does not fit an {family} packet")
    off_flags = ((hlen >> 2) << 12) | flags
    # RFC 9293 §3.1: the checksum is the complement of the one's-complement sum of the
    # pseudo-header, the header and the data (padded to a whole word). The data begin on a
    # word boundary, so their words add up separately; a 32-bit field is congruent to the sum
    # of its halves modulo 0xFFFF. The sum is never 0 (the data offset is at least 5).
    total = (src_port + dst_port + seq + ack + off_flags + window + urgent
             + pseudo_header_sum(src_ip, dst_ip, PROTO_TCP, length))
    if olen:
        total += _from_bytes(options, "big")
    if payload:
        total += word_sum(payload)
    folded = total % 0xFFFF
    try:
        head = _HDR.pack(src_port, dst_port, seq, ack, off_flags, window,
                         0xFFFF - folded if folded else 0, urgent)
    except struct.error:
        raise TCPError(f"TCP: a header field is out of range (ports {src_port}, {dst_port} "
                       f"window {window} and urgent {urgent} are 16-bit, seq {seq} and "
                       f"ack {ack} 32-bit)") from None
    return head


def parse_tcp(data: BytesLike, src_ip: IPAddress | None = None,
              dst_ip: IPAddress | None = None) -> TCPSegment:
    """Parse a TCP segment (the whole IP payload). The checksum is verified when both
    addresses are given."""
    n = len(data)
    if n < HEADER_LEN:
        raise TCPError(f"TCP: truncated header: {n} of {HEADER_LEN} bytes")
    buf = bytes(data)
    sport, dport, seq, ack, off_flags, window, csum, urgent = _HDR.unpack_from(buf, 0)
    offset = off_flags >> 12
    hlen = offset * 4
    if offset < 5:
        raise TCPError(f"TCP: bad data offset {offset} (header length {hlen} < 20)")
    if hlen > n:
        raise TCPError(f"TCP: data offset {offset} says {hlen} header bytes but the segment "
                       f"has {n}")
    if src_ip is not None and dst_ip is not None:
        # RFC 1071: pseudo-header, header and data sum to 0xFFFF (never 0: the data offset is
        # at least 5), i.e. to a multiple of 0xFFFF.
        if (word_sum(buf) + pseudo_header_sum(src_ip, dst_ip, PROTO_TCP, n)) % 0xFFFF:
            raise TCPChecksumError(f"TCP: bad checksum 0x{csum:04x}")
    options = decode_options(buf[HEADER_LEN:hlen]) if hlen > HEADER_LEN else ()
    return TCPSegment(sport, dport, seq, ack, off_flags & 0xFFF, window, buf[hlen:], options,
                      urgent, offset, csum)


def flags_str(flags: int) -> str:
    """tcpdump's flag letters: ``S``, ``S.``, ``FP.``, ``.U``, ``none`` (tcpdump 4.99)."""
    return "".join(letter for bit, letter in FLAG_LETTERS if flags & bit) or "none"


def format_options(options: Sequence[TCPOption]) -> str:
    """Options as tcpdump prints them inside ``options [...]``."""
    parts = []
    for opt in options:
        if isinstance(opt, NopOption):
            parts.append("nop")
        elif isinstance(opt, EolOption):
            parts.append("eol")
        elif isinstance(opt, MSSOption):
            parts.append(f"mss {opt.mss}")
        elif isinstance(opt, WindowScaleOption):
            parts.append(f"wscale {opt.shift}")
        elif isinstance(opt, SackPermittedOption):
            parts.append("sackOK")
        elif isinstance(opt, TimestampOption):
            parts.append(f"TS val {opt.tsval} ecr {opt.tsecr}")
        elif isinstance(opt, SackOption):
            # tcpdump prints the blocks back to back: "sack 2 {1:2}{3:4}"
            blocks = "".join(f"{{{left}:{right}}}" for left, right in opt.blocks)
            parts.append(f"sack {len(opt.blocks)} {blocks}")
        else:
            parts.append(f"unknown-{opt.kind} 0x{opt.data.hex()}" if opt.data
                         else f"unknown-{opt.kind}")
    return ",".join(parts)
