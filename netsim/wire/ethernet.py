"""Ethernet II frames (destination, source, EtherType, payload)."""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from netsim.wire.checksum import BytesLike
from netsim.wire.errors import EthernetError
from netsim.wire.mac import MacAddress, mac_from_bytes

ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_ARP: Final = 0x0806
ETHERTYPE_IPV6: Final = 0x86DD
ETHERTYPE_VLAN: Final = 0x8100

ETHERTYPE_MIN: Final = 0x0600  # smaller values are 802.3 lengths

HEADER_LEN: Final = 14
MIN_FRAME_LEN: Final = 60  # without the FCS; shorter frames are padded on a real wire
DEFAULT_MTU: Final = 1500

_ETHERTYPE: Final = struct.Struct("!H")
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)

_ETHERTYPE_NAMES = {ETHERTYPE_IPV4: "IPv4", ETHERTYPE_ARP: "ARP", ETHERTYPE_IPV6: "IPv6",
                    ETHERTYPE_VLAN: "802.1Q"}


class EthernetFrame(NamedTuple):
    dst: MacAddress
    src: MacAddress
    ethertype: int
    payload: bytes

    def build(self, mtu: int = DEFAULT_MTU, pad: bool = False) -> bytes:
        """The frame's bytes. `mtu` bounds the payload; `pad` pads to the 60-byte minimum."""
        return build_ethernet(self.dst, self.src, self.ethertype, self.payload, mtu=mtu, pad=pad)

    @property
    def ethertype_name(self) -> str:
        return _ETHERTYPE_NAMES.get(self.ethertype, f"0x{self.ethertype:04x}")


def build_ethernet(dst: BytesLike | str, src: BytesLike | str, ethertype: int, payload: bytes,
                   mtu: int = DEFAULT_MTU, pad: bool = False) -> bytes:
    """An Ethernet II frame. `dst` and `src` are 6-byte addresses (`MacAddress` is one); a
    string such as "02:00:00:00:00:01" is refused with an `EthernetError`, not converted."""
    if len(payload) > mtu:
        raise EthernetError(f"Ethernet: payload of {len(payload)} bytes exceeds the MTU of {mtu}")
    frame = b"".join((ethernet_header(dst, src, ethertype), payload))
    if pad and len(frame) < MIN_FRAME_LEN:
        frame += bytes(MIN_FRAME_LEN - len(frame))
    return frame


def ethernet_header(dst: BytesLike | str, src: BytesLike | str, ethertype: int) -> bytes:
    """The 14 bytes before an Ethernet II frame's payload (checked as `build_ethernet` does),
    for a caller that joins a whole frame at once."""
    # IEEE 802.3 §3.2.6: values below 0x0600 are a length (802.3 frame), not an EtherType, and
    # parse_ethernet refuses them.
    if not ETHERTYPE_MIN <= ethertype <= 0xFFFF:
        raise EthernetError(f"Ethernet: EtherType {ethertype} is not in 0x0600..0xffff")
    if not isinstance(dst, _BYTES_LIKE) or not isinstance(src, _BYTES_LIKE) \
            or len(dst) != 6 or len(src) != 6:
        raise EthernetError(f"Ethernet: addresses must be 6 bytes, got {dst!r} and {src!r}")
    return b"".join((dst, src, _ETHERTYPE.pack(ethertype)))


def parse_ethernet(data: BytesLike) -> EthernetFrame:
    """Parse an Ethernet II frame (without FCS). The payload may include link padding."""
    if len(data) < HEADER_LEN:
        raise EthernetError(f"Ethernet: truncated header: {len(data)} of {HEADER_LEN} bytes")
    buf = bytes(data)
    ethertype = (buf[12] << 8) | buf[13]
    if ethertype < ETHERTYPE_MIN:
        raise EthernetError(f"Ethernet: 0x{ethertype:04x} is an 802.3 length, not an EtherType")
    return EthernetFrame(mac_from_bytes(buf[0:6]), mac_from_bytes(buf[6:12]), ethertype,
                         buf[14:])
