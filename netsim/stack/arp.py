"""ARP (RFC 826): the neighbour cache with expiry, the queue of packets waiting for a
resolution, and request retries.

`ArpCache` is the interface (a seam students can replace, DESIGN.md §6);
`ArpTable` is the reference implementation. Both are sans-I/O: the interface
layer asks them what to do and does the sending itself.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Protocol

from netsim.wire.mac import MacAddress


class Enqueue(enum.Enum):
    SEND_REQUEST = "send_request"  # first packet for this address: send a who-has now
    QUEUED = "queued"  # a request is already outstanding
    # The pending queue was full: its oldest packet was dropped to make room for this one
    # (RFC 1122 §2.3.2.2: save "at least one (the latest) packet").
    DROPPED = "dropped"


@dataclass
class ArpPoll:
    """What the table wants done at a poll: requests to (re)send and resolutions that failed."""

    requests: list[IPv4Address] = field(default_factory=list)
    failed: list[tuple[IPv4Address, list[bytes]]] = field(default_factory=list)


class ArpCache(Protocol):
    def lookup(self, ip: IPv4Address, now: float) -> MacAddress | None:
        """The cached MAC of `ip`, or None when unknown or expired."""
        ...

    def update(self, ip: IPv4Address, mac: MacAddress, now: float,
               create: bool = True) -> list[bytes]:
        """Learn (or refresh) a mapping; returns the packets that were waiting for it.

        With create=False only an existing entry (or a pending resolution) is updated
        (RFC 826's "merge flag" for packets not addressed to us)."""
        ...

    def enqueue(self, ip: IPv4Address, packet: bytes, now: float) -> Enqueue:
        """Hold `packet` until `ip` is resolved."""
        ...

    def poll(self, now: float) -> ArpPoll:
        """Retries due and resolutions that gave up."""
        ...

    def next_deadline(self) -> float | None:
        ...

    def entries(self, now: float) -> dict[IPv4Address, MacAddress]:
        ...


@dataclass
class _Pending:
    packets: deque[bytes]
    attempts: int
    next_retry: float


class ArpTable:
    """The reference ARP cache.

    timeout: how long a learned entry lives (default 60 s).
    retries: how many requests are sent in all before giving up (default 3, 1 s apart).
    max_pending: packets held per unresolved address; when full, the oldest is dropped (and
    counted by the caller) so that the latest is kept.
    max_entries: addresses the cache holds; a new one beyond it replaces the oldest learned
    (so an ARP flood from many senders cannot grow it: Linux's gc_thresh3 is 1024 too).
    max_unresolved: addresses being resolved at once; a packet for one more is dropped.
    """

    def __init__(self, timeout: float = 60.0, retries: int = 3, retry_interval: float = 1.0,
                 max_pending: int = 256, max_entries: int = 1024,
                 max_unresolved: int = 1024) -> None:
        self.timeout = timeout
        self.retries = retries
        self.retry_interval = retry_interval
        self.max_pending = max_pending
        self.max_entries = max_entries
        self.max_unresolved = max_unresolved
        self.evicted = 0  # entries replaced because the cache was full
        self._cache: dict[IPv4Address, tuple[MacAddress, float]] = {}
        self._pending: dict[IPv4Address, _Pending] = {}

    def lookup(self, ip: IPv4Address, now: float) -> MacAddress | None:
        entry = self._cache.get(ip)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._cache[ip]  # expired
            return None
        return entry[0]

    def update(self, ip: IPv4Address, mac: MacAddress, now: float,
               create: bool = True) -> list[bytes]:
        pending = self._pending.pop(ip, None)
        cache = self._cache
        if create or ip in cache or pending is not None:
            if ip not in cache and len(cache) >= self.max_entries:
                del cache[next(iter(cache))]  # the oldest learned
                self.evicted += 1
            cache[ip] = (mac, now + self.timeout)
        return list(pending.packets) if pending else []

    def enqueue(self, ip: IPv4Address, packet: bytes, now: float) -> Enqueue:
        pending = self._pending.get(ip)
        if pending is None:
            if len(self._pending) >= self.max_unresolved:
                return Enqueue.DROPPED
            self._pending[ip] = _Pending(deque([packet]), 1, now + self.retry_interval)
            return Enqueue.SEND_REQUEST
        # RFC 1122 §2.3.2.2: SHOULD save "at least one (the latest) packet" per unresolved
        # address; a full queue therefore gives up its oldest packet, not the newest.
        full = len(pending.packets) >= self.max_pending
        if full:
            pending.packets.popleft()
        pending.packets.append(packet)
        return Enqueue.DROPPED if full else Enqueue.QUEUED

    def poll(self, now: float) -> ArpPoll:
        result = ArpPoll()
        for ip, pending in list(self._pending.items()):
            if pending.next_retry > now:
                continue
            if pending.attempts >= self.retries:
                del self._pending[ip]
                result.failed.append((ip, list(pending.packets)))
            else:
                pending.attempts += 1
                pending.next_retry = now + self.retry_interval
                result.requests.append(ip)
        # Expired entries leave the table at a poll too, so an idle cache holds nothing stale.
        for ip in [ip for ip, (_, exp) in self._cache.items() if exp <= now]:
            del self._cache[ip]
        return result

    def next_deadline(self) -> float | None:
        times = [p.next_retry for p in self._pending.values()]
        if self._cache:
            times.append(min(exp for _, exp in self._cache.values()))
        return min(times) if times else None

    def entries(self, now: float) -> dict[IPv4Address, MacAddress]:
        return {ip: mac for ip, (mac, exp) in self._cache.items() if exp > now}
