"""Checksum and segmentation offload on a TAP: the kernel checks and fills TCP checksums, and
hands netsim super-segments of up to 64 KB (issue 20: the live path's speed).

A TAP opened with ``IFF_VNET_HDR`` puts a ``struct virtio_net_hdr`` before every frame, both
ways; ``TUNSETOFFLOAD`` tells the kernel what the reader can take (Linux
include/uapi/linux/if_tun.h: ``TUN_F_CSUM`` "you can hand me unchecksummed packets",
``TUN_F_TSO4``/``TUN_F_TSO6`` "I can handle TSO for IPv4/IPv6 packets"). The header
(include/uapi/linux/virtio_net.h, ``struct virtio_net_hdr``; its numbers in the host's byte
order, a TAP's default, which only TUNSETVNETLE/TUNSETVNETBE change) is ten bytes:

- ``flags`` (u8): ``VIRTIO_NET_HDR_F_NEEDS_CSUM`` (1, "use csum_start, csum_offset"): the
  checksum is not computed; its field holds the pseudo-header's sum and the checksum is to be
  computed from ``csum_start`` to the end and stored ``csum_offset`` bytes after
  ``csum_start`` (Linux's CHECKSUM_PARTIAL, include/linux/virtio_net.h
  ``virtio_net_hdr_from_skb``); ``VIRTIO_NET_HDR_F_DATA_VALID`` (2, "csum is valid"): the
  kernel has already verified it (CHECKSUM_UNNECESSARY);
- ``gso_type`` (u8): ``VIRTIO_NET_HDR_GSO_NONE`` (0), ``_TCPV4`` (1), ``_TCPV6`` (4), with
  ``VIRTIO_NET_HDR_GSO_ECN`` (0x80) or'ed in when "TCP has ECN set";
- ``hdr_len`` (u16, "Ethernet + IP + tcp/udp hdrs"), ``gso_size`` (u16, "bytes to append to
  hdr_len per frame"), ``csum_start`` and ``csum_offset`` (u16 each).

With TSO the kernel sends netsim one frame for what would be several segments on a wire: one
IPv4 (or IPv6) datagram whose total length covers them all, one TCP header, ``gso_size`` the
segment size. netsim's TCP takes it as one segment: RFC 9293 §3.10.7.4 bounds what it accepts
by the receive window, not by the MSS (the MSS bounds what the *peer* may send on a wire, and
the kernel keeps to it when it segments). netsim's own segments leave at MSS size with their
checksums computed (``gso_type`` NONE, ``flags`` 0): they are few and small in the direction
that carries data to netsim, and the stack builds its bytes whole.

A frame the kernel does not vouch for (``flags`` 0: e.g. one a packet socket injected) is
checked as before; one whose header is malformed is a counted drop (`TapStats`).
"""

from __future__ import annotations

import errno
import fcntl
import struct
from typing import Final

from netsim.wire.checksum import internet_checksum, word_sum
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import ip_from_bytes
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.tcp import parse_tcp

__all__ = ["DATA_VALID", "NEEDS_CSUM", "VNET_HDR", "VNET_HDR_LEN", "complete_checksum",
           "set_offload", "trusted_tcp_frame"]

#: struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
VNET_HDR: Final = struct.Struct("=BBHHHH")
VNET_HDR_LEN: Final = VNET_HDR.size  # 10
NEEDS_CSUM: Final = 1  # VIRTIO_NET_HDR_F_NEEDS_CSUM
DATA_VALID: Final = 2  # VIRTIO_NET_HDR_F_DATA_VALID
GSO_NONE: Final = 0
GSO_TCPV4: Final = 1
GSO_TCPV6: Final = 4
GSO_ECN: Final = 0x80
#: The header of a frame netsim writes: no checksum to fill, not a GSO frame.
PLAIN: Final = bytes(VNET_HDR_LEN)

# include/uapi/linux/if_tun.h
TUNSETOFFLOAD: Final = 0x400454D0  # _IOW('T', 208, unsigned int)
TUNSETVNETHDRSZ: Final = 0x400454D8  # _IOW('T', 216, int)
TUNGETFEATURES: Final = 0x800454CF  # _IOR('T', 207, unsigned int)
IFF_VNET_HDR: Final = 0x4000
TUN_F_CSUM: Final = 0x01
TUN_F_TSO4: Final = 0x02
TUN_F_TSO6: Final = 0x04

_ETH_IPV4: Final = b"\x08\x00"
_ETH_IPV6: Final = b"\x86\xdd"


def supports_vnet_hdr(fd: int) -> bool:
    """Whether this kernel's TUN driver offers IFF_VNET_HDR (TUNGETFEATURES)."""
    try:
        out = fcntl.ioctl(fd, TUNGETFEATURES, b"\0\0\0\0")
    except OSError:
        return False
    return bool(struct.unpack("I", out)[0] & IFF_VNET_HDR)


def set_offload(fd: int, csum: bool = True, tso: bool = True) -> int:
    """Ask for checksum offload (and TSO for IPv4 and IPv6 if `tso`), or with `csum` False
    for none; what the kernel accepts of that, dropping TSO and then everything on refusal.
    Returns the TUN_F_* flags now set (0: frames come with their checksums filled in)."""
    wanted = TUN_F_CSUM | (TUN_F_TSO4 | TUN_F_TSO6 if tso else 0) if csum else 0
    for flags in dict.fromkeys((wanted, TUN_F_CSUM, 0)):
        try:
            fcntl.ioctl(fd, TUNSETOFFLOAD, flags)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTTY):
                raise
            continue
        return flags
    return 0


def _packet_end(frame: bytes) -> int:
    """Where the IP datagram in `frame` ends (a TAP frame carries no link padding, but the
    length fields decide); len(frame) when they cannot be read."""
    n = len(frame)
    if n >= 34 and frame[12:14] == _ETH_IPV4:
        end = 14 + ((frame[16] << 8) | frame[17])
    elif n >= 54 and frame[12:14] == _ETH_IPV6:
        end = 54 + ((frame[18] << 8) | frame[19])
    else:
        return n
    return end if end <= n else n


def complete_checksum(frame: bytes, csum_start: int, csum_offset: int) -> bytes | None:
    """`frame` with the checksum a NEEDS_CSUM header asks for filled in: the field
    `csum_offset` bytes after `csum_start` holds the pseudo-header's sum; the checksum
    (RFC 1071) over that field and everything from `csum_start` to the datagram's end goes
    there. None when the offsets do not fall inside the frame (a malformed header)."""
    end = _packet_end(frame)
    at = csum_start + csum_offset
    if csum_start < 14 or at + 2 > end:
        return None
    csum = internet_checksum(frame[csum_start:end])
    # 0 and 0xFFFF are the same in one's complement; a UDP checksum of 0 means "none"
    # (RFC 768), so the computed 0 is sent as 0xFFFF, as Linux does
    return b"".join((frame[:at], (csum or 0xFFFF).to_bytes(2, "big"), frame[at + 2:]))


def trusted_tcp_frame(frame: bytes, mac: bytes, ip: bytes) -> LazyFrame | None:
    """A TCP/IPv4 frame to `mac` and `ip` (4 bytes) whose TCP checksum the kernel vouches for,
    as a `LazyFrame` (netsim.wire.lazyframe): the stack takes its segment as it is, with no
    checksum to verify. Only the plainest datagrams qualify: an option-less IPv4 header with
    a correct header checksum (the kernel always fills that one: RFC 1071), DSCP 0, DF set
    and no fragment (what a LazyFrame's header holds, so its bytes, if ever built, are the
    same), a total length the frame holds. None for any other frame: it takes the ordinary
    path (its TCP checksum completed first if the kernel left it to netsim)."""
    n = len(frame)
    if n < 54 or frame[14] != 0x45 or frame[23] != 6 or frame[0:6] != mac \
            or frame[30:34] != ip or frame[12:14] != _ETH_IPV4 \
            or frame[20] != 0x40 or frame[21] or frame[15] & 0xFC:
        return None
    total = (frame[16] << 8) | frame[17]
    if total < 40 or total + 14 > n or word_sum(frame[14:34]) % 0xFFFF:
        return None
    raw = frame[34:14 + total]
    try:
        seg = parse_tcp(raw)  # no addresses: the header is checked, the checksum is not
    except WireError:
        return None
    hlen = seg.data_offset << 2
    return LazyFrame(frame[0:6], frame[6:12], ip_from_bytes(frame[26:30]),
                     ip_from_bytes(frame[30:34]), frame[22], (frame[18] << 8) | frame[19],
                     seg, raw[20:hlen], frame[15] & 3)
