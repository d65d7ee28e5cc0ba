"""`netsim demo`: a guided first look. One TCP transfer over a lossy simulated link, and
everything it left behind in one folder: plots, a ladder diagram, a pcap and the trace.

    netsim demo                          # 2 MB over 10 Mbit/s, 20 ms, 2% loss -> ./netsim-demo
    netsim demo --out /tmp/d --bytes 500kB --loss 0.05 --cc reno

The transfer is the one ``netsim sim`` runs (`netsim.sim.scenario.run_bulk`, same seeds),
here with a trace `Recorder` attached and a progress bar, a SimPy
process that shows how far the transfer is as simulated time advances (on stderr, when stderr
is a terminal and the run takes more than a second).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy
from simpy.events import Event

from netsim.apps.bulk import BulkSendResult, SinkResult
from netsim.cli.limits import (
    add_allow_large,
    check_transfer,
    current_limits,
    estimate_transfer,
    refuse_large,
)
from netsim.cli.linkflags import add_link_arguments, link_config_from_args, transfer_bytes
from netsim.cli.progressbar import Progress, add_progress_argument, progress_process, wanted
from netsim.cli.validate import int_in
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.tcp.congestion import CC_FACTORIES
from netsim.tcpspec import check_tcp_mtu
from netsim.trace.recorder import Recorder
from netsim.units import format_rate, format_size, format_time

__all__ = ["Progress", "progress_process", "register", "run", "run_transfer"]

DEFAULT_OUT = "netsim-demo"
DEFAULT_BYTES = "2MB"
DEFAULT_LADDER = 16
#: The demo's link: slow and lossy enough to show slow start, losses and recovery.
LINK_DEFAULTS = {"delay": "20ms", "rate": "10Mbit", "loss": "0.02", "queue": "100"}

FILES = {
    "combined": "combined.png",
    "ladder": "ladder.png",
    "pcap": "demo.pcap",
    "trace": "trace.jsonl",
}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a guided tour: a simulated TCP transfer over a lossy link, its trace and plots",
        description="Simulate one TCP transfer h1 (10.0.0.1) -> h2 (10.0.0.2) over a lossy "
                    "link and write into one folder: combined.png (time-sequence graph, "
                    "congestion window and RTT on one time axis), ladder.png (the first "
                    "segments, host by host), demo.pcap (open it in Wireshark) and "
                    "trace.jsonl (every trace record; netsim.trace.read_jsonl reads it).",
    )
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for the files, created if needed (default ./{DEFAULT_OUT})")
    parser.add_argument("--bytes", default=DEFAULT_BYTES, metavar="SIZE",
                        help=f"how much to send, e.g. 500kB, 2MB, 1MiB (default {DEFAULT_BYTES})")
    parser.add_argument("--cc", default="newreno", metavar="NAME",
                        help=f"congestion control: {'|'.join(sorted(CC_FACTORIES))} "
                             "(default newreno)")
    parser.add_argument("--rack", action=argparse.BooleanOptionalAction, default=None,
                        help="RACK-TLP loss detection (RFC 8985, with D-SACK), as Linux "
                             "(default: on); --no-rack: duplicate-ACK counting only")
    parser.add_argument("--ladder", default=str(DEFAULT_LADDER), metavar="N",
                        help=f"segments in the ladder diagram, 2 or more (default "
                             f"{DEFAULT_LADDER}; the figure grows by ~80 pixels a segment)")
    add_progress_argument(parser)
    add_allow_large(parser, "pcap size, trace records, wall time or ladder figure")
    add_link_arguments(parser)
    _demo_link_defaults(parser)
    parser.set_defaults(func=run)


def _demo_link_defaults(parser: argparse.ArgumentParser) -> None:
    """The shared link flags with the demo's defaults (and help saying so)."""
    for action in parser._actions:
        new = LINK_DEFAULTS.get(action.dest)
        if new is None:
            continue
        action.default = new
        if action.help:
            action.help = re.sub(r"\(default [^)]*\)", f"(default {new})", action.help)
        parser.set_defaults(**{action.dest: new})
    for action in parser._actions:
        if action.dest == "pcap" and action.help:
            action.help = f"where to write the pcap (default DIR/{FILES['pcap']})"
        if action.dest == "json" and action.help:
            action.help = "print the summary and file names as JSON"


# ---------------------------------------------------------------------- the run
@dataclass
class DemoRun:
    recorder: Recorder
    sender: BulkSendResult
    sink: SinkResult
    error: str | None
    sim_seconds: float
    wall_seconds: float
    link_drops: dict[str, int]
    conn: str | None


def run_transfer(nbytes: int, link: LinkConfig, *, seed: int = 1, cc: str = "newreno",
                 pcap: Path | None = None, progress: Progress | None = None,
                 rack: bool | None = None) -> DemoRun:
    """One bulk transfer h1 -> h2 with every trace record kept: `run_bulk`, the same run as
    `netsim sim` with these settings, plus a progress bar."""
    rec = Recorder()

    def start_progress(env: simpy.Environment, sink: SinkResult, done: Event) -> None:
        if progress is not None:
            env.process(progress_process(env, progress, lambda: sink.bytes_received,
                                         lambda: done.triggered))

    result = run_bulk(BulkScenario(bytes=nbytes, link=link, seed=seed, cc=cc, pcap=pcap,
                                   trace=rec, on_start=start_progress, rack=rack))
    sres, kres = result.sender, result.sink
    assert sres is not None and kres is not None
    if progress is not None:
        progress.finish(kres.bytes_received, result.close_seconds)
    conn = sres.stream.conn.name if sres.stream is not None else None
    return DemoRun(rec, sres, kres, result.error, result.sim_seconds, result.wall_seconds,
                   dict(result.link_drops), conn)


# ---------------------------------------------------------------------- command
#: The ladder figure: 9 x (0.8 + 0.24 per row) inches at 110 dpi, ~3 rows a data segment
#: (its send and arrival, and half an ACK's).
_LADDER_DPI, _LADDER_WIDTH_IN, _LADDER_ROWS_PER_SEGMENT = 110, 9.0, 3


def _ladder_pixels(ladder: int, segments: float) -> float:
    rows = _LADDER_ROWS_PER_SEGMENT * min(ladder, segments)
    height = max(4.0, 0.8 + 0.24 * rows)
    return (_LADDER_WIDTH_IN * _LADDER_DPI) * (height * _LADDER_DPI)


def _describe_link(link: LinkConfig, args: argparse.Namespace) -> str:
    loss = float(args.loss)
    text = f"{format_rate(link.rate_bps)} link, {format_time(link.delay)} one-way delay"
    if loss:
        text += f", {loss * 100:g}% loss"
    return text + f" (seed {args.seed})"


def run(args: argparse.Namespace) -> int:
    link = link_config_from_args(args)
    check_tcp_mtu(link.mtu)
    nbytes = transfer_bytes(args.bytes)
    if args.cc not in CC_FACTORIES:
        raise UsageError(f"--cc: {args.cc!r} is not one of {'|'.join(sorted(CC_FACTORIES))}")
    ladder = int_in(args.ladder, "--ladder", 2, 10**9)
    est = estimate_transfer(nbytes, link)
    check_transfer(est, args.allow_large, flag="--bytes", size_text=format_size(nbytes),
                   pcap=True, trace=True)
    pixels = _ladder_pixels(ladder, est.segments)
    most = current_limits().pixels
    if pixels > most:
        refuse_large(args.allow_large, "--ladder",
                     f"{ladder} segments make a ladder figure of about "
                     f"{pixels / 1e6:.3g} million pixels", f"{most / 1e6:g} million")
    args.ladder = ladder
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {str(out)!r}: {exc.strerror or exc}") from None
    paths = {key: out / name for key, name in FILES.items()}
    if args.pcap is not None:
        paths["pcap"] = Path(args.pcap)
    bar = Progress(nbytes, sys.stderr) if wanted(args) else None
    try:
        result = run_transfer(nbytes, link, seed=args.seed, cc=args.cc, pcap=paths["pcap"],
                              progress=bar, rack=getattr(args, "rack", None))
    except OSError as exc:
        raise UsageError(f"--pcap: cannot write {str(paths['pcap'])!r}: "
                         f"{exc.strerror or exc}") from None
    written = _write_outputs(result, paths, args.ladder)
    summary = _summary(result, nbytes, args)
    if args.json:
        json.dump({**summary, "files": {k: str(v) for k, v in written.items()}}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(_format(summary, written, out, _describe_link(link, args), args.ladder))
    return 0 if summary["intact"] else 1


def _write_outputs(result: DemoRun, paths: dict[str, Path], ladder: int) -> dict[str, Path]:
    from netsim.trace.plots import plot_combined, plot_ladder

    rec = result.recorder
    written: dict[str, Path] = {}
    rec.to_jsonl(paths["trace"])
    written["trace"] = paths["trace"]
    if paths["pcap"].exists():
        written["pcap"] = paths["pcap"]
    if result.conn is not None and rec.segments(result.conn):
        fig = plot_combined(rec, result.conn, title=f"netsim demo: {result.conn}")
        fig.savefig(paths["combined"], dpi=110)
        written["combined"] = paths["combined"]
        fig = plot_ladder(rec, result.conn, first=ladder)
        fig.savefig(paths["ladder"], dpi=110)
        written["ladder"] = paths["ladder"]
    return dict(sorted(written.items(), key=lambda kv: list(FILES).index(kv[0])))


def _summary(result: DemoRun, nbytes: int, args: argparse.Namespace) -> dict[str, Any]:
    rec = result.recorder
    conn = result.conn
    tx = rec.segments(conn, "tx") if conn else []
    data = [s for s in tx if s.length]
    fast = len(rec.events(conn, "fast_retransmit")) if conn else 0
    rtos = len(rec.events(conn, "rto")) if conn else 0
    delivered = result.sink.bytes_received
    intact = (result.error is None and delivered == nbytes
              and result.sink.sha256 == result.sender.sha256 != "")
    return {
        "bytes": nbytes,
        "bytes_delivered": delivered,
        "intact": intact,
        "error": result.error,
        "sim_seconds": result.sim_seconds,
        "wall_seconds": result.wall_seconds,
        "goodput_bps": delivered * 8 / result.sim_seconds if result.sim_seconds > 0 else 0.0,
        "data_segments": len(data),
        "retransmissions": sum(1 for s in data if s.retransmit),
        "fast_retransmits": fast,
        "timeouts": rtos,
        "frames_lost": sum(result.link_drops.values()),
        "trace_records": len(rec),
        "cc": args.cc,
        "seed": args.seed,
    }


def _format(s: dict[str, Any], written: dict[str, Path], out: Path, link: str,
            ladder: int) -> str:
    what = {
        "combined": "time-sequence graph, congestion window and RTT on one time axis",
        "ladder": f"ladder diagram of the first {ladder} segments",
        "pcap": "every frame h1 sent or received: wireshark or tcpdump -r",
        "trace": f"{s['trace_records']:,} trace records, one JSON object per line",
    }
    ok = "verified by SHA-256" if s["intact"] else "NOT intact"
    lines = [
        f"netsim demo: {format_size(s['bytes'])} from h1 (10.0.0.1) to h2 (10.0.0.2) over a "
        f"{link}",
        f"  delivered   {s['bytes_delivered']:,} bytes in {format_time(s['sim_seconds'])} "
        f"simulated ({format_rate(s['goodput_bps'])} goodput), {ok}",
        f"  segments    {s['data_segments']:,} data segments sent, {s['retransmissions']} "
        f"retransmitted ({s['fast_retransmits']} fast retransmits, {s['timeouts']} timeouts), "
        f"cc {s['cc']}",
        f"  link        {s['frames_lost']} frames lost on the wire (both directions)",
        f"  wall time   {format_time(s['wall_seconds'])}",
    ]
    if s["error"]:
        lines.append(f"  error       {s['error']}")
    lines.append(f"files in {out}/:" if all(p.parent == out for p in written.values())
                 else "files:")
    width = max(len(p.name) for p in written.values())
    for key, path in written.items():
        shown = path.name if path.parent == out else str(path)
        lines.append(f"  {shown:<{width}}  {what[key]}")
    if "combined" not in written:
        lines.append("no plots: the connection never got to exchange data")
    if "combined" in written:
        lines.append(f"next: open {written['combined']}; in Python, "
                     f"netsim.trace.read_jsonl({str(written['trace'])!r}) gives the trace back")
    return "\n".join(lines)
