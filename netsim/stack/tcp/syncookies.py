"""SYN cookies (RFC 4987 §3.6), encoded as Linux encodes them (net/ipv4/syncookies.c).

A listener whose half-open queue is full (or, with ``syncookies=2``, every listener) keeps no
state for a SYN: it answers with a SYN-ACK whose initial sequence number *is* the state::

    ISN = H1(4-tuple) + SEG.SEQ + (count << 24) + ((H2(4-tuple, count) + mss_index) mod 2^24)

`count` is a coarse clock (seconds >> 6: it ticks every 64 s), `H1` and `H2` are keyed hashes
(BLAKE2s with the stack's secret) and `mss_index` picks the largest entry of `MSS_TABLE` not
above the MSS the client offered. A returning ACK is checked by undoing that sum with
``SEG.ACK - 1`` and ``SEG.SEQ - 1``: the 8-bit count must be at most `MAX_AGE` ticks old and
the remaining 24 bits must decode to a valid MSS index. Nobody without the secret can make an
ACK that decodes.

The ISN has no room for the other SYN options. With timestamps (RFC 7323) the low 6 bits of
the SYN-ACK's TSval carry them and come back in the ACK's TSecr: window scale shift (4 bits,
15 = not offered), SACK permitted (bit 4) and ECN agreed (bit 5: the SYN was an ECN-setup SYN
and the listener agrees, so the SYN-ACK is ECN-setup too, RFC 3168 §6.1.1). Without
timestamps they are lost: the cookie SYN-ACK offers only MSS and is not ECN-setup (Linux
clears the options of a cookie SYN without timestamps; its SYN-ACK may still carry ECE, but
the connection the cookie opens has ECN off, so netsim does not offer what it cannot keep).

Over IPv6 the hashes take the two 128-bit addresses and the MSS classes are Linux's for IPv6
(net/ipv6/syncookies.c): a connection's family is known from its addresses, so one cookie
never decodes as the other family's.
"""

from __future__ import annotations

import hashlib
import struct
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Final

from netsim.stack.tcp.isn import ts_offset
from netsim.stack.tcp.seq import MASK
from netsim.wire.tcp import (
    ACK,
    CWR,
    ECE,
    OPT_MSS,
    OPT_SACK_PERMITTED,
    OPT_TIMESTAMPS,
    OPT_WSCALE,
    SACK_PERMITTED,
    SYN,
    IPAddress,
    MSSOption,
    TCPOption,
    TCPSegment,
    TimestampOption,
    WindowScaleOption,
    build_tcp,
)

if TYPE_CHECKING:
    from netsim.stack.tcp.layer import TcpLayer, TcpListener

#: The MSS classes a cookie can carry (Linux's msstab for IPv4): 2 bits of the ISN.
MSS_TABLE: Final = (536, 1300, 1440, 1460)
#: Over IPv6 (Linux's msstab of net/ipv6/syncookies.c): MTUs 1280, 1480, 1500 and 9000 less
#: 60 bytes of headers (RFC 8200 §8.3, maximum upper-layer payload size)
MSS_TABLE6: Final = (1220, 1420, 1440, 8940)
COOKIE_BITS: Final = 24  # the low bits hold H2 + mss_index; the top 8 the count
COOKIE_MASK: Final = (1 << COOKIE_BITS) - 1
PERIOD_SHIFT: Final = 6  # the count ticks every 2**6 = 64 seconds
MAX_AGE: Final = 2  # valid while the count moved on by at most this (netsim's choice; Linux: < 2)
#: Seconds after the last overflow of a listener's half-open queue during which ACKs are
#: checked as cookies when cookies are used only on overflow (syncookies=1), as Linux's
#: tcp_synq_no_recent_overflow: a cookie sent then can still come back.
VALIDITY: Final = float((MAX_AGE + 1) << PERIOD_SHIFT)
TS_BITS: Final = 6  # low TSval bits that carry the options
TS_MASK: Final = (1 << TS_BITS) - 1
_WS_NONE: Final = 0xF
_SACK_BIT: Final = 1 << 4
_ECN_BIT: Final = 1 << 5

_HASH_INPUT: Final = struct.Struct("!IIHHI")
_HASH_INPUT6: Final = struct.Struct("!16s16sHHI")
_II: Final = struct.Struct("!II")
_MSS_OPT: Final = struct.Struct("!BBH")

OFF: Final = 0
ON_OVERFLOW: Final = 1
ALWAYS: Final = 2
#: Names the CLI accepts for the modes (as net.ipv4.tcp_syncookies's 0, 1, 2).
MODES: Final = {"0": OFF, "off": OFF, "1": ON_OVERFLOW, "on-overflow": ON_OVERFLOW,
                "2": ALWAYS, "always": ALWAYS}


def secret_for(key: bytes, name: str) -> bytes:
    """A stack's cookie secret, derived from its ISN key (reproducible in simulation; a live
    host replaces it with random bytes)."""
    return hashlib.blake2s(name.encode(), key=key[:32] or b"\x00", person=b"cookie").digest()


def count_at(now: float) -> int:
    """The coarse clock of cookies: seconds >> 6."""
    return int(now) >> PERIOD_SHIFT


_keyed: dict[tuple[bytes, bytes], hashlib.blake2s] = {}


def _hash(secret: bytes, which: bytes, saddr: IPAddress, daddr: IPAddress, sport: int,
          dport: int, count: int) -> int:
    base = _keyed.get((secret, which))
    if base is None:  # a keyed BLAKE2s state, copied per use (cheaper than keying anew)
        if len(_keyed) > 64:
            _keyed.clear()
        base = _keyed[(secret, which)] = hashlib.blake2s(key=secret, digest_size=4,
                                                         person=which)
    h = base.copy()
    # the addresses packed as 4 bytes each (16 over IPv6), then the ports and the count
    if isinstance(saddr, IPv6Address):
        h.update(_HASH_INPUT6.pack(saddr.packed, daddr.packed, sport, dport, count & MASK))
    else:
        h.update(_HASH_INPUT.pack(int(saddr), int(daddr), sport, dport, count & MASK))
    return int.from_bytes(h.digest(), "big")


def mss_table(addr: IPAddress) -> tuple[int, ...]:
    """The MSS classes of cookies for connections with `addr`'s family."""
    return MSS_TABLE6 if isinstance(addr, IPv6Address) else MSS_TABLE


def mss_index(mss: int, table: tuple[int, ...] = MSS_TABLE) -> int:
    """The largest class not above `mss` (index 0 for anything smaller, as Linux)."""
    for i in range(len(table) - 1, 0, -1):
        if mss >= table[i]:
            return i
    return 0


def make_cookie(secret: bytes, saddr: IPAddress, daddr: IPAddress, sport: int, dport: int,
                sseq: int, count: int, mss_idx: int) -> int:
    """The ISN for a SYN from (saddr, sport) to (daddr, dport) with sequence number `sseq`."""
    h1 = _hash(secret, b"h1", saddr, daddr, sport, dport, 0)
    h2 = _hash(secret, b"h2", saddr, daddr, sport, dport, count)
    return (h1 + sseq + ((count & 0xFF) << COOKIE_BITS)
            + ((h2 + mss_idx) & COOKIE_MASK)) & MASK


def check_cookie(secret: bytes, saddr: IPAddress, daddr: IPAddress, sport: int,
                 dport: int, sseq: int, cookie: int, count: int) -> int | None:
    """The MSS index a cookie (ACK - 1) holds for a client whose ISN was `sseq` (SEQ - 1),
    or None if it is forged, for another connection, or older than `MAX_AGE` ticks."""
    h1 = _hash(secret, b"h1", saddr, daddr, sport, dport, 0)
    rest = (cookie - h1 - sseq) & MASK
    made = rest >> COOKIE_BITS  # the low 8 bits of the count when it was made
    age = (count - made) & 0xFF
    if age > MAX_AGE:
        return None
    h2 = _hash(secret, b"h2", saddr, daddr, sport, dport, (count - age) & MASK)
    idx = (rest - h2) & COOKIE_MASK
    return idx if idx < len(MSS_TABLE) else None


def ts_with_options(tsval: int, wscale: int | None, sack: bool, ecn: bool = False) -> int:
    """The SYN-ACK's TSval: the clock with its low 6 bits replaced by the options, never
    ahead of the clock (so the next TSval of the connection is not smaller)."""
    bits = (_WS_NONE if wscale is None else wscale & 0xF) | (_SACK_BIT if sack else 0) | \
        (_ECN_BIT if ecn else 0)
    ts = (tsval & ~TS_MASK & MASK) | bits
    if ts > tsval:
        ts = (ts - (1 << TS_BITS)) & MASK
    return ts


def options_from_ts(tsecr: int) -> tuple[int | None, bool, bool]:
    """(window scale or None, SACK permitted, ECN) from an ACK's TSecr."""
    ws = tsecr & 0xF
    return (None if ws == _WS_NONE else min(ws, 14)), bool(tsecr & _SACK_BIT), \
        bool(tsecr & _ECN_BIT)


# ---------------------------------------------------------------------- the listener's side
def send_cookie(layer: TcpLayer, lst: TcpListener, local: IPAddress, remote: IPAddress,
                syn: TCPSegment, now: float) -> None:
    """Answer `syn` with a SYN-ACK whose ISN is a cookie, and keep nothing."""
    peer_mss, wscale, sack, tsval = syn_options(syn.options)
    answer(layer, lst, local, remote, syn.src_port, syn.dst_port, syn.seq, peer_mss, wscale,
           sack, tsval, now, syn.flags & (ECE | CWR) == ECE | CWR)


def syn_options(options: tuple[TCPOption, ...]) -> tuple[int, int | None, bool, int | None]:
    """What a cookie answer needs from a SYN's options: (peer MSS, window scale or None,
    SACK permitted, TSval or None)."""
    peer_mss = 536  # RFC 9293 §3.7.1: the default when the SYN has no MSS option
    wscale: int | None = None
    sack = False
    tsval: int | None = None
    for opt in options:
        if opt.kind == OPT_MSS and isinstance(opt, MSSOption):
            peer_mss = opt.mss
        elif opt.kind == OPT_WSCALE and isinstance(opt, WindowScaleOption):
            wscale = opt.shift
        elif opt.kind == OPT_SACK_PERMITTED:
            sack = True
        elif opt.kind == OPT_TIMESTAMPS and isinstance(opt, TimestampOption):
            tsval = opt.tsval
    return peer_mss, wscale, sack, tsval


def answer(layer: TcpLayer, lst: TcpListener, local: IPAddress, remote: IPAddress,
           sport: int, dport: int, seq: int, peer_mss: int, wscale: int | None, sack: bool,
           tsval: int | None, now: float, ecn_setup: bool = False) -> None:
    """Send the cookie SYN-ACK for a SYN from `remote`:`sport` to `local`:`dport` with
    sequence number `seq` and these options (`send_cookie`, and the lean path of
    netsim.stack.tcp.cookie_fastpath, which reads them straight from the frame, and
    answers only SYNs without ECE and CWR); `ecn_setup`: the SYN was an ECN-setup SYN."""
    cfg = lst.cfg
    iss = make_cookie(layer.cookie_secret, remote, local, sport, dport, seq, count_at(now),
                      mss_index(peer_mss, mss_table(remote)))
    mss_local = cfg.mss or layer.mss_for(remote)
    # The options as bytes, in Linux's order (mss, sackOK, TS, nop, wscale), as
    # TcpConnection._syn_options lays them out; built directly: this runs once per SYN of a
    # flood.
    opts = _MSS_OPT.pack(2, 4, mss_local)
    flags = SYN | ACK
    if tsval is not None and cfg.timestamps:
        # Options are on only when both sides offered them (and only timestamps carry them)
        sack = sack and cfg.sack
        ws_on = wscale is not None and cfg.window_scaling
        if sack:
            opts += b"\x04\x02"
        off = layer.ts_offsets.get(remote)
        if off is None:
            if len(layer.ts_offsets) >= 4096:
                layer.ts_offsets.clear()
            off = layer.ts_offsets[remote] = ts_offset(cfg.isn_key, local, remote)
        clock = (int(now * 1000) + off) & MASK
        # an ECN-setup SYN-ACK (ECE alone) to an ECN-setup SYN, if agreed (RFC 3168 §6.1.1)
        ecn = ecn_setup and cfg.ecn != 0
        if ecn:
            flags |= ECE
        opts += b"\x08\x0a" + _II.pack(ts_with_options(clock, wscale if ws_on else None,
                                                        sack, ecn), tsval)
        if ws_on:
            opts += bytes((1, 3, 3, _our_shift(cfg.rcvbuf)))
        if len(opts) % 4:
            opts += bytes(4 - len(opts) % 4)
    window = min(cfg.rcvbuf, 0xFFFF)  # not scaled in a SYN-ACK (RFC 7323 §2.2)
    counts = layer.stack.tcp_counts
    counts["syncookies_sent"] += 1
    counts["tx"] += 1
    raw = build_tcp(local, remote, dport, sport, iss, (seq + 1) & MASK, flags, window, b"", opts)
    layer.send_raw(local, remote, raw, now)


def _our_shift(rcvbuf: int) -> int:
    shift = 0
    while (rcvbuf >> shift) > 0xFFFF and shift < 14:
        shift += 1
    return shift


def syn_from_cookie(layer: TcpLayer, local: IPAddress, remote: IPAddress,
                    ack: TCPSegment, now: float) -> tuple[TCPSegment, int] | None:
    """If `ack` (an ACK without SYN or RST to a listener) returns a valid cookie: the SYN the
    client sent, as far as the cookie kept it, and our ISN. None otherwise."""
    sseq = (ack.seq - 1) & MASK
    iss = (ack.ack - 1) & MASK
    idx = check_cookie(layer.cookie_secret, remote, local, ack.src_port, ack.dst_port, sseq,
                       iss, count_at(now))
    if idx is None:
        return None
    opts: list[TCPOption] = [MSSOption(mss_table(remote)[idx])]
    flags = SYN
    for opt in ack.options:
        if opt.kind == OPT_TIMESTAMPS and isinstance(opt, TimestampOption):
            wscale, sack, ecn = options_from_ts(opt.tsecr)
            if ecn:
                flags |= ECE | CWR  # the SYN was ECN-setup, and the SYN-ACK answered so
            if sack:
                opts.append(SACK_PERMITTED)
            # the client's TSval stands in for the one of its SYN (TS.Recent)
            opts.append(TimestampOption(opt.tsval, 0))
            if wscale is not None:
                opts.append(WindowScaleOption(wscale))
            break
    syn = TCPSegment(ack.src_port, ack.dst_port, sseq, 0, flags, ack.window, b"", tuple(opts))
    return syn, iss


def cookies_apply(lst: TcpListener, now: float) -> bool:
    """Should an ACK that matches no connection be checked as a cookie on `lst`?"""
    mode = lst.cfg.syncookies
    return mode == ALWAYS or mode == ON_OVERFLOW and now - lst.last_overflow < VALIDITY


__all__ = ["ALWAYS", "MAX_AGE", "MODES", "MSS_TABLE", "OFF", "ON_OVERFLOW", "answer",
           "check_cookie", "cookies_apply", "count_at", "make_cookie", "mss_index", "mss_table",
           "options_from_ts", "secret_for", "send_cookie", "syn_from_cookie", "syn_options",
           "ts_with_options"]
