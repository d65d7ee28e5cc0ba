"""A switch's MAC table and forwarding decision: the seam assignment 11 replaces.

`MacLearning` is the interface, in plain values only (ports are numbers 1, 2, ..., addresses
6-byte ``bytes``, times seconds): the switch (`netsim.stack.switch.Bridge`) tells it about
each port (``add_port``) and, for each valid frame it receives, asks ``receive`` which ports
the frame leaves by. `LearningTable` is netsim's implementation, the one every switch uses
unless ``Bridge.set_learning`` installs another. IEEE 802.1D (MAC bridges; clause numbers
as in netsim/stack/switch.py, from the 2004 edition):

- learning (clause 7.8): the frame's source address is reached through the port it came in
  on; that becomes, or refreshes, a dynamic entry (clause 7.9.2) — a station that moved is
  learned on its new port;
- forwarding (clause 7.7): a frame to an individual address in the table leaves by that
  address's port only, or by none (filtered) when that is the port it came in on; a frame to
  an address not in the table, or to a group address (broadcast, multicast: the lowest bit
  of the first byte set), is flooded: it leaves by every port but the one it came in on;
- ageing (clause 7.9.2): an entry no frame has refreshed for the ageing time (300 s
  recommended) is gone: at ``now >= seen + ageing_time`` it no longer counts;
- a table per VLAN (independent VLAN learning, which IEEE 802.1Q allows, as it allows tables
  shared by several VLANs): one address may sit on different ports in two VLANs. Which ports
  carry a VLAN is the switch's configuration: the switch sends a frame only by the ports of
  its VLAN among those ``receive`` returns.

The switch does the rest: it drops frames with a group source address (never learned) and
those to the reserved addresses 01-80-C2-00-00-0x after learning, and it tags and untags.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Final, Protocol

from netsim.errors import UsageError
from netsim.stack.timers import INF, TimerQueue

__all__ = ["DEFAULT_AGEING_TIME", "LearningTable", "MacLearning"]

#: IEEE 802.1D-2004 clause 7.9.2: the recommended ageing time, in seconds
DEFAULT_AGEING_TIME: Final = 300.0

#: (now, mac, port, event, vlan): a change of the table ("learn", "move", "age", "full",
#: "flush"), for the switch's trace records
OnChange = Callable[[float, bytes, int, str, int], None]


class MacLearning(Protocol):
    def add_port(self, port: int) -> None:
        """The switch has a new port ``port`` (numbered 1, 2, ... in the order added)."""
        ...

    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        """A frame from ``src`` to ``dst`` (6 bytes each) came in on ``port`` in ``vlan`` at
        ``now``: learn its source, and return the ports it leaves by ([] : filtered)."""
        ...

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        """The port of ``mac`` in ``vlan`` at ``now``, or None (unknown or aged out)."""
        ...


class _Entry:
    """A dynamic entry: the port an address was last seen on, and when."""

    __slots__ = ("port", "seen")

    def __init__(self, port: int, seen: float) -> None:
        self.port = port
        self.seen = seen


def _no_change(now: float, mac: bytes, port: int, event: str, vlan: int) -> None:
    pass


class LearningTable:
    """netsim's MAC table: `MacLearning`, plus what a switch reads besides (its entries, a
    bounded size, ageing by a timer so that an entry goes at its time, counters).

    ageing_time: seconds an entry lives unrefreshed (> 0); table_size: the most addresses,
    all VLANs together (a new address is then not learned, and frames to it are flooded);
    timers: the queue that runs ``on_timer`` (the switch's; a new one when alone); counts
    and on_change: where "learned", "moved", "aged", "not_learned.table_full" are counted and
    each change of the table is told.
    """

    def __init__(self, ageing_time: float = DEFAULT_AGEING_TIME, table_size: int = 8192, *,
                 timers: TimerQueue | None = None, counts: Counter[str] | None = None,
                 on_change: OnChange | None = None) -> None:
        if isinstance(ageing_time, bool) or not isinstance(ageing_time, (int, float)) \
                or not 0 < ageing_time < INF:
            raise UsageError(f"ageing_time: {ageing_time!r} is not allowed; use seconds > 0 "
                             f"(IEEE 802.1D recommends {DEFAULT_AGEING_TIME:g})")
        if isinstance(table_size, bool) or not isinstance(table_size, int) or table_size < 1:
            raise UsageError(f"table_size: {table_size!r} is not allowed; use a whole "
                             "number >= 1")
        self.ageing_time = float(ageing_time)
        self.table_size = table_size
        self.ports: list[int] = []
        self.tables: dict[int, dict[bytes, _Entry]] = {1: {}}
        self.entries = 0
        self.timers = timers if timers is not None else TimerQueue()
        self.timer_at = INF  # TimerOwner: the ageing of the table
        self.counts: Counter[str] = counts if counts is not None else Counter()
        self.on_change: OnChange = on_change or _no_change
        #: whether the destination of the last unicast frame was in the table
        self.known = False

    def add_port(self, port: int) -> None:
        if port in self.ports:
            raise UsageError(f"port: {port!r} was already added")
        self.ports.append(port)

    # ------------------------------------------------------------------ frames
    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        table = self.tables.get(vlan)
        if table is None:
            table = self.tables[vlan] = {}
        self._learn(port, src, now, vlan, table)
        if not dst[0] & 1:
            entry = table.get(dst)
            if entry is not None and entry.seen + self.ageing_time <= now:
                self._age(now, dst, entry, vlan, table)  # due now; the timer has not run yet
                entry = None
            self.known = entry is not None
            if entry is not None:
                return [] if entry.port == port else [entry.port]
        return [p for p in self.ports if p != port]

    def _learn(self, port: int, src: bytes, now: float, vlan: int,
               table: dict[bytes, _Entry]) -> None:
        entry = table.get(src)
        if entry is None:
            if self.entries >= self.table_size:
                self.counts["not_learned.table_full"] += 1
                self.on_change(now, src, port, "full", vlan)
                return
            table[src] = _Entry(port, now)
            self.entries += 1
            self.counts["learned"] += 1
            self.on_change(now, src, port, "learn", vlan)
            self.timers.ensure(self, now + self.ageing_time)
        elif entry.port != port:
            entry.port = port
            entry.seen = now
            self.counts["moved"] += 1
            self.on_change(now, src, port, "move", vlan)
        else:
            entry.seen = now

    # ------------------------------------------------------------------ the table
    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        entry = self.tables.get(vlan, {}).get(bytes(mac))
        if entry is None or entry.seen + self.ageing_time <= now:
            return None
        return entry.port

    def live(self, now: float, vlan: int | None = None) -> list[tuple[bytes, int]]:
        """(address, port) of the entries alive at ``now``, of ``vlan`` or every VLAN, in the
        order learned."""
        ageing = self.ageing_time
        tables = self.tables.values() if vlan is None else [self.tables.get(vlan, {})]
        return [(mac, e.port) for t in tables for mac, e in t.items() if e.seen + ageing > now]

    def flush(self, now: float, port: int | None = None) -> None:
        """Forget every entry (of ``port`` only, when given)."""
        for vid, table in self.tables.items():
            for mac, entry in list(table.items()):
                if port is None or entry.port == port:
                    del table[mac]
                    self.entries -= 1
                    self.on_change(now, mac, entry.port, "flush", vid)

    # ------------------------------------------------------------------ time
    def on_timer(self, now: float) -> None:
        ageing = self.ageing_time
        oldest = INF
        for vid, table in self.tables.items():
            for mac, entry in list(table.items()):
                if entry.seen + ageing <= now:
                    self._age(now, mac, entry, vid, table)
                elif entry.seen < oldest:
                    oldest = entry.seen
        if oldest != INF:
            self.timers.ensure(self, oldest + ageing)

    def _age(self, now: float, mac: bytes, entry: _Entry, vlan: int,
             table: dict[bytes, _Entry]) -> None:
        del table[mac]
        self.entries -= 1
        self.counts["aged"] += 1
        self.on_change(now, mac, entry.port, "age", vlan)
