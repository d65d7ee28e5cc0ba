"""`netsim sim`: one bulk TCP transfer h1 -> h2 in simulation, summarised.

    netsim sim --bytes 10MB --delay 20ms --rate 50Mbit --loss 0.01 --cc reno
    netsim sim --json --cc my_cc.py:MyReno --pcap run.pcap

``--mss N`` is the payload of a full segment (1448 is what Linux uses at MTU 1500 with
timestamps); the MSS option announced is N + 12 while timestamps are on. The exit status is 0 when
the data arrived intact, 1 when the transfer failed, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from netsim.cli.limits import add_allow_large, check_transfer, estimate_transfer
from netsim.cli.linkflags import add_link_arguments, link_config_from_args, transfer_bytes
from netsim.cli.progressbar import Progress, add_progress_argument, progress_process, wanted
from netsim.cli.validate import count, positive_time
from netsim.errors import NetsimError, UsageError
from netsim.seamspec import SEAMS, apply_seams, student_frame
from netsim.sim.loss import NoLoss
from netsim.sim.scenario import (
    BulkResult,
    BulkScenario,
    check_flow_delays,
    run_bulk,
    tcp_config_for,
)
from netsim.sim.topology6 import check_ipv6_mtu
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.congestion import CC_FACTORIES
from netsim.units import format_rate, format_size, format_time, parse_size, parse_time

#: Above this estimated simulated time, say so before running (it is not refused: the wall
#: time is what the limits are about).
LONG_SIM_SECONDS = 3600.0

DEFAULT_BYTES = "10MB"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="simulate one bulk TCP transfer between two hosts and summarise it",
        description="Send BYTES of pseudo-random data from h1 (10.0.0.1) to h2 (10.0.0.2) over "
                    "one simulated link, check them with SHA-256 and print time, goodput, "
                    "segments and retransmissions. Exit status 1 if the data did not arrive "
                    "intact.",
    )
    parser.add_argument(
        "--bytes", default=DEFAULT_BYTES, metavar="SIZE",
        help=f"how much to send: bytes, or kB/MB/GB, KiB/MiB/GiB (default {DEFAULT_BYTES})",
    )
    parser.add_argument(
        "--cc", default="newreno", metavar="NAME|FILE.py:CLASS",
        help=f"congestion control: {'|'.join(sorted(CC_FACTORIES))}, or a class loaded from a "
        "Python file (default newreno)",
    )
    parser.add_argument(
        "--mss", default=None, metavar="BYTES",
        help="payload bytes per full segment (default: MTU - 40, minus 12 for timestamps, "
        "i.e. 1448 at MTU 1500)",
    )
    parser.add_argument(
        "--flows", default="1", metavar="N",
        help="parallel connections h1 -> h2 sharing the link, SIZE each; the summary adds "
        "Jain's fairness index of their goodputs (default 1)",
    )
    parser.add_argument(
        "--flow-delays", default=None, metavar="TIME,TIME,...",
        help="one extra one-way delay per flow (as many as --flows), e.g. 10ms,50ms: each "
        "flow then starts at a sender of its own (s1, s2, ...) behind an access link of that "
        "delay, and the link options describe the bottleneck they share, from a router r1 "
        "to h2 (default: every flow from h1, over the one link)",
    )
    parser.add_argument(
        "--rack", action=argparse.BooleanOptionalAction, default=None,
        help="RACK-TLP loss detection (RFC 8985): time-based, finds lost retransmissions, "
        "probes a lost tail, with D-SACK (RFC 2883) to adapt to reordering, as Linux "
        "(default: on); --no-rack: duplicate-ACK counting only, no D-SACK",
    )
    parser.add_argument(
        "--ecn", action=argparse.BooleanOptionalAction, default=None,
        help="ECN (RFC 3168): both hosts ask for it, data leaves ECT(0), a marking queue "
        "(--qdisc '... ecn') sets CE instead of dropping, the receiver echoes ECE and the "
        "sender reduces cwnd as after a loss (CUBIC: to 70%%); --no-ecn: never (default: "
        "agree only when asked, as Linux)",
    )
    parser.add_argument(
        "--pacing", action=argparse.BooleanOptionalAction, default=None,
        help="pace data segments (as Linux's fq): no faster than 2 x cwnd/SRTT in slow start, "
        "1.2 x after (default: off; --cc bbr paces at its own rate)",
    )
    parser.add_argument(
        "--time-limit", default=None, metavar="TIME",
        help="give up after this much simulated time (default: wait until TCP succeeds or "
        "gives up)",
    )
    parser.add_argument(
        "--trace", default=None, metavar="FILE",
        help="write every trace record to FILE, one JSON object per line "
        "(netsim.trace.read_jsonl reads it back)",
    )
    parser.add_argument(
        "--plot", default=None, metavar="FILE.png",
        help="write the time-sequence graph, cwnd and RTT of the transfer on one time axis",
    )
    for kind, what in (("rto", "an RTO estimator (assignment 02)"),
                       ("reassembler", "a reassembler (03), on both hosts"),
                       ("receiver", "a TCP receiver (06), on both hosts"),
                       ("sender", "a TCP send buffer (07), on both hosts")):
        parser.add_argument(
            f"--{kind}", default=None, metavar="FILE.py:CLASS",
            help=f"{what} loaded from a Python file in place of netsim's "
            f"(the interface: {SEAMS[kind].interface})")
    parser.add_argument("-6", dest="ipv6", action="store_true",
                        help="over IPv6: h1 2001:db8::1 to h2 2001:db8::2 (MSS = MTU - 60)")
    add_progress_argument(parser)
    add_allow_large(parser, "wall time, pcap size or trace records")
    add_link_arguments(parser)
    parser.set_defaults(func=run)


def scenario_from_args(args: argparse.Namespace) -> BulkScenario:
    """The `BulkScenario` the flags describe (a bad value raises `UsageError`)."""
    link = link_config_from_args(args)
    nbytes = transfer_bytes(args.bytes)
    mss = None if args.mss is None else parse_size(args.mss, "--mss")
    limit = None
    if args.time_limit is not None:
        limit = positive_time(args.time_limit, "--time-limit", "30s")
    flows = count(getattr(args, "flows", 1), "--flows", "connections", 1000)
    flow_delays = parse_flow_delays(getattr(args, "flow_delays", None), flows)
    ipv6 = bool(getattr(args, "ipv6", False))
    if ipv6:
        check_ipv6_mtu(link.mtu)
    seams = {kind: getattr(args, kind, None) for kind in SEAMS}
    tcp = apply_seams(TcpConfig(), seams) if any(seams.values()) else None
    return BulkScenario(bytes=nbytes, link=link, seed=args.seed, mss=mss, cc=args.cc,
                        tcp=tcp, pcap=args.pcap, time_limit=limit, flows=flows,
                        rack=getattr(args, "rack", None), ecn=getattr(args, "ecn", None),
                        pacing=getattr(args, "pacing", None),
                        ipv6=ipv6, flow_delays=flow_delays)


def parse_flow_delays(text: str | None, flows: int) -> list[float] | None:
    """``--flow-delays 10ms,50ms``: one time from 0 to 10 s per flow, as many as --flows
    (`check_flow_delays` checks them, quoting the command's words)."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    delays = [parse_time(part, "--flow-delays") for part in parts]
    return check_flow_delays(delays, flows, texts=parts)


def format_summary(result: BulkResult, link_text: str) -> str:
    """The readable summary: one aligned "name  value" line per measure."""
    ok = result.intact
    rows = [
        ("link", link_text),
        ("transferred", f"{format_size(result.bytes_delivered)} "
                        f"({result.bytes_delivered} of {result.bytes_requested} bytes "
                        "delivered " + ("h1 -> h2)" if result.flow_delays is None
                                        else "to h2)")),
        ("intact", f"{'yes' if ok else 'NO'} (sha256 {result.sha256_received[:16] or '-'}"
                   + ("" if ok else f", sent {result.sha256_sent[:16] or '-'}") + ")"),
        ("time", f"{format_time(result.sim_seconds)} simulated, "
                 f"{format_time(result.wall_seconds)} wall"),
        ("goodput", format_rate(result.goodput_bps)),
        ("segments", f"{result.data_segments} data segments, mss {result.mss}, "
                     f"cc {result.cc}, seed {result.seed}"),
        ("retransmissions", f"{result.retransmissions} ({result.fast_retransmits} fast "
                            f"retransmits, {result.sack_recoveries} SACK recoveries)"),
        ("timeouts", str(result.timeouts)),
        *([("ecn", f"{'agreed' if result.ecn['negotiated'] else 'NOT agreed'}, "
                   f"{result.ecn['ce_marks']} CE marks, {result.ecn['ece_reductions']} window "
                   f"reductions for ECE, {result.ecn['cwr_sent']} CWR sent")]
          if result.ecn is not None else []),
        *([("flows", f"{result.flows}, Jain's fairness index {result.jain_fairness:.3f} ("
                     + ", ".join(format_rate(g) for g in result.flow_goodputs_bps) + ")")]
          if result.flows > 1 else []),
        *([("flow delays", ", ".join(
            f"s{i} +{d * 1000:g} ms (handshake RTT {format_time(rtt)})" for i, (d, rtt)
            in enumerate(zip(result.flow_delays, result.handshake_rtts, strict=True), 1)))]
          if result.flow_delays is not None and result.handshake_rtts is not None else []),
    ]
    if result.error is not None:
        rows.append(("error", result.error))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def check_size(scenario: BulkScenario, args: argparse.Namespace) -> None:
    """Refuse (unless --allow-large) a run estimated above the limits, and say beforehand
    when it will take hours of simulated time."""
    cfg = tcp_config_for(scenario)  # also refuses an MTU / MSS / cc that cannot work
    mss = None if cfg.mss is None else cfg.mss - (12 if cfg.timestamps else 0)
    est = estimate_transfer(scenario.bytes, scenario.link, mss, scenario.flows, cfg.timestamps,
                            scenario.time_limit)
    check_transfer(est, args.allow_large, flag="--bytes",
                   size_text=format_size(scenario.bytes * scenario.flows),
                   pcap=scenario.pcap is not None,
                   trace=args.trace is not None or args.plot is not None)
    if est.sim_seconds > LONG_SIM_SECONDS and scenario.time_limit is None:
        why = ("retransmission timeouts at this loss rate" if scenario.link.loss is not None
               and not isinstance(scenario.link.loss, NoLoss) else "the link rate")
        print(f"netsim: note: expect at least {format_time(est.sim_seconds)} of simulated "
              f"time ({why}); --time-limit caps it", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    scenario = scenario_from_args(args)
    rec = None
    if args.trace is not None or args.plot is not None:
        from netsim.trace.output import check_trace_outputs
        check_trace_outputs(args.trace, args.plot)
    check_size(scenario, args)
    if args.trace is not None or args.plot is not None:
        from netsim.trace.recorder import Recorder
        rec = scenario.trace = Recorder()
    bar: Progress | None = None
    if wanted(args):
        bar = Progress(scenario.bytes, sys.stderr)
        scenario.on_start = lambda env, sink, done: env.process(progress_process(
            env, bar, lambda: sink.bytes_received, lambda: done.triggered))
    try:
        result = run_bulk(scenario)
    except OSError as exc:  # only the pcap file is written
        raise UsageError(f"--pcap: cannot write {args.pcap!r}: "
                         f"{exc.strerror or exc}") from None
    except NetsimError:
        raise
    except Exception as exc:
        # a student's class (path.py:Class) raised: name its flag
        given = {f"--{kind}": str(getattr(args, kind)).rpartition(":")[0]
                 for kind in ("cc", *SEAMS) if ":" in str(getattr(args, kind, None) or "")}
        flag = student_frame(exc, given)
        if flag is not None:
            spec = getattr(args, flag[2:])
            raise NetsimError(f"{flag} {spec}: the class raised "
                              f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
        raise
    if bar is not None:
        bar.finish(result.sink.bytes_received if result.sink else 0, result.close_seconds)
    if rec is not None:
        from netsim.trace.output import write_trace_outputs
        write_trace_outputs(rec, args.trace, args.plot)
    if args.json:
        json.dump(result.to_dict(), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_summary(result, scenario.link.describe()))
    return 0 if result.intact else 1
