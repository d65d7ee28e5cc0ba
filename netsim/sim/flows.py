"""Several flows in one `run_bulk`: their delays checked, their results combined.

``BulkScenario.flows`` opens that many connections; with ``flow_delays`` each starts at a
sender of its own behind an access link of that delay (`netsim.sim.topology.fan_in`), so that
flows with different round-trip times share one bottleneck (RTT unfairness, lesson 12).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netsim.errors import UsageError
from netsim.sim.topology import FAN_IN_MAX

if TYPE_CHECKING:
    from netsim.sim.scenario import BulkResult

__all__ = ["check_flow_delays", "combine", "jain_index"]


def jain_index(rates: list[float]) -> float:
    """Jain's fairness index, (sum x)^2 / (n sum x^2): 1 when all are equal, 1/n when one
    flow has everything (1 for no traffic at all)."""
    squares = sum(x * x for x in rates)
    return sum(rates) ** 2 / (len(rates) * squares) if squares > 0 else 1.0


def check_flow_delays(delays: object, flows: int, ipv6: bool = False,
                      texts: Sequence[str] | None = None) -> list[float] | None:
    """``BulkScenario.flow_delays`` checked: None, or one delay from 0 to 10 s per flow.
    `texts`, the command's own words for the delays, are what an error then quotes."""
    if delays is None:
        return None
    example = "e.g. 10ms,50ms for --flows 2"
    if isinstance(delays, (str, bytes)) or not isinstance(delays, (list, tuple)):
        raise UsageError(f"--flow-delays: {delays!r} is not a list of delays; {example}")
    out: list[float] = []
    for i, d in enumerate(delays):
        if (isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d)
                or not 0 <= d <= 10):
            if texts is not None:
                raise UsageError(f"--flow-delays: {texts[i]!r} is not allowed; use times from "
                                 f"0 to 10s, one per flow, {example}")
            raise UsageError(f"--flow-delays: {d!r} is not a delay; use seconds from 0 to 10 "
                             f"(in the command: times with a unit, {example})")
        out.append(float(d))
    if len(out) != flows:
        raise UsageError(f"--flow-delays: {len(out)} "
                         f"{'delay' if len(out) == 1 else 'delays'} for --flows {flows}; give "
                         f"one delay per flow, {example}")
    if flows > FAN_IN_MAX:
        raise UsageError(f"--flow-delays: at most {FAN_IN_MAX} flows can have delays of their "
                         f"own, not {flows}")
    if ipv6:
        raise UsageError("--flow-delays: not with -6 (the senders' topology is IPv4 only)")
    return out


def combine(results: list[BulkResult]) -> BulkResult:
    """One summary of several flows: totals, the slowest flow's time, Jain's index."""
    first = results[0]
    goodputs = [r.goodput_bps for r in results]
    sim_seconds = max(r.sim_seconds for r in results)
    delivered = sum(r.bytes_delivered for r in results)

    def joined(hashes: list[str]) -> str:
        # The digest of the flows' digests in flow order: equal iff every flow is equal
        return hashlib.sha256("".join(hashes).encode()).hexdigest()

    # Each flow's two digests read one after the other: equal, they are worked out once
    # (netsim.apps.bulk.expected_sha256 keeps only the last few)
    digests = [(r.sha256_sent, r.sha256_received) for r in results]
    return dataclasses.replace(
        first,
        bytes_requested=sum(r.bytes_requested for r in results),
        bytes_sent=sum(r.bytes_sent for r in results),
        bytes_delivered=delivered,
        sha256_sent=joined([sent for sent, _ in digests]),
        sha256_received=joined([got for _, got in digests]),
        intact=all(r.intact for r in results),
        completed=all(r.completed for r in results),
        sim_seconds=sim_seconds,
        close_seconds=max(r.close_seconds for r in results),
        goodput_bps=delivered * 8 / sim_seconds if sim_seconds > 0 else 0.0,
        data_segments=sum(r.data_segments for r in results),
        retransmissions=sum(r.retransmissions for r in results),
        timeouts=sum(r.timeouts for r in results),
        fast_retransmits=sum(r.fast_retransmits for r in results),
        sack_recoveries=sum(r.sack_recoveries for r in results),
        flows=len(results),
        jain_fairness=jain_index(goodputs),
        flow_goodputs_bps=goodputs,
        flow_timeouts=[t for r in results for t in r.flow_timeouts],
    )
