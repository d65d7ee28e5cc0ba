"""Ready-made experiments: one bulk TCP transfer between two hosts, summarised.

    result = run_bulk(BulkScenario(bytes=10_000_000, link=LinkConfig(delay=0.01, rate_bps=1e8)))
    result.intact, result.goodput_bps, result.to_dict()

Used by ``netsim sim`` and by benchmarks and sweeps. The world stops as soon as the transfer and
both closes are done (the sender's TIME-WAIT is not waited out).

``mss`` is the payload of a full segment, as users count it (``ss -i`` shows 1448 for an MTU of
1500 with timestamps): the MSS option announced is ``mss + 12`` when timestamps are on (RFC 7323
§3: the option takes 12 bytes of every segment) and ``mss`` otherwise. ``cc`` is a registered
name (`netsim.stack.tcp.congestion.CC_FACTORIES`), ``path/to/file.py:ClassName``, or "factory"
(``tcp.cc_factory`` as given).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simpy.events import Event

from netsim import argcheck
from netsim.apps.bulk import (
    BulkSendResult,
    SinkResult,
    bulk_sender,
    bulk_sink,
    held_sha256,
)
from netsim.errors import UsageError
from netsim.sim.bulk_result import BulkResult, link_summary
from netsim.sim.flows import check_flow_delays, combine
from netsim.sim.link import Link, LinkConfig
from netsim.sim.topology import capture, fan_in, two_hosts
from netsim.sim.topology6 import enable_ipv6_pair
from netsim.sim.world import World
from netsim.stack.events import Tracer
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.errors import TcpError
from netsim.tcpspec import (
    HEADERS,
    MIN_MSS,
    TIMESTAMP_OVERHEAD,
    check_tcp_mtu,
    load_cc_class,
    resolve_cc,
    tcp_min_mtu,
)

__all__ = ["BulkResult", "BulkScenario", "check_flow_delays", "check_tcp_mtu", "link_summary",
           "load_cc_class", "resolve_cc", "run_bulk", "tcp_config_for", "tcp_min_mtu"]

SINK_PORT = 5001


@dataclass
class BulkScenario:
    """One bulk transfer h1 -> h2 over `two_hosts`.

    ``link`` is the h1 -> h2 direction (and h2 -> h1 unless ``reverse`` is given). ``tcp`` is the
    base TCP configuration of both hosts; ``mss`` and ``cc`` override it. ``time_limit`` (in
    simulated seconds) stops a transfer that does not finish; None waits for TCP to succeed or
    give up.
    """

    bytes: int = 10_000_000
    link: LinkConfig = field(default_factory=lambda: LinkConfig(delay=0.01, rate_bps=100e6))
    reverse: LinkConfig | None = None
    seed: int = 1
    mss: int | None = None
    cc: str = "newreno"
    tcp: TcpConfig | None = None
    pcap: str | Path | None = None
    trace: Tracer | None = None
    chunk: int = 1 << 16
    time_limit: float | None = None
    flows: int = 1  # parallel connections h1 -> h2 over the same link, `bytes` each
    # RACK-TLP (RFC 8985) on or off; None: as `tcp` says (on, with D-SACK, by default). True
    # also turns on D-SACK (RFC 2883), as Linux runs RACK: its reordering window adapts only to
    # D-SACK blocks. False turns both off: DupAck counting alone (RFC 6675), netsim's default
    # before RACK was
    rack: bool | None = None
    # ECN (RFC 3168): True: both hosts ask for it (TcpConfig.ecn 1), False: never (0);
    # None: as `tcp` says
    ecn: bool | None = None
    # pacing (netsim.stack.tcp.pacing) at Linux's default rate; None: as `tcp` says (off; BBR
    # paces at its own rate whatever this says)
    pacing: bool | None = None
    ipv6: bool = False  # over IPv6 (netsim.sim.topology6.enable_ipv6_pair) instead of IPv4
    # One extra one-way delay (seconds) per flow, as many as `flows`: flow i then starts at a
    # host of its own behind an access link of that delay, and all of them share ``link`` as
    # a bottleneck from a router to h2 (netsim.sim.topology.fan_in). None: all from h1.
    flow_delays: list[float] | None = None
    # Called with (env, the sink's result as it fills, the event that fires when both apps
    # are done) once the apps are started: e.g. `netsim demo` starts its progress bar here.
    on_start: Callable[[Any, SinkResult, Event], None] | None = None


def tcp_config_for(scenario: BulkScenario) -> TcpConfig:
    """The TcpConfig both hosts use: ``scenario.tcp`` with ``mss`` and ``cc`` applied."""
    base = scenario.tcp if scenario.tcp is not None else TcpConfig()
    changes: dict[str, Any] = {}
    name: str | None
    factory: Callable[[], Any] | None
    if scenario.cc == "factory":  # the controller of `tcp.cc_factory` (e.g. the grader's proxy)
        if base.cc_factory is None:
            raise UsageError("cc: 'factory' needs tcp=TcpConfig(cc_factory=...)")
        name, factory = None, base.cc_factory
    else:
        name, factory = resolve_cc(scenario.cc)
    if name is not None:
        changes["cc"] = name
        changes["cc_factory"] = None
    else:
        changes["cc_factory"] = factory
    mtu = min(scenario.link.mtu, (scenario.reverse or scenario.link).mtu)
    check_tcp_mtu(mtu, base.timestamps)
    if scenario.mss is not None:
        mss = scenario.mss
        overhead = TIMESTAMP_OVERHEAD if base.timestamps else 0
        largest = mtu - HEADERS - overhead
        if isinstance(mss, bool) or not isinstance(mss, int) or not MIN_MSS <= mss <= largest:
            raise UsageError(f"--mss: {mss!r} does not fit; use payload bytes per segment "
                             f"from 64 to {largest} (MTU {mtu} - 40 header bytes"
                             + (" - 12 for timestamps)" if overhead else ")"))
        changes["mss"] = mss + overhead
    if scenario.rack is not None:
        changes["rack"] = changes["dsack"] = scenario.rack
    if scenario.ecn is not None:
        changes["ecn"] = 1 if scenario.ecn else 0
    if scenario.pacing is not None:
        changes["pacing"] = scenario.pacing
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------------- running
def run_bulk(scenario: BulkScenario) -> BulkResult:
    """Run one transfer h1 -> h2 and summarise it (see `BulkResult`).

    A bad setting raises `UsageError`; a transfer that TCP gives up on (or that hits
    ``time_limit``) is not an exception: the result has ``completed`` False and ``error`` set.
    """
    nbytes = scenario.bytes
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise UsageError(f"--bytes: {nbytes!r} is not a size; use a whole number >= 0")
    if scenario.time_limit is not None and not scenario.time_limit > 0:
        raise UsageError(f"time_limit: {scenario.time_limit!r} is not a positive time")
    flows = scenario.flows
    if isinstance(flows, bool) or not isinstance(flows, int) or not 1 <= flows <= 1000:
        raise UsageError(f"--flows: {flows!r} is not a number of connections from 1 to 1000")
    delays = check_flow_delays(scenario.flow_delays, flows, scenario.ipv6)
    argcheck.instance("link", scenario.link, LinkConfig, "a LinkConfig")
    argcheck.instance("reverse", scenario.reverse, LinkConfig, "a LinkConfig (or None)")
    argcheck.instance("tcp", scenario.tcp, TcpConfig, "a TcpConfig (or None)")
    argcheck.instance("cc", scenario.cc, str, "a congestion control's name or file.py:Class")
    if scenario.pcap is not None:
        argcheck.path("pcap", scenario.pcap)
    wall_start = time.perf_counter()
    cfg = tcp_config_for(scenario)
    world = World(scenario.seed)
    env = world.env
    if delays is None:
        net = two_hosts(world, scenario.link, scenario.reverse, trace=scenario.trace, tcp=cfg)
        h1, h2 = net.hosts
        sources = [h1] * flows
        dst = enable_ipv6_pair(net) if scenario.ipv6 else h2.ip
    else:
        net = fan_in(world, delays, scenario.link, scenario.reverse, trace=scenario.trace,
                     tcp=cfg)
        *sources, h2 = net.hosts
        dst = h2.ip
    link = net.links[0]

    senders = [BulkSendResult(seed=scenario.seed + i) for i in range(flows)]
    sinks = [SinkResult() for _ in range(flows)]
    procs = []
    for i, (sres, kres) in enumerate(zip(senders, sinks, strict=True)):
        # Flow i: port SINK_PORT + i, its own data (seed + i), which the sink compares with
        # that stream as it arrives
        procs.append(env.process(bulk_sink(h2, SINK_PORT + i, min_read=16384,
                                           seed=scenario.seed + i, into=kres)))
        procs.append(env.process(bulk_sender(sources[i], dst, SINK_PORT + i, nbytes,
                                             seed=scenario.seed + i, chunk=scenario.chunk,
                                             into=sres)))
    errors: list[BaseException] = []
    done = env.event()
    left = [len(procs)]

    def finished(ev: Event) -> None:
        if not ev.ok:
            ev.defused = True
            exc = ev.value
            assert isinstance(exc, BaseException)
            errors.append(exc)
        left[0] -= 1
        if (left[0] == 0 or not ev.ok) and not done.triggered:
            done.succeed()

    for proc in procs:
        proc.callbacks.append(finished)
    if scenario.on_start is not None:
        scenario.on_start(env, sinks[0], done)
    until: Event = done
    if scenario.time_limit is not None:
        until = env.any_of([done, env.timeout(scenario.time_limit)])

    if scenario.pcap is not None:
        with capture(link.a, scenario.pcap):
            stalled = _run(env, until)
    else:
        stalled = _run(env, until)

    for exc in errors:
        if not isinstance(exc, TcpError):
            raise exc  # a bug, not a network outcome
    error: str | None = None
    if errors:
        error = str(errors[0])
    elif stalled:
        error = "the simulation ran out of events before the transfer finished"
    elif not done.triggered:
        error = f"time limit of {scenario.time_limit:g} s reached"
    wall = time.perf_counter() - wall_start
    results = [_summarise(scenario, cfg, float(env.now), wall, sres, kres, link, error)
               for sres, kres in zip(senders, sinks, strict=True)]
    result = results[0] if flows == 1 else combine(results)
    if delays is not None:
        result.flow_delays = delays
        result.handshake_rtts = [s.connected_at - s.connect_started
                                 if s.connected_at is not None and s.connect_started is not None
                                 else math.nan for s in senders]
    return result


def _run(env: Any, until: Event) -> bool:
    """Run until ``until``; True if the world stalled first (no events left)."""
    try:
        env.run(until=until)
    except RuntimeError as exc:  # simpy: 'No scheduled events left but "until" event was ...'
        if "No scheduled events left" not in str(exc):
            raise
        return True
    return False


def _summarise(scenario: BulkScenario, cfg: TcpConfig, now: float, wall: float,
               sres: BulkSendResult, kres: SinkResult, link: Link,
               error: str | None) -> BulkResult:
    conn = sres.stream.conn if sres.stream is not None else None
    start = sres.connect_started if sres.connect_started is not None else 0.0
    end = kres.last_byte_at if kres.last_byte_at is not None else kres.eof_at
    if error is not None or end is None:
        end = now
    sim_seconds = end - start
    if sres.closed_at is not None and kres.closed_at is not None:
        close_at = max(sres.closed_at, kres.closed_at)
    else:
        close_at = now
    completed = error is None and sres.closed_at is not None and kres.closed_at is not None
    delivered = kres.bytes_received
    # Every byte delivered, each the sender's (the sink compared them with the seed's stream)
    intact = (completed and delivered == sres.bytes_sent == scenario.bytes
              and kres.first_difference is None)
    drops: dict[str, int] = {}
    for endpoint in (link.a, link.b):
        for reason, n in endpoint.stats.dropped.items():
            drops[reason] = drops.get(reason, 0) + n
    ecn = None
    if cfg.ecn == 1:
        counts = conn.stack.tcp_counts if conn is not None else Counter[str]()
        ecn = {"ce_marks": sum(q.marks for q in (link.a.qdisc, link.b.qdisc) if q is not None),
               "negotiated": counts["ecn_negotiated"],
               "ece_reductions": counts["ecn_reductions"], "cwr_sent": counts["ecn_cwr_sent"]}
    if conn is not None:
        mss = conn.snd_mss
    else:
        mss = (cfg.mss or scenario.link.mtu - HEADERS) - (
            TIMESTAMP_OVERHEAD if cfg.timestamps else 0)
    return BulkResult(
        bytes_requested=scenario.bytes,
        bytes_sent=sres.bytes_sent,
        bytes_delivered=delivered,
        sha256_sent=held_sha256(sres),  # (not worked out here: when read)
        sha256_received=held_sha256(kres),
        intact=intact,
        completed=completed,
        error=error,
        sim_seconds=sim_seconds,
        close_seconds=close_at - start,
        wall_seconds=wall,
        goodput_bps=delivered * 8 / sim_seconds if sim_seconds > 0 else 0.0,
        data_segments=conn.data_segs_out if conn is not None else 0,
        retransmissions=conn.retransmissions if conn is not None else 0,
        timeouts=conn.timeouts if conn is not None else 0,
        fast_retransmits=conn.fast_retransmits if conn is not None else 0,
        sack_recoveries=conn.sack_recoveries if conn is not None else 0,
        cc=scenario.cc,
        mss=mss,
        seed=scenario.seed,
        link=link_summary(scenario.link),
        reverse_link=link_summary(scenario.reverse) if scenario.reverse is not None else None,
        link_drops=drops,
        ecn=ecn,
        flow_goodputs_bps=[delivered * 8 / sim_seconds if sim_seconds > 0 else 0.0],
        flow_timeouts=[conn.timeouts if conn is not None else 0],
        sender=sres,
        sink=kres,
    )
