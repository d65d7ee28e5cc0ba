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

The table and the forwarding decision (learning, ageing, forward or flood) are a
`netsim.stack.learning.MacLearning`: netsim's `LearningTable` unless ``set_learning`` installs
another (assignment 11); the bridge asks it about every valid frame, by port number (1, 2, ...
in the order the ports were added).

There is no spanning tree (the RSTP of clause 17): a loop of switches would carry every
broadcast around for ever, so `netsim.switchnode.SwitchNode` refuses to close one.

VLANs (IEEE 802.1Q): every port starts as an access port of VLAN 1, and while no port is
configured otherwise the bridge is VLAN-unaware (a tagged frame crosses it untouched).
``access(port, vlan)`` and ``trunk(port, vlans, native=None)`` make it VLAN-aware: a frame
belongs to the VLAN of its tag (on a trunk) or of its port (untagged), is dropped and counted
(``drop.vlan_ingress``) when the port is not in that VLAN, is switched only among the ports
of its VLAN, leaves trunks tagged (but in the native VLAN), with the priority (PCP) it came
in with (0 if it came in untagged), and access ports untagged, and each
VLAN has its own table (independent learning: one address may sit on different ports in two
VLANs).

Counters (``bridge.counters["switch"]``): rx, forwarded, flooded, filtered, learned, moved,
aged, tx (frames sent, one per port a frame left by) and ``drop.<reason>`` (malformed,
group_source, reserved, vlan_ingress). Trace records (netsim.stack.events): `MacTableRecord`
for each change of the table, `DropRecord` (where "switch") for each frame dropped, and
`SwitchRecord` for each frame only when ``trace_frames`` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from netsim.errors import UsageError
from netsim.stack.counters import Counters
from netsim.stack.events import DropRecord, MacTableRecord, SwitchRecord, Tracer
from netsim.stack.learning import DEFAULT_AGEING_TIME, LearningTable, MacLearning
from netsim.stack.timers import TimerQueue
from netsim.wire.lazyframe import LazyFrame, as_bytes
from netsim.wire.mac import BROADCAST, MacAddress
from netsim.wire.vlan import TPID, VID_MAX, tag, untag

__all__ = ["DEFAULT_AGEING_TIME", "DEFAULT_TABLE_SIZE", "Bridge", "SwitchTransmit"]

DEFAULT_TABLE_SIZE: Final = 8192

#: 01-80-C2-00-00-00 .. 01-80-C2-00-00-0F: addresses a bridge never forwards (clause 7.12.6)
_RESERVED_PREFIX: Final = b"\x01\x80\xc2\x00\x00"

SwitchTransmit = Callable[[str, "bytes | LazyFrame"], None]


def _no_transmit(port: str, frame: bytes | LazyFrame) -> None:
    raise RuntimeError("bridge has no driver: set bridge.transmit before frames arrive")


class _Membership:
    """The VLANs of a port: the one its untagged frames belong to (None: untagged frames are
    refused) and those it carries tagged."""

    __slots__ = ("tagged", "untagged")

    def __init__(self, untagged: int | None, tagged: frozenset[int]) -> None:
        self.untagged = untagged
        self.tagged = tagged

    def carries(self, vid: int) -> bool:
        return vid == self.untagged or vid in self.tagged


def _vid(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= VID_MAX:
        raise UsageError(f"{what}: {value!r} is not a VLAN; use 1..{VID_MAX}")
    return value


class Bridge:
    """A learning bridge with the ports ``ports`` (a count: "p1".."pN", or names).

    ageing_time: seconds an address stays in the table without being seen (> 0);
    table_size: the most addresses the table holds, all VLANs together (>= 1); trace: a
    tracer for its records; trace_frames: also record one `SwitchRecord` per frame.
    """

    def __init__(self, name: str = "switch", ports: int | Iterable[str] = 0, *,
                 ageing_time: float = DEFAULT_AGEING_TIME,
                 table_size: int = DEFAULT_TABLE_SIZE, trace: Tracer | None = None,
                 trace_frames: bool = False) -> None:
        self.timers = TimerQueue()
        self.counters = Counters()
        self.counts = self.counters["switch"]
        self._ref = LearningTable(ageing_time, table_size, timers=self.timers,
                                  counts=self.counts, on_change=self._on_change)
        #: the table and forwarding decision asked about every frame (`set_learning`)
        self.learning: MacLearning = self._ref
        self._own = True
        self.name = name
        self.ageing_time = self._ref.ageing_time
        self.table_size = table_size
        self.trace = trace
        self.trace_frames = trace_frames
        self.ports: list[str] = []
        self._number: dict[str, int] = {}  # port name -> its number for `learning`
        self._member: dict[str, _Membership] = {}
        self._aware = False  # VLAN-aware: some port is not an access port of VLAN 1
        self.transmit: SwitchTransmit = _no_transmit
        self.now = 0.0
        #: the priority (PCP) of the frame being switched: its tag's, or the ports' default
        #: priority 0 for an untagged frame; a frame that leaves tagged keeps it
        self._pcp = 0
        if isinstance(ports, bool) or (isinstance(ports, int) and ports < 0):
            raise UsageError(f"ports: {ports!r} is not allowed; use a count >= 0 or names")
        names = [f"p{i + 1}" for i in range(ports)] if isinstance(ports, int) else list(ports)
        for port in names:
            self.add_port(port)

    def __repr__(self) -> str:
        return f"<Bridge {self.name}: {len(self.ports)} ports, {len(self)} addresses>"

    # ------------------------------------------------------------------ configuration
    def add_port(self, name: str) -> None:
        """A new port, an access port of VLAN 1."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"port: {name!r} is not a port name; use a non-empty string")
        if name in self.ports:
            raise UsageError(f"port: {name!r} already exists on {self.name}")
        self.ports.append(name)
        self._number[name] = len(self.ports)
        self._member[name] = _Membership(1, frozenset())
        self.learning.add_port(len(self.ports))

    def set_learning(self, learning: MacLearning) -> None:
        """Let ``learning`` keep the table and decide where every frame goes (assignment 11);
        it is told about the ports the bridge has, by number. The bridge keeps no table of
        its own then: `table`, `flush` and the MAC table records are netsim's table's only."""
        for method in ("add_port", "receive", "lookup"):
            if not callable(getattr(learning, method, None)):
                raise UsageError(f"learning: {learning!r} has no method {method}(); see "
                                 "netsim.stack.learning.MacLearning")
        for number in range(1, len(self.ports) + 1):
            learning.add_port(number)
        self.learning = learning
        self._own = False

    def _port(self, port: str) -> str:
        if port not in self._member:
            raise UsageError(f"port: {port!r} is not a port of {self.name} "
                             f"(ports: {', '.join(self.ports) or 'none'})")
        return port

    def access(self, port: str, vlan: int) -> None:
        """Make ``port`` an access port of ``vlan``: its frames are untagged, all in ``vlan``."""
        self._member[self._port(port)] = _Membership(_vid(vlan, "vlan"), frozenset())
        self._aware = True

    def trunk(self, port: str, vlans: Iterable[int], native: int | None = None) -> None:
        """Make ``port`` a trunk carrying ``vlans`` tagged, and ``native`` (if given) untagged."""
        if isinstance(vlans, (int, str)):
            raise UsageError(f"vlans: {vlans!r} is not a collection of VLANs; e.g. [10, 20]")
        tagged = frozenset(_vid(v, "vlans") for v in vlans)
        nat = None if native is None else _vid(native, "native")
        self._member[self._port(port)] = _Membership(nat, tagged - {nat} if nat else tagged)
        self._aware = True

    def vlans_of(self, port: str) -> tuple[int | None, frozenset[int]]:
        """(the VLAN of the port's untagged frames or None, the VLANs it carries tagged)."""
        m = self._member[self._port(port)]
        return m.untagged, m.tagged

    # ------------------------------------------------------------------ the table
    def table(self, vlan: int | None = None) -> dict[MacAddress, str]:
        """The addresses the bridge knows now, and their ports, in the order learned: of
        ``vlan``, or of every VLAN (an address known in two VLANs: the later one's port)."""
        if not self._own:
            raise UsageError(f"table: {self.name}'s table is a {type(self.learning).__name__}; "
                             "ask it with lookup()")
        ports = self.ports
        return {MacAddress(mac): ports[p - 1] for mac, p in self._ref.live(self.now, vlan)}

    def lookup(self, mac: MacAddress | str, vlan: int = 1) -> str | None:
        """The port of ``mac`` in ``vlan``, or None if it is not in the table (or has aged)."""
        number = self.learning.lookup(bytes(MacAddress(mac)), vlan, self.now)
        if type(number) is not int or not 1 <= number <= len(self.ports):
            return None
        return self.ports[number - 1]

    def __len__(self) -> int:
        return self._ref.entries if self._own else 0

    def flush(self, now: float, port: str | None = None) -> None:
        """Forget every address (of ``port`` only, when given), as a bridge does when the
        topology changes."""
        self.now = now
        number = None if port is None else self._number[self._port(port)]
        if not self._own:
            raise UsageError(f"flush: {self.name}'s table is a {type(self.learning).__name__}")
        self._ref.flush(now, number)

    # ------------------------------------------------------------------ time
    def poll(self, now: float) -> None:
        """Run the timers due at ``now``: the ageing of the table."""
        self.now = now
        self.timers.run(now)

    def _on_change(self, now: float, mac: bytes, port: int, event: str, vid: int) -> None:
        self._table_record(now, mac, self.ports[port - 1], event, vid)

    # ------------------------------------------------------------------ frames
    def receive(self, port: str, frame: bytes | LazyFrame, now: float) -> None:
        """A frame arrived on ``port``: learn its source, then forward, flood or filter it."""
        self.now = now
        self.counts["rx"] += 1
        if self._aware:
            self._receive_vlan(port, frame, now)
            return
        if isinstance(frame, LazyFrame):
            self._switch(port, frame, frame.src_mac, frame.dst_mac, now, 1)
        elif len(frame) < 14:
            self._drop(port, b"", b"", "malformed", f"{len(frame)}-byte frame", 1)
        else:
            self._switch(port, frame, frame[6:12], frame[0:6], now, 1)

    def _receive_vlan(self, port: str, frame: bytes | LazyFrame, now: float) -> None:
        """IEEE 802.1Q ingress: the frame's VLAN, from its tag or its port."""
        member = self._member[port]
        vid = member.untagged
        inner: bytes | LazyFrame = frame
        self._pcp = 0
        if not isinstance(frame, LazyFrame):
            if len(frame) < 14 or (frame[12:14] == TPID and len(frame) < 18):
                self._drop(port, b"", b"", "malformed", f"{len(frame)}-byte frame", 0)
                return
            if frame[12:14] == TPID:
                tagged = ((frame[14] << 8) | frame[15]) & 0x0FFF
                self._pcp = frame[14] >> 5  # kept on a tagged way out (the DEI bit is not)
                inner = untag(frame)
                if tagged:  # (a VID of 0 is a priority tag: the port's VLAN)
                    vid = tagged if member.carries(tagged) else None
        if vid is None:
            raw = as_bytes(frame)
            self._drop(port, raw[6:12], raw[0:6], "vlan_ingress",
                       "a VLAN the port does not carry", 0)
            return
        if isinstance(inner, LazyFrame):
            self._switch(port, inner, inner.src_mac, inner.dst_mac, now, vid)
        else:
            self._switch(port, inner, inner[6:12], inner[0:6], now, vid)

    def _switch(self, port: str, frame: bytes | LazyFrame, src: bytes, dst: bytes, now: float,
                vid: int) -> None:
        """Learn, then forward, flood or filter an (untagged) frame of VLAN ``vid``."""
        if src[0] & 1:
            # an individual address is the only valid source (IEEE 802.3 clause 3.2.3)
            self._drop(port, src, dst, "group_source", "", vid)
            return
        out = self.learning.receive(self._number[port], src, dst, vid, now)
        ports = self.ports
        if not self._own:
            self._decided(port, frame, src, dst, vid, out)
            return
        if dst[0] & 1:
            if dst[:5] == _RESERVED_PREFIX and dst[5] < 0x10:
                self._drop(port, src, dst, "reserved", "", vid)
                return
            self._flood(port, frame, src, dst, "broadcast" if dst == BROADCAST else "multicast",
                        vid, [ports[n - 1] for n in out])
            return
        if not self._ref.known:
            self._flood(port, frame, src, dst, "unknown", vid, [ports[n - 1] for n in out])
        elif not out:
            self.counts["filtered"] += 1
            if self.trace_frames and self.trace is not None:
                self._frame_record(port, src, dst, "filter", "", "", vid)
        else:
            to = ports[out[0] - 1]
            if self._aware and not self._member[to].carries(vid):
                # learned before the port left the VLAN: as if unknown
                self._flood(port, frame, src, dst, "unknown", vid,
                            [p for p in ports if p != port])
                return
            self._forward(port, frame, src, dst, vid, to)

    def _forward(self, port: str, frame: bytes | LazyFrame, src: bytes, dst: bytes, vid: int,
                 to: str) -> None:
        counts = self.counts
        counts["forwarded"] += 1
        counts["tx"] += 1
        if self.trace_frames and self.trace is not None:
            self._frame_record(port, src, dst, "forward", to, "", vid)
        if self._aware and vid in self._member[to].tagged:
            frame = tag(as_bytes(frame), vid, self._pcp)
        self.transmit(to, frame)

    def _decided(self, port: str, frame: bytes | LazyFrame, src: bytes, dst: bytes, vid: int,
                 out: object) -> None:
        """Send a frame where another `MacLearning` said, by the ports of its VLAN only (and
        back by the port it came in on, if it says so)."""
        ports = self.ports
        if not isinstance(out, (list, tuple)) or not all(
                type(n) is int and 1 <= n <= len(ports) for n in out):
            raise UsageError(f"learning: {type(self.learning).__name__}.receive() returned "
                             f"{out!r:.60}; it must return a list of port numbers "
                             f"1..{len(ports)}")
        if dst[0] & 1 and dst[:5] == _RESERVED_PREFIX and dst[5] < 0x10:
            self._drop(port, src, dst, "reserved", "", vid)
            return
        chosen = set(out)
        names = [p for p in ports if self._number[p] in chosen]
        if not names:
            self.counts["filtered"] += 1
            if self.trace_frames and self.trace is not None:
                self._frame_record(port, src, dst, "filter", "", "", vid)
        elif len(names) == 1 and not dst[0] & 1:
            if not self._aware or self._member[names[0]].carries(vid):
                self._forward(port, frame, src, dst, vid, names[0])
        else:
            self._flood(port, frame, src, dst, "multicast" if dst[0] & 1 else "unknown", vid,
                        names)

    def _flood(self, port: str, frame: bytes | LazyFrame, src: bytes, dst: bytes,
               reason: str, vid: int, out: list[str]) -> None:
        counts = self.counts
        counts["flooded"] += 1
        transmit = self.transmit
        if self._aware:
            member = self._member
            out = [p for p in out if member[p].carries(vid)]
        counts["tx"] += len(out)
        if self.trace_frames and self.trace is not None:
            self._frame_record(port, src, dst, "flood", ",".join(out), reason, vid)
        tagged: bytes | None = None
        for p in out:
            if self._aware and vid in self._member[p].tagged:
                if tagged is None:
                    tagged = tag(as_bytes(frame), vid, self._pcp)
                transmit(p, tagged)
            else:
                transmit(p, frame)

    def _drop(self, port: str, src: bytes, dst: bytes, reason: str, detail: str,
              vid: int) -> None:
        self.counts["drop." + reason] += 1
        if self.trace is not None:
            self.trace.record(DropRecord(self.now, self.name, "switch", reason,
                                         f"port {port}" + (f": {detail}" if detail else "")))
        if self.trace_frames and self.trace is not None:
            self._frame_record(port, src, dst, "drop", "", reason + (f": {detail}" if detail
                                                                     else ""), vid)

    def _table_record(self, now: float, mac: bytes, port: str, event: str, vid: int) -> None:
        if self.trace is not None:
            self.trace.record(MacTableRecord(now, self.name, str(MacAddress(mac)), port, event,
                                             self._ref.entries, vid))

    def _frame_record(self, port: str, src: bytes, dst: bytes, action: str, out: str,
                      reason: str, vid: int) -> None:
        assert self.trace is not None
        self.trace.record(SwitchRecord(self.now, self.name, port,
                                       str(MacAddress(src)) if len(src) == 6 else "",
                                       str(MacAddress(dst)) if len(dst) == 6 else "", action,
                                       out, reason, vid))
