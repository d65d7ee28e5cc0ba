"""IEEE 802.1Q VLAN tags: four bytes after the source address, the TPID 0x8100 and the TCI
(priority, drop eligible, the 12-bit VLAN identifier)."""

from __future__ import annotations

from typing import Final

from netsim.wire.errors import EthernetError

__all__ = ["TPID", "VID_MAX", "tag", "untag", "vlan_of"]

TPID: Final = b"\x81\x00"
#: VIDs 0 (priority tag: no VLAN) and 0xFFF are reserved; 1..4094 name VLANs
VID_MAX: Final = 4094


def vlan_of(frame: bytes) -> int | None:
    """The VID of a tagged frame (0 for a priority tag), None for an untagged one."""
    if len(frame) >= 18 and frame[12:14] == TPID:
        return ((frame[14] << 8) | frame[15]) & 0x0FFF
    return None


def tag(frame: bytes, vid: int, pcp: int = 0) -> bytes:
    """``frame`` with a tag for VLAN ``vid`` (priority ``pcp``) after its addresses."""
    if len(frame) < 14:
        raise EthernetError(f"802.1Q: a {len(frame)}-byte frame has no Ethernet header")
    if not 0 <= vid <= VID_MAX or not 0 <= pcp <= 7:
        raise EthernetError(f"802.1Q: VID {vid} / priority {pcp} out of range")
    tci = (pcp << 13) | vid
    return frame[:12] + TPID + bytes((tci >> 8, tci & 0xFF)) + frame[12:]


def untag(frame: bytes) -> bytes:
    """``frame`` without its (outer) 802.1Q tag."""
    if len(frame) < 18 or frame[12:14] != TPID:
        raise EthernetError("802.1Q: the frame has no VLAN tag")
    return frame[:12] + frame[16:]
