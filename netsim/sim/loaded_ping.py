"""Bufferbloat in one call: the RTT of a ping while a bulk TCP flow fills a bottleneck.

    result = ping_under_load(LinkConfig(delay=0.01, rate_bps=10e6, qdisc=parse_qdisc("codel")))
    result.base_rtt, result.percentile(95), result.goodput_bps

h1 sends a bulk flow to h2 over `two_hosts`; after ``warmup`` seconds (time for the flow to
fill the queue) h1 pings h2 every ``interval`` until ``duration``. The queue that matters is
h1's (link.a): the data and the pings share it; the ACKs and replies come back on an empty
one. ``base_rtt`` is the same ping on the same link with no flow. Goodput is counted over
the pings' span (warmup to duration). With ``record_queue=True`` the result also holds a
`QueueRecord` (sojourn time, queue length) for every frame that left h1's queue, for plots
over time (`netsim.trace.plots.plot_queue_delay`). With ``ecn=True`` both hosts ask for ECN
(RFC 3168, TcpConfig.ecn 1): the flow's data leaves ECT(0) and a marking queue (``'codel ecn'``)
marks it CE where it would have dropped it; the pings are not ECT and are still dropped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from netsim import argcheck
from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.apps.ping import PingStats, ping
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.topology import record_queues, two_hosts
from netsim.sim.world import World
from netsim.stack.events import QueueRecord, TraceRecord
from netsim.stack.tcp.config import TcpConfig

__all__ = ["LoadedPing", "ping_under_load"]


@dataclass
class LoadedPing:
    base_rtt: float  # seconds, the ping's RTT on the idle link
    rtts: list[float]  # seconds, each reply's RTT under load
    sent: int  # echo requests sent under load
    goodput_bps: float  # the bulk flow's, from warmup to the end
    link_rate_bps: float
    drops: dict[str, int] = field(default_factory=dict)  # h1's queue, by reason
    queue_peak: int = 0  # most frames ever waiting in h1's queue
    ping_times: list[float] = field(default_factory=list)  # when each of ``rtts`` was sent
    queue: list[QueueRecord] = field(default_factory=list)  # h1's queue, if recorded
    retransmissions: int = 0  # the bulk flow's, over the whole run
    ce_marks: int = 0  # packets h1's queue marked CE (instead of dropping), whole run
    ecn_reductions: int = 0  # the flow's window reductions for an ECN-Echo, whole run

    def percentile(self, p: float) -> float:
        """The p-th percentile of the loaded RTTs (nearest rank); NaN with no reply."""
        if not self.rtts:
            return math.nan
        ordered = sorted(self.rtts)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]

    @property
    def utilisation(self) -> float:
        """Goodput as a fraction of the link rate."""
        return self.goodput_bps / self.link_rate_bps


def _base_rtt(link: LinkConfig, seed: int) -> float:
    world = World(seed)
    h1, h2 = two_hosts(world, link).hosts
    proc = world.env.process(ping(h1, h2.ip, count=3, interval=0.1))
    world.env.run(until=proc)
    stats = proc.value
    assert isinstance(stats, PingStats)
    return min(stats.rtts)


def ping_under_load(link: LinkConfig, *, duration: float = 20.0, warmup: float = 5.0,
                    interval: float = 0.1, cc: str = "cubic", seed: int = 1,
                    tcp: TcpConfig | None = None, record_queue: bool = False,
                    ecn: bool = False) -> LoadedPing:
    """Run the experiment of the module doc; ``link`` is both directions' config."""
    argcheck.instance("link", link, LinkConfig, "a LinkConfig")
    argcheck.instance("tcp", tcp, TcpConfig, "a TcpConfig")
    argcheck.seconds("duration", duration, positive=True)
    argcheck.seconds("warmup", warmup)
    argcheck.seconds("interval", interval, positive=True)
    if not warmup < duration:
        raise UsageError(f"warmup: {warmup!r} s is not less than duration, {duration!r} s")
    if link.rate_bps is None:
        raise UsageError("link: ping_under_load needs a link with a rate (rate_bps)")
    if not isinstance(ecn, bool):
        raise UsageError(f"ecn: {ecn!r} is not True or False")
    base = _base_rtt(link, seed)
    cfg = tcp or TcpConfig(cc=cc, rcvbuf=4 << 20, sndbuf=4 << 20)
    if ecn:
        cfg = dataclasses.replace(cfg, ecn=1)
    world = World(seed)
    env = world.env
    net = two_hosts(world, link, tcp=cfg)
    h1, h2 = net.hosts
    queue: list[QueueRecord] = []
    if record_queue:
        record_queues(net.links[0], _QueueList(queue, net.links[0].a.name))
    sink = SinkResult()
    sent = BulkSendResult(seed=seed)
    nbytes = int(link.rate_bps / 8 * duration * 2)  # more than the link can carry meanwhile
    env.process(bulk_sink(h2, 5001, min_read=16384, into=sink))
    env.process(bulk_sender(h1, h2.ip, 5001, nbytes, seed=seed, into=sent))
    count = max(1, round((duration - warmup) / interval))
    end = warmup + count * interval
    marks: list[int] = []

    def sample() -> Generator[Any, Any, None]:
        yield env.timeout(warmup)
        marks.append(sink.bytes_received)
        yield env.timeout(end - warmup)
        marks.append(sink.bytes_received)

    def pinger() -> Generator[Any, Any, PingStats]:
        yield env.timeout(warmup)
        result: PingStats = yield env.process(ping(h1, h2.ip, count=count, interval=interval))
        return result

    env.process(sample())
    proc = env.process(pinger())
    env.run(until=proc)
    if env.now < end:  # every reply came back before the last goodput sample
        env.run(until=end + 1e-9)
    stats = proc.value
    assert isinstance(stats, PingStats)
    delivered = marks[1] - marks[0] if len(marks) == 2 else 0
    endpoint = net.links[0].a
    answered = [r for r in stats.replies if not r.duplicate]
    conn = sent.stream.conn if sent.stream is not None else None
    return LoadedPing(
        base_rtt=base,
        rtts=[r.rtt for r in answered],
        ping_times=[warmup + (r.seq - 1) * interval for r in answered],  # ping: seq n at n-1
        queue=queue,
        sent=stats.transmitted,
        goodput_bps=delivered * 8 / (end - warmup),
        link_rate_bps=float(link.rate_bps),
        drops=dict(endpoint.stats.dropped),
        queue_peak=endpoint.stats.queue_peak,
        retransmissions=conn.retransmissions if conn is not None else 0,
        ce_marks=endpoint.qdisc.marks if endpoint.qdisc is not None else 0,
        ecn_reductions=h1.stack.tcp_counts["ecn_reductions"],
    )


class _QueueList:
    """A tracer keeping the queue records of one endpoint (``where``) in a list."""

    def __init__(self, into: list[QueueRecord], where: str) -> None:
        self.into, self.where = into, where

    def record(self, rec: TraceRecord) -> None:
        if isinstance(rec, QueueRecord) and rec.host == self.where:
            self.into.append(rec)
