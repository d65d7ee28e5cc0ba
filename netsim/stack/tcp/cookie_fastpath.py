"""The lean path of a SYN that a listener answers with a cookie (issue 23: a SYN flood).

While a listener's half-open queue is full (or with ``syncookies=2``), a SYN changes no state:
the answer is a function of the frame. `answer_from_frame` recognises such a SYN from the
frame's bytes and sends the SYN-ACK that `Stack.receive` would send, with the same counters,
without building the parsed objects (`IPv4Packet`, `TCPSegment`, option tuples) on the way.
It is a speed trick, kept here next to `syncookies` so the stack's files read plainly: it
answers only when the frame is exactly

- an Ethernet II frame to the interface's MAC with EtherType IPv4, the interface up;
- IPv4 with a 20-byte header, no fragment, the reserved bit clear, a correct header checksum
  (RFC 791 §3.1), to one of the stack's addresses;
- TCP with only SYN set, a sane data offset, a correct checksum (RFC 9293 §3.1), to a port
  with a listener that answers with cookies now, from a 4-tuple with no connection;

and anything else (including every malformed frame, which the full path counts as a drop)
returns False: the caller hands the frame to `Stack.receive`. tests/test_cookie_fastpath.py
feeds the same frames through both paths and compares every byte sent and every counter.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from netsim.stack.tcp import syncookies
from netsim.wire.checksum import word_sum
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import ip_from_bytes
from netsim.wire.tcp import decode_options

if TYPE_CHECKING:
    from netsim.stack.host import Stack
    from netsim.stack.interface import Interface

__all__ = ["answer_from_frame"]

_ETH_IPV4: Final = b"\x08\x00"
_SYN: Final = 0x02
_PORTS_SEQ: Final = struct.Struct("!HHI")
# Linux's SYN options: mss, sackOK, TS, nop, wscale (20 bytes), read in one unpack
_LINUX_SYN: Final = struct.Struct("!2sH4sI4x3sB")
_MSS_HEAD: Final = b"\x02\x04"
_SACK_TS_HEAD: Final = b"\x04\x02\x08\x0a"
_NOP_WS_HEAD: Final = b"\x01\x03\x03"
_from_bytes: Final = int.from_bytes


def answer_from_frame(stack: Stack, iface: Interface, frame: bytes, now: float) -> bool:
    """If `frame` (arriving on `iface`) is a SYN a listener answers with a cookie, answer it as
    `Stack.receive` would and return True; otherwise change nothing and return False."""
    # TCP flags (byte 47 with a 20-byte IPv4 header) only SYN; AE and reserved bits clear
    n = len(frame)
    if n < 54 or frame[47] != _SYN or frame[46] & 0x0F or frame[14] != 0x45 \
            or frame[23] != 6 or frame[12:14] != _ETH_IPV4:
        return False
    # the reserved bit, MF and the fragment offset clear (DF may be set)
    if frame[20] & 0xBF or frame[21] or not iface.up or frame[0:6] != iface.mac:
        return False
    total = (frame[16] << 8) | frame[17]
    hlen = (frame[46] >> 4) << 2  # TCP data offset
    if hlen < 20 or total < 20 + hlen or total + 14 > n:
        return False
    sport, dport, seq = _PORTS_SEQ.unpack_from(frame, 34)
    tcp = stack.tcp
    lst = tcp.listeners.get(dport)
    if lst is None:
        return False
    half_open = len(lst.half_open)
    full = half_open >= tcp.cfg.max_half_open or half_open >= lst.cfg.max_half_open
    mode = lst.cfg.syncookies
    if not (mode == syncookies.ALWAYS or full and mode == syncookies.ON_OVERFLOW):
        return False
    dst = ip_from_bytes(frame[30:34])
    src = ip_from_bytes(frame[26:30])
    if not stack.is_local(dst) or (dst, dport, src, sport) in tcp.conns:
        return False
    # RFC 1071: a header (or a segment with its pseudo-header) carrying a correct checksum
    # sums to a multiple of 0xFFFF (never 0 here: version 4, data offset at least 5)
    if _from_bytes(frame[14:34], "big") % 0xFFFF:
        return False
    if (word_sum(frame[34:14 + total]) + src._ip + dst._ip + 6 + total - 20) % 0xFFFF:  # type: ignore[attr-defined]
        return False
    wscale: int | None
    tsval: int | None
    if hlen == 40:
        head, peer_mss, sack_ts, tsval, nop_ws, wscale = _LINUX_SYN.unpack_from(frame, 54)
        linux = head == _MSS_HEAD and sack_ts == _SACK_TS_HEAD and nop_ws == _NOP_WS_HEAD
        sack = True
    else:
        linux = False
    if not linux:
        try:
            options = decode_options(frame[54:34 + hlen])
        except WireError:
            return False  # the full path counts it as malformed
        peer_mss, wscale, sack, tsval = syncookies.syn_options(options)
    # What Stack.receive and TcpLayer.segment_input count on the way to a cookie
    stack.now = now
    stack.eth_counts["rx"] += 1
    ipc = stack.ipv4_counts
    ipc["rx"] += 1
    ipc["delivered"] += 1
    stack.tcp_counts["rx"] += 1
    if full:
        lst.last_overflow = now
    syncookies.answer(tcp, lst, dst, src, sport, dport, seq, peer_mss, wscale, sack, tsval, now)
    return True
