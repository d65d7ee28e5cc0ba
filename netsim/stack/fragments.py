"""IPv4 fragmentation (RFC 791 §3.2) and reassembly with a timeout and a memory bound."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netsim.wire.ipv4 import IPv4Packet

FragKey = tuple[IPv4Address, IPv4Address, int, int]  # src, dst, protocol, identification


def fragment(packet: IPv4Packet, mtu: int) -> list[IPv4Packet]:
    """Split `packet` into fragments whose total length fits `mtu` (RFC 791 §3.2)."""
    hlen = 20 + len(packet.options)
    room = (mtu - hlen) // 8 * 8
    payload = packet.payload
    out = []
    offset = 0
    while offset < len(payload):
        chunk = payload[offset:offset + room]
        last = offset + len(chunk) >= len(payload)
        out.append(packet._replace(
            payload=chunk, fragment_offset=packet.fragment_offset + offset,
            mf=packet.mf or not last,
            # RFC 791: only copied options go into later fragments; we keep none after the first
            options=packet.options if offset == 0 else b""))
        offset += len(chunk)
    return out


@dataclass
class _Partial:
    deadline: float
    first: IPv4Packet | None = None
    total: int | None = None
    pieces: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class Reassembler:
    """Collects fragments; gives up on a datagram after `timeout` seconds and never holds
    more than `max_bytes` of fragment data in all (RFC 1122 §3.3.2)."""

    def __init__(self, timeout: float = 30.0, max_bytes: int = 256 * 1024) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._partials: dict[FragKey, _Partial] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._partials)

    def add(self, pkt: IPv4Packet, now: float) -> tuple[IPv4Packet | None, str | None]:
        """Add a fragment. Returns (whole datagram or None, drop reason or None)."""
        key = (pkt.src, pkt.dst, pkt.protocol, pkt.identification)
        data = pkt.payload
        if pkt.mf and len(data) % 8:
            return None, "fragment_not_multiple_of_8"  # RFC 791: all but the last
        end = pkt.fragment_offset + len(data)
        if end > 65535 - 20 - len(pkt.options):
            self._discard(key)
            return None, "fragment_too_long"
        if self._bytes + len(data) > self.max_bytes:
            self._discard(key)
            return None, "reassembly_memory"
        part = self._partials.get(key)
        if part is None:
            # RFC 1122 §3.3.2: the timer starts with the first fragment to arrive
            part = self._partials[key] = _Partial(now + self.timeout)
        if pkt.fragment_offset == 0 and part.first is None:
            part.first = pkt
        if not pkt.mf and part.total is None:
            part.total = end
        old = part.pieces.get(pkt.fragment_offset)
        if old is None or len(old) < len(data):  # a duplicate adds nothing; a longer one may
            part.pieces[pkt.fragment_offset] = data
            grown = len(data) - (len(old) if old is not None else 0)
            part.size += grown
            self._bytes += grown
        if part.first is None or part.total is None:
            return None, None
        # Complete when the pieces cover [0, total) without gaps. Where pieces overlap, the
        # bytes come from the piece that starts lower (RFC 791 leaves the choice open).
        buf = bytearray(part.total)
        covered = 0
        for off in sorted(part.pieces):
            piece = part.pieces[off]
            if off > covered:
                return None, None
            stop = min(off + len(piece), part.total)
            if stop > covered:
                buf[covered:stop] = piece[covered - off:stop - off]
                covered = stop
        if covered < part.total:
            return None, None
        self._discard(key)
        first = part.first
        return first._replace(payload=bytes(buf), mf=False, fragment_offset=0,
                              total_length=20 + len(first.options) + part.total), None

    def _discard(self, key: FragKey) -> None:
        part = self._partials.pop(key, None)
        if part is not None:
            self._bytes -= part.size

    def expire(self, now: float) -> list[tuple[FragKey, IPv4Packet | None]]:
        """Drop datagrams past their timeout; returns each one's key and first fragment, or
        None when fragment zero never came (RFC 792 sends ICMP time exceeded, code 1, only
        when it did)."""
        out: list[tuple[FragKey, IPv4Packet | None]] = []
        for key, part in list(self._partials.items()):
            if part.deadline <= now:
                self._discard(key)
                out.append((key, part.first))
        return out

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._partials.values()), default=None)
