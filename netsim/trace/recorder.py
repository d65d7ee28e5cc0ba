"""`Recorder`: collects the trace records a stack emits, and answers questions about them.

    rec = Recorder()                         # or Recorder(hosts={"h1"}, kinds={"segment"})
    net = two_hosts(world, cfg, trace=rec)   # every host of the topology records into it
    world.run()
    rec.segments(conn, "tx"); rec.cwnd(conn); rec.to_jsonl("run.jsonl")

What gets recorded:

- per host: pass the recorder as ``trace=`` to the `Stack` (or topology) of the hosts you want,
  or give it ``hosts={"h1"}``;
- per connection: ``TcpConfig(trace_connections=False)`` on a `connect`/`listen` leaves those
  connections out, or give the recorder ``connections={":9000"}`` (see `Recorder`);
- per record type: ``kinds={"segment", "cwnd"}`` (names in `KINDS`); links' per-frame
  "queue" records (sojourn time, queue length) and switches' per-frame "switch" records only
  when that kind is named;
- on and off: ``rec.enabled = False`` ignores records until it is set back to True (`enabled`
  is also what a stack may read to skip building records while recording is off).

A connection is named by the host that holds it, local side first:
``"10.0.0.1:49152>10.0.0.2:9000"`` on h1 is ``"10.0.0.2:9000>10.0.0.1:49152"`` on h2
(`peer_of` turns one into the other). Accessors take such a name, a `TcpConnection`, a socket
`Stream`, or None for every connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from netsim.errors import UsageError
from netsim.stack.events import (
    CwndRecord,
    DropRecord,
    EcnRecord,
    EventRecord,
    MacTableRecord,
    QueueRecord,
    RateRecord,
    RttRecord,
    SegmentRecord,
    StateRecord,
    SwitchRecord,
    TimerRecord,
    TraceRecord,
)

if TYPE_CHECKING:
    import pandas

__all__ = ["KINDS", "Recorder", "conn_name", "kind_of", "peer_of"]

#: Record type names, as used by filters, CSV file names and the "type" field of JSON lines.
KINDS: dict[str, type[TraceRecord]] = {
    "segment": SegmentRecord,
    "cwnd": CwndRecord,
    "rtt": RttRecord,
    "rate": RateRecord,
    "state": StateRecord,
    "timer": TimerRecord,
    "drop": DropRecord,
    "event": EventRecord,
    "queue": QueueRecord,
    "ecn": EcnRecord,
    "mac": MacTableRecord,
    "switch": SwitchRecord,
}
_KIND_OF: dict[type[TraceRecord], str] = {cls: name for name, cls in KINDS.items()}

R = TypeVar("R", bound=TraceRecord)
ConnLike = Any  # a connection name, a TcpConnection, a sockets.Stream, or None


def kind_of(rec: TraceRecord) -> str:
    """The kind name ("segment", "cwnd", ...) of a record."""
    try:
        return _KIND_OF[type(rec)]
    except KeyError:
        for cls, name in _KIND_OF.items():
            if isinstance(rec, cls):
                return name
        raise UsageError(f"record: {type(rec).__name__} is not a trace record type") from None


def conn_name(conn: ConnLike) -> str | None:
    """The connection name for a name, a `TcpConnection`, a `Stream`, or None."""
    if conn is None or isinstance(conn, str):
        return conn
    name = getattr(conn, "name", None)
    if isinstance(name, str) and ">" in name:
        return name
    inner = getattr(conn, "conn", None)
    name = getattr(inner, "name", None)
    if isinstance(name, str):
        return name
    raise UsageError(f"conn: {conn!r} is not a connection; give a name like "
                     "'10.0.0.1:49152>10.0.0.2:9000', a TcpConnection or a Stream")


def peer_of(conn: ConnLike) -> str:
    """The same connection as named on the other host: ``"a:1>b:2"`` -> ``"b:2>a:1"``."""
    name = conn_name(conn)
    if name is None or ">" not in name:
        raise UsageError(f"conn: {name!r} is not a connection name like 'ip:port>ip:port'")
    local, remote = name.split(">", 1)
    return f"{remote}>{local}"


def _resolve_kinds(kinds: Iterable[str | type[TraceRecord]]) -> frozenset[type[TraceRecord]]:
    out: set[type[TraceRecord]] = set()
    for k in kinds:
        if isinstance(k, str):
            if k not in KINDS:
                raise UsageError(f"kinds: {k!r} is not a record kind; use {', '.join(KINDS)}")
            out.add(KINDS[k])
        elif isinstance(k, type) and issubclass(k, TraceRecord):
            out.add(k)
        else:
            raise UsageError(f"kinds: {k!r} is not a record kind; use {', '.join(KINDS)}")
    return frozenset(out)


def _conn_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A test for connection names: a pattern is a whole name, one endpoint "ip:port" (either
    side), an address "ip" or a port ":port"."""
    pats = [str(p) for p in patterns]
    cache: dict[str, bool] = {}

    def match(name: str) -> bool:
        hit = cache.get(name)
        if hit is None:
            ends = name.split(">", 1)
            ips = [e.rsplit(":", 1)[0] for e in ends]
            hit = any(p == name or p in ends or p in ips
                      or (p.startswith(":") and any(e.endswith(p) for e in ends))
                      for p in pats)
            cache[name] = hit
        return hit

    return match


class Recorder:
    """A tracer (``record(rec)``) that keeps the records it is given, with filters.

    hosts: keep only records from these host names (links' drops come from "link.a"-style
    names). connections: keep only records of connections matching one of these patterns: a
    whole name, an endpoint ``"10.0.0.2:9000"``, an address ``"10.0.0.2"`` or a port
    ``":9000"``; records that belong to no connection (drops) are kept. kinds: keep only these
    record kinds (names from `KINDS`, or record classes); a topology records links' "queue"
    records (one per frame) only for a recorder that names that kind. enabled: start
    recording at once.
    """

    record: Callable[[TraceRecord], None]

    def __init__(self, *, hosts: Iterable[str] | None = None,
                 connections: Iterable[str] | None = None,
                 kinds: Iterable[str | type[TraceRecord]] | None = None,
                 enabled: bool = True) -> None:
        if isinstance(hosts, str) or isinstance(connections, str) or isinstance(kinds, str):
            raise UsageError("hosts/connections/kinds: give a collection, e.g. {'h1'}")
        self.records: list[TraceRecord] = []
        self._hosts = frozenset(hosts) if hosts is not None else None
        self._conn_match = _conn_matcher(connections) if connections is not None else None
        self._kinds = _resolve_kinds(kinds) if kinds is not None else None
        self._enabled = bool(enabled)
        self._rebind()

    # ------------------------------------------------------------------ recording
    @property
    def enabled(self) -> bool:
        """Whether records are kept. Connections opened while False are not traced."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = bool(value)
        self._rebind()

    def _rebind(self) -> None:
        # `record` is an instance attribute so that the common case (on, no filter) is a
        # plain list.append with no Python frame at all.
        if not self._enabled:
            self.record = self._ignore
        elif self._hosts is None and self._conn_match is None and self._kinds is None:
            self.record = self.records.append
        else:
            self.record = self._filtered

    def asks_for(self, kind: str) -> bool:
        """Whether this recorder names ``kind`` in its ``kinds`` filter. Per-frame kinds
        ("queue", "switch") are recorded only when asked for by name, so that a plain ``Recorder()``
        does not pay for one record per frame per link."""
        return self._kinds is not None and KINDS.get(kind) in self._kinds

    def _ignore(self, rec: TraceRecord) -> None:
        return None

    def _filtered(self, rec: TraceRecord) -> None:
        if self._hosts is not None and rec.host not in self._hosts:
            return
        if self._kinds is not None and type(rec) not in self._kinds:
            return
        if self._conn_match is not None:
            name = getattr(rec, "conn", None)
            if name is not None and not self._conn_match(name):
                return
        self.records.append(rec)

    def extend(self, records: Iterable[TraceRecord]) -> None:
        """Record several records (through the filters)."""
        for rec in records:
            self.record(rec)

    def clear(self) -> None:
        self.records.clear()

    @classmethod
    def from_records(cls, records: Iterable[TraceRecord]) -> Recorder:
        rec = cls()
        rec.records.extend(records)
        return rec

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        state = "on" if self._enabled else "off"
        return f"<Recorder {state}, {len(self.records)} records>"

    # ------------------------------------------------------------------ accessors
    def of_kind(self, kind: type[R], conn: ConnLike = None, host: str | None = None) -> list[R]:
        """Records of one type, optionally of one connection and/or one host, in order."""
        name = conn_name(conn)
        return [r for r in self.records if isinstance(r, kind)
                and (name is None or getattr(r, "conn", None) == name)
                and (host is None or r.host == host)]

    def segments(self, conn: ConnLike = None, direction: str | None = None,
                 host: str | None = None) -> list[SegmentRecord]:
        """TCP segments, sent (``direction="tx"``) and/or received ("rx")."""
        if direction not in (None, "tx", "rx"):
            raise UsageError(f"direction: {direction!r} is not 'tx', 'rx' or None")
        segs = self.of_kind(SegmentRecord, conn, host)
        if direction is None:
            return segs
        return [s for s in segs if s.direction == direction]

    def cwnd(self, conn: ConnLike = None, host: str | None = None) -> list[CwndRecord]:
        """Congestion window, ssthresh and bytes in flight, each time they were recorded."""
        return self.of_kind(CwndRecord, conn, host)

    def rates(self, conn: ConnLike = None, host: str | None = None) -> list[RateRecord]:
        """Pacing rate, delivery-rate sample and controller state (BBR's) after each ACK
        with a sample (only for a controller that takes rate samples)."""
        return self.of_kind(RateRecord, conn, host)

    def rtt(self, conn: ConnLike = None, host: str | None = None) -> list[RttRecord]:
        """RTT samples and the estimator's SRTT, RTTVAR and RTO after each change."""
        return self.of_kind(RttRecord, conn, host)

    def states(self, conn: ConnLike = None, host: str | None = None) -> list[StateRecord]:
        """TCP state transitions."""
        return self.of_kind(StateRecord, conn, host)

    def timers(self, conn: ConnLike = None, host: str | None = None) -> list[TimerRecord]:
        """Timer expiries (rto, syn, persist, delack, time_wait...)."""
        return self.of_kind(TimerRecord, conn, host)

    def events(self, conn: ConnLike = None, kind: str | None = None,
               host: str | None = None) -> list[EventRecord]:
        """Other events: fast_retransmit, rto, recovery_exit..."""
        evs = self.of_kind(EventRecord, conn, host)
        return evs if kind is None else [e for e in evs if e.kind == kind]

    def drops(self, host: str | None = None, where: str | None = None) -> list[DropRecord]:
        """Frames or segments dropped, by a link ("link.a"...) or a host's layer."""
        drops = self.of_kind(DropRecord, None, host)
        return drops if where is None else [d for d in drops if d.where == where]

    def mac_table(self, switch: str | None = None) -> list[MacTableRecord]:
        """Changes of switches' MAC tables (learn, move, age, full, flush)."""
        return self.of_kind(MacTableRecord, None, switch)

    def switching(self, switch: str | None = None,
                  action: str | None = None) -> list[SwitchRecord]:
        """What switches did with each frame (recorded only for ``kinds={"switch"}``)."""
        recs = self.of_kind(SwitchRecord, None, switch)
        return recs if action is None else [r for r in recs if r.action == action]

    def connections(self, host: str | None = None) -> list[str]:
        """Connection names in the order they first appear."""
        seen: dict[str, None] = {}
        for r in self.records:
            name = getattr(r, "conn", None)
            if name is not None and (host is None or r.host == host):
                seen.setdefault(name, None)
        return list(seen)

    def hosts(self) -> list[str]:
        """Host names in the order they first appear."""
        return list(dict.fromkeys(r.host for r in self.records))

    def host_of(self, conn: ConnLike) -> str | None:
        """The host holding this end of the connection (None if it recorded nothing)."""
        name = conn_name(conn)
        for r in self.records:
            if getattr(r, "conn", None) == name:
                return r.host
        return None

    def bytes_sent(self, conn: ConnLike) -> int:
        """Payload bytes sent by this end, retransmissions included."""
        return sum(s.length for s in self.segments(conn, "tx"))

    def sender(self, conn: ConnLike = None) -> str:
        """The end that sent the most payload: of `conn` and its peer, or of all connections.
        Plots use it when no connection is given."""
        name = conn_name(conn)
        candidates = self.connections() if name is None else [name, peer_of(name)]
        totals: dict[str, int] = dict.fromkeys(candidates, 0)
        counts: dict[str, int] = dict.fromkeys(candidates, 0)
        for r in self.records:
            if isinstance(r, SegmentRecord) and r.conn in totals:
                counts[r.conn] += 1
                if r.direction == "tx":
                    totals[r.conn] += r.length
        present = [c for c in candidates if counts[c]]
        if not present:
            if name is not None:
                raise UsageError(f"conn: no segments of {name} in this trace")
            raise UsageError("trace: no TCP segments recorded (was the recorder passed as "
                             "trace= and enabled?)")
        return max(present, key=lambda c: (totals[c], counts[c]))

    # ------------------------------------------------------------------ exports
    def to_jsonl(self, path: str | Path) -> Path:
        """Write every record as one JSON object per line; `read_jsonl` reads it back."""
        from netsim.trace.export import to_jsonl
        return to_jsonl(self.records, path)

    def to_csv(self, path: str | Path, kind: str | None = None) -> list[Path]:
        """One CSV per record kind: with `kind`, that kind into the file `path`; without,
        every kind present into the directory `path` (``segment.csv``, ``cwnd.csv``, ...)."""
        from netsim.trace.export import to_csv
        return to_csv(self.records, path, kind)

    def to_dataframe(self, kind: str | None = None) -> pandas.DataFrame:
        """A pandas DataFrame: one row per record, a "type" column, and the columns of every
        record kind present (or of `kind` only). Needs pandas (``pip install netsim[pandas]``)."""
        from netsim.trace.export import to_dataframe
        return to_dataframe(self.records, kind)

    @classmethod
    def from_dataframe(cls, df: pandas.DataFrame) -> Recorder:
        """The records of a DataFrame made by `to_dataframe`."""
        from netsim.trace.export import from_dataframe
        return cls.from_records(from_dataframe(df))
