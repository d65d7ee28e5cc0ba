"""Typed trace records emitted by the stack (and by links), and the tracer interface.

Every state change a lesson wants to show is one small frozen record with a
timestamp. The stack only builds a record when a tracer is attached
(``if self.trace is not None: ...``), so tracing off costs one attribute test.
netsim.trace collects, exports and plots these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Tracer(Protocol):
    def record(self, rec: TraceRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class TraceRecord:
    time: float
    host: str


@dataclass(frozen=True, slots=True)
class SegmentRecord(TraceRecord):
    """A TCP segment sent ("tx") or received ("rx") by a connection (or a listener)."""

    conn: str  # "10.0.0.1:40000>10.0.0.2:7", local side first
    direction: str  # "tx" | "rx"
    seq: int
    ack: int
    length: int  # payload bytes
    flags: str  # tcpdump letters, e.g. "S.", "P.", "F."
    window: int  # the window field as sent (unscaled)
    options: str  # tcpdump style, e.g. "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7"
    retransmit: bool = False
    sack: tuple[tuple[int, int], ...] = ()
    seq_rel: int = 0  # sequence relative to the sender's ISN (tx: ours; rx: the peer's)
    ack_rel: int = 0  # ack relative to the other side's ISN


@dataclass(frozen=True, slots=True)
class CwndRecord(TraceRecord):
    conn: str
    cwnd: int
    ssthresh: int
    flight: int
    event: str = ""  # "ack", "dupack", "fast_retransmit", "rto", "recovery_exit", "idle"...


@dataclass(frozen=True, slots=True)
class RateRecord(TraceRecord):
    """Pacing and delivery rate of a connection after an ACK with a rate sample
    (netsim.stack.tcp.delivery), and the controller's state (BBR: "startup", "drain",
    "probe_bw", "probe_rtt"; "" for a controller without states)."""

    conn: str
    pacing_bps: float  # bits per second (0.0: unpaced)
    delivery_bps: float  # the rate sample, bits per second
    state: str = ""
    app_limited: bool = False


@dataclass(frozen=True, slots=True)
class RttRecord(TraceRecord):
    conn: str
    sample: float | None  # the RTT measurement (None when only RTO changed, e.g. backoff)
    srtt: float | None
    rttvar: float | None
    rto: float
    backoff: int


@dataclass(frozen=True, slots=True)
class StateRecord(TraceRecord):
    conn: str
    old: str
    new: str
    event: str


@dataclass(frozen=True, slots=True)
class TimerRecord(TraceRecord):
    conn: str
    timer: str  # "rto", "syn", "persist", "delack", "time_wait", "keepalive"
    action: str  # "fired"


@dataclass(frozen=True, slots=True)
class DropRecord(TraceRecord):
    """A frame or segment dropped, with where and why."""

    where: str  # "link", "eth", "arp", "ipv4", "icmp", "udp", "tcp", "switch"
    reason: str  # e.g. "loss", "queue", "corrupt", "checksum", "out_of_window", "no_route"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class QueueRecord(TraceRecord):
    """A frame leaving a link's queue for its transmitter (``host`` is the sending endpoint,
    e.g. "link.a"): how long it waited, and how many frames still wait behind it.

    One per frame per link direction, so they are recorded only when asked for (a recorder
    with ``kinds={"queue", ...}``, or `netsim.sim.topology.record_queues`)."""

    sojourn: float  # seconds between entering the queue and starting to be sent
    qlen: int  # frames still waiting after this one left
    marked: bool = False  # ECN CE set by the queue discipline on the way


@dataclass(frozen=True, slots=True)
class EventRecord(TraceRecord):
    """Any other notable event: a congestion-control or application event."""

    conn: str
    kind: str  # "fast_retransmit", "recovery_enter", "recovery_exit", "rto", "sack_recovery",...
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EcnRecord(TraceRecord):
    """An ECN event of a connection (RFC 3168 §6.1, netsim.stack.tcp.ecn), with the window
    after it."""

    conn: str
    event: str  # "negotiated"; receiver: "ce_received" (ECE on from now), "cwr_received"
    #             (ECE off); sender: "reduce" (an ECE ACK cut cwnd), "cwr_sent",
    #             "loss_after_cut" (a loss in the window an ECE ACK cut: no second cut)
    cwnd: int
    ssthresh: int


@dataclass(frozen=True, slots=True)
class MacTableRecord(TraceRecord):
    """A change in a switch's MAC address table (``host`` is the switch's name)."""

    mac: str  # "02:00:00:00:00:01"
    port: str  # the port the address is reached through (for "age": was)
    event: str  # "learn", "move" (now seen on another port), "age" (not seen for the ageing
    #             time), "full" (not learned: the table is full), "flush"
    size: int  # entries in the table after the change
    vlan: int = 1  # the VLAN whose table it is (IEEE 802.1Q: one table per VLAN)


@dataclass(frozen=True, slots=True)
class SwitchRecord(TraceRecord):
    """What a switch did with one frame (``host`` is the switch's name). One per frame, so
    recorded only when asked for (a recorder with ``kinds={"switch", ...}``)."""

    in_port: str
    src: str
    dst: str
    action: str  # "forward", "flood", "filter" (known to be on the arrival port), "drop"
    out: str = ""  # the ports it left by, comma-separated
    reason: str = ""  # flood: "broadcast", "multicast", "unknown"; drop: "malformed", ...
    vlan: int = 1  # the VLAN the frame was switched in
