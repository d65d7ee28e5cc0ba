"""The configuration, link-state database and neighbours of an OSPF process
(netsim/stack/ospf.py).

`OspfConfig` holds the intervals of RFC 2328 appendix C.3 (HelloInterval 10 s,
RouterDeadInterval 40 s, RxmtInterval 5 s, InfTransDelay 1 s: the defaults here) and two
architectural constants of appendix B a simulation may want shorter (MaxAge one hour,
LSRefreshTime 30 minutes). `Lsdb` keeps one instance of each LSA with the time it was
installed, so its age is known at any time; `compare` says which of two instances is newer
(RFC 2328 §13.1 determining which LSA is newer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Final

from netsim.errors import UsageError
from netsim.wire.ospf import MAX_AGE, Lsa, LsaHeader

MAX_AGE_DIFF: Final = 900  # appendix B: ages further apart than 15 minutes differ
LsaKey = tuple[int, IPv4Address, IPv4Address]


@dataclass(frozen=True)
class OspfConfig:
    """The timers of every interface of a process, in whole seconds where the Hello packet
    carries them (RFC 2328 §10.5 receiving Hello packets: both ends of a link must agree on
    them), the output cost of an interface not given one, and how long an SPF calculation
    waits after the database changes, to take several changes at once (not in the RFC)."""

    hello_interval: int = 10
    dead_interval: int = 40
    retransmit_interval: float = 5.0
    transmit_delay: int = 1  # InfTransDelay: added to an LSA's age as it is sent
    cost: int = 1
    spf_delay: float = 0.05
    min_ls_interval: float = 5.0  # MinLSInterval: between two instances of our LSA
    max_age: int = MAX_AGE
    refresh_interval: int = 1800  # LSRefreshTime

    def __post_init__(self) -> None:
        for name, top in (("hello_interval", 0xFFFF), ("dead_interval", 0xFFFFFFFF),
                          ("transmit_delay", 3600), ("max_age", MAX_AGE),
                          ("refresh_interval", MAX_AGE), ("cost", 0xFFFF)):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= top:
                raise UsageError(f"OspfConfig.{name}: {value!r} is not an integer in 1..{top}")
        if self.dead_interval <= self.hello_interval:
            raise UsageError(f"OspfConfig.dead_interval: {self.dead_interval} must exceed "
                             f"hello_interval ({self.hello_interval})")
        if self.refresh_interval >= self.max_age:
            raise UsageError(f"OspfConfig.refresh_interval: {self.refresh_interval} must be "
                             f"below max_age ({self.max_age})")
        for name in ("retransmit_interval", "spf_delay", "min_ls_interval"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value < 3600 or \
                    (name == "retransmit_interval" and value == 0):
                raise UsageError(f"OspfConfig.{name}: {value!r} is not a number of seconds "
                                 "in " + ("(0, 3600)" if name == "retransmit_interval"
                                          else "[0, 3600)"))


class Entry:
    """An LSA in the database, its age when installed and the time it was."""

    __slots__ = ("lsa", "age", "installed")

    def __init__(self, lsa: Lsa, installed: float) -> None:
        self.lsa = lsa
        self.age = lsa.header.age
        self.installed = installed


class Lsdb:
    """The link-state database of area 0 (RFC 2328 §12.2 the link state database)."""

    def __init__(self, max_age: int) -> None:
        self.max_age = max_age
        self.entries: dict[LsaKey, Entry] = {}

    def age(self, key: LsaKey, now: float) -> int:
        """RFC 2328 §12.1.1 LS age: it grows by one each second it spends in the database."""
        e = self.entries[key]
        return min(self.max_age, e.age + int(now - e.installed))

    def current(self, key: LsaKey, now: float) -> Lsa:
        """The LSA with its age now (as it is sent, before InfTransDelay is added)."""
        return self.entries[key].lsa.aged(self.age(key, now))

    def install(self, lsa: Lsa, now: float) -> bool:
        """RFC 2328 §13.2 installing LSAs in the database; True if the contents changed
        (what a new routing table calculation needs: not just a newer sequence number)."""
        key = lsa.header.key
        old = self.entries.get(key)
        self.entries[key] = Entry(lsa, now)
        if old is None:
            return True
        if (old.age >= self.max_age) != (lsa.header.age >= self.max_age):
            return True
        return old.lsa.raw[20:] != lsa.raw[20:] or old.lsa.header.options != lsa.header.options

    def expires(self, key: LsaKey) -> float:
        """When the LSA reaches MaxAge."""
        e = self.entries[key]
        return e.installed + max(0, self.max_age - e.age)

    def compare(self, lsa: LsaHeader, key: LsaKey, now: float) -> int:
        """1 if `lsa` is newer than the database's copy of `key`, -1 if older, 0 if the same
        instance (RFC 2328 §13.1): the greater sequence number, then the greater checksum,
        then one at MaxAge, then the younger if their ages differ by more than MaxAgeDiff."""
        db = self.entries[key].lsa.header
        if lsa.seq != db.seq:
            return 1 if lsa.seq > db.seq else -1
        if lsa.checksum != db.checksum:
            return 1 if lsa.checksum > db.checksum else -1
        mine, theirs = self.age(key, now), min(lsa.age, self.max_age)
        if (theirs >= self.max_age) != (mine >= self.max_age):
            return 1 if theirs >= self.max_age else -1
        if abs(mine - theirs) > MAX_AGE_DIFF:
            return 1 if theirs < mine else -1
        return 0

    def __len__(self) -> int:
        return len(self.entries)


INIT: Final = "init"
FULL: Final = "full"


@dataclass(eq=False)
class Neighbor:
    """The neighbour on a point-to-point interface (RFC 2328 §10 the neighbor data
    structure): Init until its Hello lists us, then Full. `rxmt`: LSAs flooded to it and not
    yet acknowledged (its link state retransmission list)."""

    router_id: IPv4Address
    address: IPv4Address
    state: str = INIT
    dead_at: float = 0.0
    rxmt: dict[LsaKey, Lsa] = field(default_factory=dict)
    rxmt_at: float = float("inf")


@dataclass(eq=False)
class OspfInterface:
    """One interface of the process: point-to-point, with its cost and at most one
    neighbour."""

    name: str
    cost: int
    up: bool = True
    next_hello: float = float("inf")
    neighbor: Neighbor | None = None


__all__ = ["FULL", "INIT", "MAX_AGE_DIFF", "Entry", "LsaKey", "Lsdb", "Neighbor", "OspfConfig",
           "OspfInterface"]
