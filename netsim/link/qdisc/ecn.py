"""ECN at the IP-header level: the two ECN bits of an IPv4 frame, and setting CE on them.

The ECN field is the low two bits of the IPv4 TOS octet (RFC 3168 §5): 00 Not-ECT, 10 ECT(0),
01 ECT(1), 11 CE. A router that would drop an ECT packet for congestion may instead set CE
(RFC 3168 §5); it never marks a Not-ECT packet. Changing the octet changes the header
checksum, which is recomputed over the header (RFC 3168 §17: header checksum recalculation).

This is the seam for ECN in TCP (RFC 3168 §6): a sender sets ECT on its packets, a receiver
echoes CE back as ECE. Until then, no stack packet is ECT, and a marking queue drops.
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
    """The ECN field of an IPv4 frame, or None if the frame is not IPv4."""
    if not _ipv4_header_length(frame):
        return None
    return frame[_ETH + 1] & 0b11


def with_ecn(frame: bytes, ecn: int) -> bytes:
    """``frame`` with its ECN field set to ``ecn`` and the header checksum recomputed.
    A frame that is not IPv4 is returned unchanged."""
    ihl = _ipv4_header_length(frame)
    if not ihl:
        return frame
    out = bytearray(frame)
    out[_ETH + 1] = (out[_ETH + 1] & 0xFC) | (ecn & 0b11)
    out[_ETH + 10:_ETH + 12] = b"\x00\x00"
    out[_ETH + 10:_ETH + 12] = internet_checksum(bytes(out[_ETH:_ETH + ihl])).to_bytes(2, "big")
    return bytes(out)


def set_ce(frame: bytes) -> bytes | None:
    """The frame with CE set if it is ECN-capable (ECT(0), ECT(1), or already CE); None if it
    is Not-ECT or not IPv4, so it must be dropped instead."""
    ecn = ecn_of(frame)
    if ecn is None or ecn == NOT_ECT:
        return None
    if ecn == CE:
        return frame
    return with_ecn(frame, CE)
