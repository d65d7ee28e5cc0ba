"""An Ethernet switch (a transparent learning bridge), sans-I/O: a frame arrives as a call
``Bridge.receive(port, frame, now)``, frames leave through the callable ``Bridge.transmit``,
and the ageing of the MAC table is a deadline in ``Bridge.timers`` that the driver honours
by calling ``Bridge.poll(now)`` (netsim/switchnode.py runs it in both worlds).

The ideas are those of IEEE 802.1D-2004 (a bridge standard, not an RFC, cited by clause):

- the Learning Process (clause 7.8): each valid frame received tells the bridge that its
  source address is reached through the port it came in on; that becomes, or refreshes, a
  dynamic entry of the filtering database (clause 7.9.2). A frame whose source is a group
  (multicast) address is not a valid frame: it is dropped and counted, never learned;
- the Forwarding Process (clause 7.7): a frame to an individual address in the table leaves by
  that address's port only, or is filtered (discarded) when that port is the one it came in
  on; a frame to an address not in the table, to the broadcast address or to a group address
  is flooded: sent out of every port but the one it came in on;
- the reserved group addresses 01-80-C2-00-00-00 to 01-80-C2-00-00-0F (spanning tree, pause
  frames, LLDP: clause 7.12.6) are never forwarded;
- ageing (clause 7.9.2): a dynamic entry that no frame has refreshed for the ageing time is
  removed. The default is the standard's recommended 300 s (its range is 10 s to
  1 000 000 s; shorter values are allowed here, for demonstrations);
- the table holds at most ``table_size`` addresses. When it is full a new source address is
  not learned (counted as ``not_learned.table_full``) and frames to it are flooded: what a MAC
  flooding attack relies on to turn a switch into a hub.

There is no spanning tree (the RSTP of clause 17): a loop of switches would carry every
broadcast around for ever, so `netsim.switchnode.SwitchNode` refuses to close one.

Counters (``bridge.counters["switch"]``): rx, forwarded, flooded, filtered, learned, moved,
aged, tx (frames sent, one per port a frame left by) and ``drop.<reason>`` (malformed,
group_source, reserved). Trace records (netsim.stack.events): `MacTableRecord` for each change
of the table, `DropRecord` (where "switch") for each frame dropped, and `SwitchRecord` for each
frame only when ``trace_frames`` is set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Final

from netsim.errors import UsageError
from netsim.stack.counters import Counters
from netsim.stack.events import DropRecord, MacTableRecord, SwitchRecord, Tracer
from netsim.stack.timers import INF, TimerQueue
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.mac import BROADCAST, MacAddress

__all__ = ["DEFAULT_AGEING_TIME", "DEFAULT_TABLE_SIZE", "Bridge", "SwitchTransmit"]

#: IEEE 802.1D-2004 clause 7.9.2: the recommended ageing time, in seconds
DEFAULT_AGEING_TIME: Final = 300.0
DEFAULT_TABLE_SIZE: Final = 8192

#: 01-80-C2-00-00-00 .. 01-80-C2-00-00-0F: addresses a bridge never forwards (clause 7.12.6)
_RESERVED_PREFIX: Final = b"\x01\x80\xc2\x00\x00"

SwitchTransmit = Callable[[str, "bytes | LazyFrame"], None]


def _no_transmit(port: str, frame: bytes | LazyFrame) -> None:
    raise RuntimeError("bridge has no driver: set bridge.transmit before frames arrive")


class _Entry:
    """A dynamic entry: the port an address was last seen on, and when."""

    __slots__ = ("port", "seen")

    def __init__(self, port: str, seen: float) -> None:
        self.port = port
        self.seen = seen


class Bridge:
    """A learning bridge with the ports ``ports`` (a count: "p1".."pN", or names).

    ageing_time: seconds an address stays in the table without being seen (> 0);
    table_size: the most addresses the table holds (>= 1); trace: a tracer for its records;
    trace_frames: also record one `SwitchRecord` per frame.
    """

    def __init__(self, name: str = "switch", ports: int | Iterable[str] = 0, *,
                 ageing_time: float = DEFAULT_AGEING_TIME,
                 table_size: int = DEFAULT_TABLE_SIZE, trace: Tracer | None = None,
                 trace_frames: bool = False) -> None:
        if isinstance(ageing_time, bool) or not isinstance(ageing_time, (int, float)) \
                or not 0 < ageing_time < math.inf:
            raise UsageError(f"ageing_time: {ageing_time!r} is not allowed; use seconds > 0 "
                             f"(IEEE 802.1D recommends {DEFAULT_AGEING_TIME:g})")
        if isinstance(table_size, bool) or not isinstance(table_size, int) or table_size < 1:
            raise UsageError(f"table_size: {table_size!r} is not allowed; use a whole "
                             "number >= 1")
        self.name = name
        self.ageing_time = float(ageing_time)
        self.table_size = table_size
        self.trace = trace
        self.trace_frames = trace_frames
        self.ports: list[str] = []
        self._table: dict[bytes, _Entry] = {}
        self.timers = TimerQueue()
        self.timer_at = INF  # TimerOwner: the ageing of the table
        self.counters = Counters()
        self.counts = self.counters["switch"]
        self.transmit: SwitchTransmit = _no_transmit
        self.now = 0.0
        if isinstance(ports, bool) or (isinstance(ports, int) and ports < 0):
            raise UsageError(f"ports: {ports!r} is not allowed; use a count >= 0 or names")
        names = [f"p{i + 1}" for i in range(ports)] if isinstance(ports, int) else list(ports)
        for port in names:
            self.add_port(port)

    def __repr__(self) -> str:
        return f"<Bridge {self.name}: {len(self.ports)} ports, {len(self._table)} addresses>"

    # ------------------------------------------------------------------ configuration
    def add_port(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise UsageError(f"port: {name!r} is not a port name; use a non-empty string")
        if name in self.ports:
            raise UsageError(f"port: {name!r} already exists on {self.name}")
        self.ports.append(name)

    # ------------------------------------------------------------------ the table
    def table(self) -> dict[MacAddress, str]:
        """The addresses the bridge knows now, and their ports, in the order learned."""
        now = self.now
        return {MacAddress(mac): e.port for mac, e in self._table.items()
                if e.seen + self.ageing_time > now}

    def lookup(self, mac: MacAddress | str) -> str | None:
        """The port of ``mac``, or None if it is not in the table (or has aged)."""
        entry = self._table.get(MacAddress(mac))
        if entry is None or entry.seen + self.ageing_time <= self.now:
            return None
        return entry.port

    def __len__(self) -> int:
        return len(self._table)

    def flush(self, now: float, port: str | None = None) -> None:
        """Forget every address (of ``port`` only, when given), as a bridge does when the
        topology changes."""
        self.now = now
        if port is not None and port not in self.ports:
            raise UsageError(f"port: {port!r} is not a port of {self.name}")
        for mac, entry in list(self._table.items()):
            if port is None or entry.port == port:
                del self._table[mac]
                self._table_record(now, mac, entry.port, "flush")

    # ------------------------------------------------------------------ time
    def poll(self, now: float) -> None:
        """Run the timers due at ``now``: the ageing of the table."""
        self.now = now
        self.timers.run(now)

    def on_timer(self, now: float) -> None:
        ageing = self.ageing_time
        oldest = INF
        for mac, entry in list(self._table.items()):
            if entry.seen + ageing <= now:
                self._age(now, mac, entry)
            elif entry.seen < oldest:
                oldest = entry.seen
        if oldest != INF:
            self.timers.ensure(self, oldest + ageing)

    def _age(self, now: float, mac: bytes, entry: _Entry) -> None:
        del self._table[mac]
        self.counts["aged"] += 1
        self._table_record(now, mac, entry.port, "age")

    # ------------------------------------------------------------------ frames
    def receive(self, port: str, frame: bytes | LazyFrame, now: float) -> None:
        """A frame arrived on ``port``: learn its source, then forward, flood or filter it."""
        self.now = now
        counts = self.counts
        counts["rx"] += 1
        if isinstance(frame, LazyFrame):
            dst: bytes = frame.dst_mac
            src: bytes = frame.src_mac
        else:
            if len(frame) < 14:
                self._drop(port, b"", b"", "malformed", f"{len(frame)}-byte frame")
                return
            dst = frame[0:6]
            src = frame[6:12]
        if src[0] & 1:
            # an individual address is the only valid source (IEEE 802.3 clause 3.2.3)
            self._drop(port, src, dst, "group_source", "")
            return
        self._learn(port, src, now)
        if dst[0] & 1:
            if dst[:5] == _RESERVED_PREFIX and dst[5] < 0x10:
                self._drop(port, src, dst, "reserved", "")
                return
            self._flood(port, frame, src, dst, "broadcast" if dst == BROADCAST else "multicast")
            return
        entry = self._table.get(dst)
        if entry is not None and entry.seen + self.ageing_time <= now:
            self._age(now, dst, entry)  # due now; the timer has not run yet
            entry = None
        if entry is None:
            self._flood(port, frame, src, dst, "unknown")
        elif entry.port == port:
            counts["filtered"] += 1
            if self.trace_frames and self.trace is not None:
                self._frame_record(port, src, dst, "filter", "", "")
        else:
            counts["forwarded"] += 1
            counts["tx"] += 1
            if self.trace_frames and self.trace is not None:
                self._frame_record(port, src, dst, "forward", entry.port, "")
            self.transmit(entry.port, frame)

    def _learn(self, port: str, src: bytes, now: float) -> None:
        table = self._table
        entry = table.get(src)
        if entry is None:
            if len(table) >= self.table_size:
                self.counts["not_learned.table_full"] += 1
                self._table_record(now, src, port, "full")
                return
            table[src] = _Entry(port, now)
            self.counts["learned"] += 1
            self._table_record(now, src, port, "learn")
            self.timers.ensure(self, now + self.ageing_time)
        elif entry.port != port:
            entry.port = port
            entry.seen = now
            self.counts["moved"] += 1
            self._table_record(now, src, port, "move")
        else:
            entry.seen = now

    def _flood(self, port: str, frame: bytes | LazyFrame, src: bytes, dst: bytes,
               reason: str) -> None:
        counts = self.counts
        counts["flooded"] += 1
        transmit = self.transmit
        out = [p for p in self.ports if p != port]
        counts["tx"] += len(out)
        if self.trace_frames and self.trace is not None:
            self._frame_record(port, src, dst, "flood", ",".join(out), reason)
        for p in out:
            transmit(p, frame)

    def _drop(self, port: str, src: bytes, dst: bytes, reason: str, detail: str) -> None:
        self.counts["drop." + reason] += 1
        if self.trace is not None:
            self.trace.record(DropRecord(self.now, self.name, "switch", reason,
                                         f"port {port}" + (f": {detail}" if detail else "")))
        if self.trace_frames and self.trace is not None:
            self._frame_record(port, src, dst, "drop", "", reason + (f": {detail}" if detail
                                                                     else ""))

    def _table_record(self, now: float, mac: bytes, port: str, event: str) -> None:
        if self.trace is not None:
            self.trace.record(MacTableRecord(now, self.name, str(MacAddress(mac)), port, event,
                                             len(self._table)))

    def _frame_record(self, port: str, src: bytes, dst: bytes, action: str, out: str,
                      reason: str) -> None:
        assert self.trace is not None
        self.trace.record(SwitchRecord(self.now, self.name, port,
                                       str(MacAddress(src)) if src else "",
                                       str(MacAddress(dst)) if dst else "", action, out, reason))
