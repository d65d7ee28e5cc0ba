"""The IPv6 neighbour cache (RFC 4861 §7.3.2 neighbor cache entry states) with its timers.

Sans-I/O like the ARP table (netsim/stack/arp.py): the IPv6 layer tells the cache what it
sent and received, and `poll(now)` answers which solicitations to send and which resolutions
failed; the layer does the sending.

States (RFC 4861 §7.3.2): INCOMPLETE (resolution in progress: multicast solicitations every
RETRANS_TIMER, at most MAX_MULTICAST_SOLICIT), REACHABLE (confirmed within ReachableTime),
STALE (not known to be reachable; nothing is done until a packet is sent), DELAY (a packet
was sent to a STALE entry: wait DELAY_FIRST_PROBE_TIME for an upper-layer confirmation),
PROBE (unicast solicitations every RETRANS_TIMER, at most MAX_UNICAST_SOLICIT).
"""

from __future__ import annotations

import enum
import random
from collections import deque
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from typing import Final

from netsim.wire.mac import MacAddress

# RFC 4861 §10 protocol constants
MAX_MULTICAST_SOLICIT: Final = 3
MAX_UNICAST_SOLICIT: Final = 3
REACHABLE_TIME: Final = 30.0
RETRANS_TIMER: Final = 1.0
DELAY_FIRST_PROBE_TIME: Final = 5.0
MIN_RANDOM_FACTOR: Final = 0.5
MAX_RANDOM_FACTOR: Final = 1.5
INF: Final = float("inf")


class NState(enum.Enum):
    INCOMPLETE = "INCOMPLETE"
    REACHABLE = "REACHABLE"
    STALE = "STALE"
    DELAY = "DELAY"
    PROBE = "PROBE"


@dataclass
class Neighbor:
    state: NState
    mac: MacAddress | None
    deadline: float  # when the state's timer fires (inf for STALE)
    probes: int = 0
    router: bool = False
    queue: deque[bytes] = field(default_factory=deque)


@dataclass
class NDPoll:
    """What the cache wants done: (address, MAC or None for multicast) solicitations to send,
    and resolutions that failed with the packets that were waiting."""

    solicit: list[tuple[IPv6Address, MacAddress | None]] = field(default_factory=list)
    failed: list[tuple[IPv6Address, list[bytes]]] = field(default_factory=list)


class NeighborCache:
    """One interface's neighbour cache.

    `rng` draws ReachableTime: RFC 4861 §6.3.2 (host variables) makes it a uniformly
    distributed random value between MIN_RANDOM_FACTOR and MAX_RANDOM_FACTOR times
    BaseReachableTime, re-drawn now and then; here it is re-drawn at each confirmation, from a
    seeded generator so that a simulation repeats.
    """

    def __init__(self, rng: random.Random | None = None, base_reachable: float = REACHABLE_TIME,
                 retrans: float = RETRANS_TIMER, max_pending: int = 64,
                 max_entries: int = 1024) -> None:
        self.rng = rng if rng is not None else random.Random(0)
        self.base_reachable = base_reachable
        self.retrans = retrans
        self.max_pending = max_pending
        self.max_entries = max_entries
        self.entries: dict[IPv6Address, Neighbor] = {}

    def reachable_time(self) -> float:
        return self.base_reachable * self.rng.uniform(MIN_RANDOM_FACTOR, MAX_RANDOM_FACTOR)

    # ------------------------------------------------------------------ sending
    def resolve(self, ip: IPv6Address, packet: bytes, now: float
                ) -> tuple[MacAddress | None, bool, bool, float]:
        """A packet is to be sent to neighbour `ip`: (MAC to send to now or None if queued,
        whether to send a multicast solicitation now, whether a queued packet was dropped,
        the time of a timer this started, or inf).

        RFC 4861 §7.3.3 (node behavior): no entry -> INCOMPLETE and a solicitation; STALE ->
        DELAY; the other states send to the cached address (INCOMPLETE queues)."""
        entry = self.entries.get(ip)
        if entry is None:
            if len(self.entries) >= self.max_entries:
                self._evict()
            self.entries[ip] = Neighbor(NState.INCOMPLETE, None, now + self.retrans, 1,
                                        queue=deque([packet]))
            return None, True, False, now + self.retrans
        if entry.state is NState.INCOMPLETE:
            # RFC 4861 §7.2.2 sending solicitations: when the queue overflows, the oldest
            # packet goes
            dropped = len(entry.queue) >= self.max_pending
            if dropped:
                entry.queue.popleft()
            entry.queue.append(packet)
            return None, False, dropped, INF
        if entry.state is NState.STALE:
            entry.state, entry.deadline = NState.DELAY, now + DELAY_FIRST_PROBE_TIME
            return entry.mac, False, False, entry.deadline
        return entry.mac, False, False, INF

    def lookup(self, ip: IPv6Address) -> MacAddress | None:
        entry = self.entries.get(ip)
        return entry.mac if entry is not None else None

    def confirm(self, ip: IPv6Address, now: float) -> None:
        """Reachability confirmed by an upper layer (RFC 4861 §7.3.1): REACHABLE again."""
        entry = self.entries.get(ip)
        if entry is not None and entry.mac is not None:
            entry.state, entry.deadline, entry.probes = (NState.REACHABLE,
                                                         now + self.reachable_time(), 0)

    # ------------------------------------------------------------------ receiving
    def solicitation_from(self, ip: IPv6Address, mac: MacAddress, now: float) -> list[bytes]:
        """An NS (or RS, RA) from `ip` carried its source link-layer address (RFC 4861 §7.2.3):
        create the entry STALE, or make it STALE if the address changed; an INCOMPLETE entry
        sends its queue. Returns the packets now sendable."""
        entry = self.entries.get(ip)
        if entry is None:
            if len(self.entries) >= self.max_entries:
                self._evict()
            self.entries[ip] = Neighbor(NState.STALE, mac, float("inf"))
            return []
        if entry.mac != mac:
            waiting = list(entry.queue)
            entry.queue.clear()
            entry.mac, entry.state, entry.deadline, entry.probes = (mac, NState.STALE,
                                                                    float("inf"), 0)
            return waiting
        return []

    def advertisement(self, ip: IPv6Address, mac: MacAddress | None, solicited: bool,
                      override: bool, router: bool, now: float) -> list[bytes]:
        """A neighbour advertisement for target `ip` (RFC 4861 §7.2.5). Returns the packets
        now sendable (those queued while INCOMPLETE)."""
        entry = self.entries.get(ip)
        if entry is None:
            return []  # unsolicited and unknown: no entry is created
        if entry.state is NState.INCOMPLETE:
            if mac is None:
                return []  # the advertisement cannot resolve anything
            entry.mac = mac
            entry.router = router
            entry.probes = 0
            if solicited:
                entry.state, entry.deadline = NState.REACHABLE, now + self.reachable_time()
            else:
                entry.state, entry.deadline = NState.STALE, float("inf")
            waiting = list(entry.queue)
            entry.queue.clear()
            return waiting
        changed = mac is not None and mac != entry.mac
        if not override and changed:
            if entry.state is NState.REACHABLE:
                entry.state, entry.deadline = NState.STALE, float("inf")
            return []
        if mac is not None:
            entry.mac = mac
        entry.router = router
        if solicited:
            entry.state, entry.deadline, entry.probes = (NState.REACHABLE,
                                                         now + self.reachable_time(), 0)
        elif changed:
            entry.state, entry.deadline = NState.STALE, float("inf")
        return []

    # ------------------------------------------------------------------ time
    def poll(self, now: float) -> NDPoll:
        result = NDPoll()
        for ip, entry in list(self.entries.items()):
            if entry.deadline > now:
                continue
            state = entry.state
            if state is NState.INCOMPLETE:
                if entry.probes >= MAX_MULTICAST_SOLICIT:
                    del self.entries[ip]
                    result.failed.append((ip, list(entry.queue)))
                else:
                    entry.probes += 1
                    entry.deadline = now + self.retrans
                    result.solicit.append((ip, None))
            elif state is NState.REACHABLE:
                entry.state, entry.deadline = NState.STALE, float("inf")
            elif state is NState.DELAY:
                entry.state, entry.probes, entry.deadline = NState.PROBE, 1, now + self.retrans
                result.solicit.append((ip, entry.mac))
            elif state is NState.PROBE:
                if entry.probes >= MAX_UNICAST_SOLICIT:
                    del self.entries[ip]
                else:
                    entry.probes += 1
                    entry.deadline = now + self.retrans
                    result.solicit.append((ip, entry.mac))
        return result

    def next_deadline(self) -> float | None:
        soon = min((e.deadline for e in self.entries.values()), default=float("inf"))
        return None if soon == float("inf") else soon

    def state(self, ip: IPv6Address) -> NState | None:
        entry = self.entries.get(ip)
        return entry.state if entry is not None else None

    def _evict(self) -> None:
        """Make room: a STALE entry first (RFC 4861 §5.3 garbage collection lets any
        unused entry go), else the oldest."""
        for ip, entry in self.entries.items():
            if entry.state is NState.STALE:
                del self.entries[ip]
                return
        del self.entries[next(iter(self.entries))]
