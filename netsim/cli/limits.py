"""How big a run will be, estimated before it starts, and the limits above which a command
asks for ``--allow-large``.

The estimates are deliberately simple (a count of segments, a cost per segment measured on
this project's machines) and are printed with the refusal, so a user can judge them:

    netsim: error: --bytes: 1 TB is about 691 million segments, roughly 38.4 h of wall time
    (the limit is 10 min); pass --allow-large to run it anyway

The limits are the constants below. The environment variable ``NETSIM_LIMITS`` changes them,
e.g. ``NETSIM_LIMITS="wall=30min,pcap=5GB,trace=5000000,pixels=50000000,runs=1000000,
sweep-wall=8h"`` (any subset, in the units of the flags); a bad value there is a one-line error
like any other.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import dataclass

from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import link_summary
from netsim.tcpspec import HEADERS, TIMESTAMP_OVERHEAD
from netsim.units import format_size, format_time, parse_size, parse_time

__all__ = ["MAX_FIGURE_PIXELS", "MAX_PCAP_BYTES", "MAX_SWEEP_RUNS", "MAX_SWEEP_WALL_SECONDS",
           "MAX_TRACE_RECORDS", "MAX_WALL_SECONDS", "TransferEstimate", "add_allow_large",
           "Limits", "check_transfer", "count_text", "current_limits", "estimate_transfer",
           "refuse_large"]

#: Estimated wall time of one command (or sweep, over its workers).
MAX_WALL_SECONDS = 600.0
#: Bytes of one pcap file.
MAX_PCAP_BYTES = 1_000_000_000
#: Trace records kept in memory (each is a Python object; ~2M is about 1 GB).
MAX_TRACE_RECORDS = 2_000_000
#: Pixels of one figure.
MAX_FIGURE_PIXELS = 25_000_000
#: Runs of one sweep, and its estimated wall time over its workers.
MAX_SWEEP_RUNS = 100_000
MAX_SWEEP_WALL_SECONDS = 3600.0

ENV = "NETSIM_LIMITS"


@dataclass(frozen=True)
class Limits:
    """The limits in force (the defaults above, or as ``NETSIM_LIMITS`` sets them)."""

    wall: float = MAX_WALL_SECONDS
    pcap: int = MAX_PCAP_BYTES
    trace: int = MAX_TRACE_RECORDS
    pixels: int = MAX_FIGURE_PIXELS
    runs: int = MAX_SWEEP_RUNS
    sweep_wall: float = MAX_SWEEP_WALL_SECONDS


def current_limits() -> Limits:
    """The limits, with ``NETSIM_LIMITS="wall=30min,pcap=5GB,..."`` applied."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return Limits()
    changes: dict[str, float | int] = {}
    names = [f.name.replace("_", "-") for f in dataclasses.fields(Limits)]
    for item in text.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        where = f"{ENV} {key}"
        if not sep or key not in names:
            raise UsageError(f"{ENV}: {item.strip()!r} is not NAME=VALUE with NAME one of "
                             f"{', '.join(names)}, e.g. wall=30min,pcap=5GB")
        if key in ("wall", "sweep-wall"):
            number: float | int = parse_time(value, where)
        elif key == "pcap":
            number = parse_size(value, where)
        else:
            try:
                number = int(float(value))
            except ValueError:
                number = -1
            if number < 0 or not value:
                raise UsageError(f"{where}: {value!r} is not a count; use a whole number >= 0")
        changes[key.replace("-", "_")] = number
    return Limits(**changes)  # type: ignore[arg-type]


#: Data segments simulated per wall second: measured 4,000-7,000 for the pure-Python build
#: on a busy 2-core machine (``netsim sim --bytes 10MB``); the compiled build is faster, so
#: this errs towards running.
SEGMENTS_PER_WALL_SECOND = 5_000.0
#: Wall seconds a run costs besides its segments (start-up, handshake, summary).
RUN_OVERHEAD_SECONDS = 0.05
#: Trace records per data segment (tx and rx of the segment and its ACK, cwnd, RTT): ~4.0
#: measured for 10 MB at 1% loss.
RECORDS_PER_SEGMENT = 4.0
#: pcap record header (16) + Ethernet (14) + IPv4 and TCP (40) + timestamps option (12).
_PCAP_PER_FRAME = 16 + 14 + HEADERS + TIMESTAMP_OVERHEAD


@dataclass(frozen=True)
class TransferEstimate:
    """What one bulk transfer is expected to cost (see the module docstring)."""

    segments: float  # data segments, retransmissions included
    wall_seconds: float
    pcap_bytes: float
    trace_records: float
    sim_seconds: float  # a lower bound of the simulated time (rate, and loss by Padhye's model)


def _loss_rate(link: LinkConfig) -> float:
    p = link_summary(link)["loss"]
    if p is None:  # a loss model without a known mean rate
        return 0.0
    return min(max(float(p), 0.0), 0.99)


def estimate_transfer(nbytes: int, link: LinkConfig, mss: int | None = None,
                      flows: int = 1, timestamps: bool = True,
                      time_limit: float | None = None) -> TransferEstimate:
    """The estimate for ``flows`` transfers of ``nbytes`` each over ``link`` (stopped after
    ``time_limit`` simulated seconds, if given: then no more than the link carries in that
    time is counted)."""
    payload = mss if mss is not None else link.mtu - HEADERS - (
        TIMESTAMP_OVERHEAD if timestamps else 0)
    payload = max(payload, 1)
    p = _loss_rate(link)
    first = math.ceil(nbytes / payload) * flows
    if time_limit is not None and link.rate_bps:
        first = min(first, math.ceil(time_limit * link.rate_bps / 8 / payload))
    # Each loss costs a retransmission (and a lost retransmission another one).
    segments = first / (1.0 - p)
    wall = RUN_OVERHEAD_SECONDS + segments / SEGMENTS_PER_WALL_SECOND
    acks = segments / 2  # delayed ACKs: one per two segments (RFC 5681 §4.2)
    pcap = 24 + segments * (_PCAP_PER_FRAME + payload) + acks * _PCAP_PER_FRAME
    records = segments * RECORDS_PER_SEGMENT
    return TransferEstimate(segments, wall, pcap, records,
                            _sim_seconds(nbytes * flows, first, link, p))


def _sim_seconds(total_bytes: int, packets: int, link: LinkConfig, p: float) -> float:
    """Simulated time, at least: the bytes at the link rate, or with loss the throughput of
    Padhye et al., "Modeling TCP Throughput" (SIGCOMM 1998), eq. (31), with b = 2 (delayed
    ACKs), T0 = 1 s (RFC 6298's minimum RTO) and the loss of the data or of its ACK."""
    rtt = 2 * (link.delay + link.jitter / 2)
    t_rate = total_bytes * 8 / link.rate_bps if link.rate_bps else 0.0
    if p <= 0 or packets == 0:
        return t_rate
    p2 = 1 - (1 - p) ** 2  # a round trip is lost if the segment or its ACK is
    b, t0 = 2.0, 1.0
    per_packet = (rtt * math.sqrt(2 * b * p2 / 3)
                  + t0 * min(1.0, 3 * math.sqrt(3 * b * p2 / 8)) * p2 * (1 + 32 * p2 * p2))
    return max(t_rate, packets * per_packet)


def add_allow_large(parser: argparse.ArgumentParser, what: str) -> None:
    """``--allow-large``: run even when the estimate is above a limit."""
    parser.add_argument(
        "--allow-large", action="store_true",
        help=f"run even when the estimated {what} is above netsim's limits (which are "
        f"{format_time(MAX_WALL_SECONDS)} of wall time ({format_time(MAX_SWEEP_WALL_SECONDS)} "
        f"for a sweep), a {format_size(MAX_PCAP_BYTES)} pcap, "
        f"{MAX_TRACE_RECORDS:,} trace records, {MAX_FIGURE_PIXELS // 1_000_000} Mpx figures, "
        f"{MAX_SWEEP_RUNS:,} sweep runs; the environment variable {ENV}, e.g. "
        "wall=30min,pcap=5GB, changes them); without it such a run is refused up front, with "
        "the estimate",
    )


def refuse_large(allowed: bool, flag: str, estimate: str, limit: str) -> None:
    """Raise the "too large" `UsageError` unless the user passed --allow-large."""
    if not allowed:
        raise UsageError(f"{flag}: {estimate} (the limit is {limit}); pass --allow-large "
                         "to run it anyway")


def count_text(n: float) -> str:
    """``6.9e8`` -> ``"691 million"``, ``28198`` -> ``"28,198"``."""
    if n >= 1e9:
        return f"{n / 1e9:.3g} billion"
    if n >= 1e6:
        return f"{n / 1e6:.3g} million"
    return f"{round(n):,}"


def check_transfer(est: TransferEstimate, allowed: bool, *, flag: str, size_text: str,
                   pcap: bool = False, trace: bool = False) -> None:
    """Refuse a transfer whose wall time, pcap or trace is above the limits."""
    limits = current_limits()
    if est.wall_seconds > limits.wall:
        refuse_large(allowed, flag,
                     f"{size_text} is about {count_text(est.segments)} segments, roughly "
                     f"{format_time(est.wall_seconds)} of wall time",
                     format_time(limits.wall))
    if pcap and est.pcap_bytes > limits.pcap:
        refuse_large(allowed, flag,
                     f"{size_text} would write a pcap of about {format_size(est.pcap_bytes)}",
                     format_size(limits.pcap))
    if trace and est.trace_records > limits.trace:
        refuse_large(allowed, flag,
                     f"{size_text} would keep about {count_text(est.trace_records)} trace "
                     "records in memory", f"{limits.trace:,}")
