"""Per-connection TCP settings, and the factories for the replaceable parts (DESIGN.md §6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from netsim.errors import UsageError
from netsim.stack.tcp.congestion import CC_FACTORIES, CongestionControl, make_cc
from netsim.stack.tcp.congestion.reno import IW_PRESETS
from netsim.stack.tcp.reassembly import Reassembler, SegmentReassembler
from netsim.stack.tcp.rto import Rfc6298Estimator, RtoEstimator
from netsim.stack.tcp.tcp_receiver import StreamReceiver, TcpReceiver
from netsim.stack.tcp.tcp_sender import StreamSender, TcpSender

RTO_PRESETS = {"rfc6298": 1.0, "linux": 0.2}

# The settings checked for their type (and least value) before the checks of their meaning:
# counts, with the least each allows; times in seconds (>= 0); on/off flags
_COUNTS = {"rcvbuf": 1, "sndbuf": 1, "max_retries": 0, "syn_retries": 0, "synack_retries": 0,
           "backlog": 1, "max_half_open": 0, "dupack_threshold": 1}
_SECONDS = ("delayed_ack", "min_rto", "max_rto", "initial_rto", "clock_granularity", "msl",
            "fin_wait2_timeout", "invalid_ratelimit", "challenge_ack_interval")
_FLAGS = ("window_scaling", "timestamps", "sack", "nodelay", "rack", "paws", "dsack", "pacing",
          "trace_connections")


@dataclass(slots=True)
class TcpConfig:
    """Settings for the connections of one stack (a socket may override some).

    msl: Maximum Segment Lifetime; TIME-WAIT lasts 2*MSL. RFC 9293 suggests 2 minutes;
    the default here is 30 s, which gives Linux's 60 s TIME-WAIT.

    (Slots: the compiled connection reads a few of these on every segment, and a slot is a
    cheaper read for it than an instance dictionary; a misspelt setting is an error too.)
    """

    mss: int | None = None  # None: interface MTU - 40
    rcvbuf: int = 1 << 20
    sndbuf: int = 1 << 20
    window_scaling: bool = True  # RFC 7323 §2
    timestamps: bool = True  # RFC 7323 §3
    sack: bool = True  # RFC 2018
    nodelay: bool = False  # True disables Nagle (RFC 1122 §4.2.3.4), like TCP_NODELAY
    delayed_ack: float = 0.2  # RFC 1122 §4.2.3.2: at most 0.5 s; 0 disables delayed ACKs
    min_rto: float = 1.0  # RFC 6298 (2.4); 0.2 is Linux's
    max_rto: float = 60.0
    initial_rto: float = 1.0
    clock_granularity: float = 0.001
    max_retries: int = 15  # retransmissions of one segment before giving up (Linux tcp_retries2)
    syn_retries: int = 6
    synack_retries: int = 5  # SYN-ACK retransmissions of a half-open connection (Linux's)
    msl: float = 30.0
    fin_wait2_timeout: float = 60.0  # an orphaned FIN-WAIT-2 ends after this (Linux: 60 s)
    backlog: int = 128
    max_half_open: int = 256
    # SYN cookies (RFC 4987 §3.6, netsim.stack.tcp.syncookies), as Linux's
    # net.ipv4.tcp_syncookies: 0 never, 1 when the half-open queue is full, 2 always
    syncookies: int = 1
    # at most one challenge ACK (RFC 5961 §7 asks for a limit) or answer to an out-of-window
    # segment without data per connection per this many seconds (Linux's
    # net.ipv4.tcp_invalid_ratelimit; Linux exempts segments that carry data)
    invalid_ratelimit: float = 0.5
    # RFC 5961 §7 ACK throttling host-wide, as Linux's net.ipv4.tcp_challenge_ack_limit: at
    # most about this many challenge ACKs per `challenge_ack_interval` seconds from the whole
    # stack (the budget of each interval drawn from [limit/2, limit*3/2), as Linux draws it:
    # an exact shared count is a side channel, CVE-2016-5696). None: no host-wide limit (the
    # per-connection one above still applies), Linux's default since 6.0.
    challenge_ack_limit: int | None = None
    challenge_ack_interval: float = 1.0
    cc: str = "newreno"
    initial_window: str = "rfc5681"  # or "iw10"
    cc_factory: Callable[[], CongestionControl] | None = None
    rto_factory: Callable[[], RtoEstimator] | None = None
    reassembler_factory: Callable[[], Reassembler] = field(default=SegmentReassembler)
    # the receive side in sequence space (assignment 06); None: netsim's StreamReceiver
    # around a reassembler from reassembler_factory
    receiver_factory: Callable[[], TcpReceiver] | None = None
    # the send side in sequence space (the send buffer); None: netsim's StreamSender
    sender_factory: Callable[[], TcpSender] | None = None
    dupack_threshold: int = 3
    # RACK-TLP loss detection (RFC 8985, netsim.stack.tcp.rack), used when SACK is agreed;
    # off: DupAck counting (RFC 6675) alone. On by default, as Linux's net.ipv4.tcp_recovery
    # (default 0x1 since 4.4; RACK alone marks losses since 4.18) with its tail loss probe
    # (net.ipv4.tcp_early_retrans, default 3)
    rack: bool = True
    # D-SACK (RFC 2883): report a duplicate segment in the first SACK block of the ACK it
    # draws, as Linux's net.ipv4.tcp_dsack=1 (its default) does. A sender recognises D-SACK
    # blocks whatever this says; RACK widens its reordering window on them (RFC 8985 §6.2).
    # Independent of `rack`, as Linux's two sysctls are: TcpConfig(rack=False) alone keeps
    # D-SACK on (Linux with tcp_recovery=0). netsim before RACK had neither: `--no-rack`,
    # BulkScenario(rack=False) and the sweeps' `rack = false` turn both off
    dsack: bool = True
    # PAWS (RFC 7323 §5): drop a segment whose TSval is older than TS.Recent. Linux has it
    # always on; off here for now because reordered pure ACKs are old by TSval and dropping
    # them changes seeded outputs (Linux exempts such "disordered" ACKs)
    paws: bool = False
    # ECN (RFC 3168 §6.1, netsim.stack.tcp.ecn), as Linux's net.ipv4.tcp_ecn: 0 never, 1 ask
    # for it in our SYNs and agree when asked, 2 agree only when a peer's SYN asks. 2 is Linux's
    # default and netsim's: answering an ECN-setup SYN costs nothing unless the peer asked, and
    # a Linux client with tcp_ecn=1 then gets ECN from netsim as from a Linux server, while
    # netsim's own connections stay as they were (no ECT, so a marking queue drops) unless
    # told (`--ecn`, ecn=1)
    ecn: int = 2
    # Pacing (netsim.stack.tcp.pacing): data segments no faster than Linux's default rate,
    # 2 x cwnd/SRTT in slow start, 1.2 x after (a controller with its own rate, BBR, is
    # paced whatever this says); off by default, as without Linux's fq qdisc
    pacing: bool = False
    isn_key: bytes = b"netsim"
    trace_connections: bool = True

    def __post_init__(self) -> None:
        self._check_types()
        if self.delayed_ack < 0 or self.delayed_ack > 0.5:
            raise UsageError("delayed_ack: must be 0 (off) to 0.5 s (RFC 1122 §4.2.3.2)")
        if self.mss is not None and not 64 <= self.mss <= 65495:
            raise UsageError(f"mss: {self.mss} is not in 64..65495")
        if self.min_rto <= 0 or self.max_rto < self.min_rto:
            raise UsageError("min_rto/max_rto: need 0 < min_rto <= max_rto")
        if self.syncookies not in (0, 1, 2):
            raise UsageError(f"syncookies: {self.syncookies!r} is not 0 (off), 1 (when the "
                             "half-open queue is full) or 2 (always)")
        if self.challenge_ack_limit is not None and self.challenge_ack_limit < 0:
            raise UsageError(f"challenge_ack_limit: {self.challenge_ack_limit!r} is not a "
                             "count >= 0 (or None: no host-wide limit)")
        if not self.challenge_ack_interval > 0:
            raise UsageError(f"challenge_ack_interval: {self.challenge_ack_interval!r} is not "
                             "a time > 0 seconds")
        if isinstance(self.ecn, bool):
            self.ecn = int(self.ecn)  # True: ask for it (1); False: never (0)
        if not isinstance(self.ecn, int) or self.ecn not in (0, 1, 2):
            raise UsageError(f"ecn: {self.ecn!r} is not 0 (off), 1 (ask for it and agree) or "
                             "2 (agree when asked)")
        if self.initial_rto <= 0:
            raise UsageError(f"initial_rto: {self.initial_rto!r} is not a time > 0 seconds "
                             "(RFC 6298 (2.1): 1 s)")
        if self.initial_window not in IW_PRESETS:
            raise UsageError(f"initial_window: {self.initial_window!r} is not 'rfc5681' (RFC 5681 "
                             "§3.1) or 'iw10' (RFC 6928)")

    def _check_types(self) -> None:
        """A setting of the wrong type (rcvbuf="1M", nodelay=1) is a UsageError naming it,
        not a TypeError from a comparison below or, later, inside a connection."""
        for name, least in _COUNTS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise UsageError(f"{name}: {value!r:.60} is not a count; use an int >= {least}")
        if self.mss is not None and (isinstance(self.mss, bool) or not isinstance(self.mss, int)):
            raise UsageError(f"mss: {self.mss!r:.60} is not a segment size; use an int in "
                             "64..65495 (or None: the interface's MTU - 40)")
        for name in _SECONDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise UsageError(f"{name}: {value!r:.60} is not a time in seconds; use a "
                                 "number >= 0")
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name}: {getattr(self, name)!r:.60} is not True or False")
        if self.cc_factory is None and (not isinstance(self.cc, str)
                                        or self.cc not in CC_FACTORIES):
            raise UsageError(f"cc: {self.cc!r:.60} is not a congestion control; use "
                             f"{'|'.join(sorted(CC_FACTORIES))} (or cc_factory=...)")
        if not isinstance(self.isn_key, bytes):
            raise UsageError(f"isn_key: {self.isn_key!r:.60} is not bytes; use e.g. b'netsim'")

    def new_cc(self) -> CongestionControl:
        if self.cc_factory is not None:
            return self.cc_factory()
        cc = make_cc(self.cc)
        if hasattr(cc, "iw_preset"):
            cc.iw_preset = self.initial_window
        return cc

    def new_rto(self) -> RtoEstimator:
        if self.rto_factory is not None:
            return self.rto_factory()
        return Rfc6298Estimator(self.min_rto, self.max_rto, self.initial_rto,
                                self.clock_granularity)

    def new_receiver(self) -> TcpReceiver:
        if self.receiver_factory is not None:
            return self.receiver_factory()
        return StreamReceiver(self.reassembler_factory())

    def new_sender(self) -> TcpSender:
        if self.sender_factory is not None:
            return self.sender_factory()
        return StreamSender()

    @classmethod
    def linux_like(cls, **kw: object) -> TcpConfig:
        """Linux-flavoured timers: 200 ms minimum RTO, 40 ms-ish delayed ACK, IW10."""
        base: dict[str, object] = {"min_rto": 0.2, "delayed_ack": 0.04,
                                   "initial_window": "iw10"}
        base.update(kw)
        return cls(**base)  # type: ignore[arg-type]
