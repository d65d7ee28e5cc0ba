"""ECN at the IP-header level: the two ECN bits of an IPv4 or IPv6 frame, and setting CE on them.

The ECN field is the low two bits of the IPv4 TOS octet (RFC 3168 §5): 00 Not-ECT, 10 ECT(0),
01 ECT(1), 11 CE. A router that would drop an ECT packet for congestion may instead set CE
(RFC 3168 §5); it never marks a Not-ECT packet. Changing the octet changes the header
checksum, which is recomputed over the header (RFC 3168 §17: header checksum recalculation).
In IPv6 the same two bits are the low bits of the Traffic Class octet (RFC 3168 §5: the ECT
and CE codepoints; RFC 8200 §7, traffic classes), which spans the first two octets of the
header (bits 4..11): the ECN field is bits 4 and 5 of the second octet. IPv6 has no header
checksum (RFC 8200 §3, the header format), so only the bits change.

This is the seam for ECN in TCP (RFC 3168 §6): a sender sets ECT on its packets, a receiver
echoes CE back as ECE (netsim/stack/tcp/ecn.py). A packet that is not ECT is dropped instead.
"""

from __future__ import annotations

from typing import Final

from netsim.wire.checksum import internet_checksum

__all__ = ["CE", "ECT0", "ECT1", "NOT_ECT", "ecn_of", "set_ce", "with_ecn"]

NOT_ECT: Final = 0b00
ECT1: Final = 0b01
ECT0: Final = 0b10
CE: Final = 0b11

_ETH: Final = 14
_ETHERTYPE_IPV4: Final = b"\x08\x00"
_ETHERTYPE_IPV6: Final = b"\x86\xdd"
_IPV6_HEADER: Final = 40


def _is_ipv6(frame: bytes) -> bool:
    """Whether an Ethernet frame carries a whole IPv6 header (RFC 8200 §3)."""
    return (len(frame) >= _ETH + _IPV6_HEADER and frame[12:14] == _ETHERTYPE_IPV6
            and frame[_ETH] >> 4 == 6)


def _ipv4_header_length(frame: bytes) -> int:
    """The IPv4 header length of an Ethernet frame, or 0 if it does not carry a whole one."""
    if len(frame) < _ETH + 20 or frame[12:14] != _ETHERTYPE_IPV4:
        return 0
    first = frame[_ETH]
    if first >> 4 != 4:
        return 0
    ihl = (first & 0x0F) * 4
    return ihl if ihl >= 20 and len(frame) >= _ETH + ihl else 0


def ecn_of(frame: bytes) -> int | None:
    """The ECN field of an IPv4 or IPv6 frame, or None if the frame is neither."""
    if not _ipv4_header_length(frame):
        if _is_ipv6(frame):  # the Traffic Class's low two bits (RFC 3168 §5, ECT/CE)
            return (frame[_ETH + 1] >> 4) & 0b11
        return None
    return frame[_ETH + 1] & 0b11


def with_ecn(frame: bytes, ecn: int) -> bytes:
    """``frame`` with its ECN field set to ``ecn`` and (IPv4) the header checksum recomputed.
    A frame that is neither IPv4 nor IPv6 is returned unchanged."""
    ihl = _ipv4_header_length(frame)
    if not ihl:
        if not _is_ipv6(frame):
            return frame
        # IPv6: no header checksum (RFC 8200 §3), just the Traffic Class's low bits
        six = bytearray(frame)
        six[_ETH + 1] = (six[_ETH + 1] & 0xCF) | ((ecn & 0b11) << 4)
        return bytes(six)
    out = bytearray(frame)
    out[_ETH + 1] = (out[_ETH + 1] & 0xFC) | (ecn & 0b11)
    out[_ETH + 10:_ETH + 12] = b"\x00\x00"
    out[_ETH + 10:_ETH + 12] = internet_checksum(bytes(out[_ETH:_ETH + ihl])).to_bytes(2, "big")
    return bytes(out)


def set_ce(frame: bytes) -> bytes | None:
    """The frame with CE set if it is ECN-capable (ECT(0), ECT(1), or already CE); None if it
    is Not-ECT or neither IPv4 nor IPv6, so it must be dropped instead."""
    ecn = ecn_of(frame)
    if ecn is None or ecn == NOT_ECT:
        return None
    if ecn == CE:
        return frame
    return with_ecn(frame, CE)
