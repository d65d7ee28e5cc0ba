"""Initial sequence numbers (RFC 9293 §3.4.1, RFC 6528): ISN = M + F(4-tuple, secret),
where M is a clock ticking every 4 µs and F a keyed hash. Seedable: the same key gives the
same ISNs for the same connections at the same times."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv6Address


def isn(key: bytes, now: float, local: IPv4Address | IPv6Address, lport: int,
        remote: IPv4Address | IPv6Address, rport: int) -> int:
    digest = hashlib.blake2b(
        local.packed + lport.to_bytes(2, "big") + remote.packed + rport.to_bytes(2, "big"),
        key=key[:64] or b"\x00", digest_size=4).digest()
    m = int(now * 250_000)  # 4 µs ticks
    return (m + int.from_bytes(digest, "big")) & 0xFFFFFFFF


def ts_offset(key: bytes, local: IPv4Address | IPv6Address,
              remote: IPv4Address | IPv6Address) -> int:
    """A per-pair random offset for TCP timestamps, as Linux does (RFC 7323 §7, security
    considerations)."""
    digest = hashlib.blake2b(b"ts" + local.packed + remote.packed, key=key[:64] or b"\x00",
                             digest_size=4).digest()
    return int.from_bytes(digest, "big")
