"""Benchmark of a whole TCP transfer: 100 MB over 100 Mbit/s, 10 ms, 1% loss, in netsim (and ns-3).

Run: ``.venv/bin/python benchmarks/bench_bulk.py [--bytes 100MB] [--variants lossy,clean,chain3]
[--cc newreno,bbr] [--ns3] [--repeat R] [--profile]``.

The scenario is ``netsim sim --bytes 100MB --rate 100Mbit --delay 10ms --loss 0.01 --mss 1448
--cc newreno`` with one difference: ``netsim sim --loss`` applies to *both* directions of the link
(its one ``LinkConfig`` is used for h1 -> h2 and h2 -> h1), whereas here, as in the ns-3 run, only
the data direction loses packets (a Bernoulli 1% on h1 -> h2, including the SYN and FIN) and the
ACK direction is clean (``BulkScenario.reverse``). Variants:

- ``lossy``: that scenario (`netsim.sim.scenario.run_bulk`);
- ``clean``: the same link without loss;
- ``chain3``: h1 - r1 - r2 - r3 - h2 (`netsim.sim.topology.chain` with 3 routers), four clean
  100 Mbit/s links of 2.5 ms each, so the same 10 ms one-way delay; every data segment and ACK
  is forwarded three times.

Each variant runs in its own Python process, so its peak RSS (``ru_maxrss``) is its own; "base
RSS" is that process's RSS after importing netsim, before building the world. Wall time is
``time.perf_counter`` and CPU time ``time.process_time`` around the run (world construction,
transfer and closes; the sender generates pseudo-random bytes and the sink, told the seed, makes
the same stream and compares each read with it, which ns-3's BulkSend/PacketSink do not; the
SHA-256 of the data, ``sha256_sent``/``sha256_received``, is worked out only when read, which
the benchmark does not). "data segs" counts the sender's data segments including
retransmissions.

``--ns3`` also runs each variant in ns-3 (benchmarks/ns3_bulk.py, ``--routers 3`` for chain3; in
a subprocess; only ``Simulator::Run()`` is timed, not the ~15 s import) when the ``ns3`` package
is installed, and prints the ratio netsim/ns-3 of wall and CPU time. With ``--repeat R`` each
row is the fastest of R runs (on a shared machine wall time is noisy; CPU time less so), and
the netsim and ns-3 runs of a variant alternate, so that a burst of load elsewhere on the
machine hits both.
``--cc`` runs each variant with each congestion controller named (default newreno); ``bbr``
is BBRv1 with pacing (netsim.stack.tcp.congestion.bbr; in ns-3 ``TcpBbr`` with
``EnablePacing``), and the table then ends with each controller's goodput, netsim against ns-3.
``--no-rack`` turns RACK-TLP off in netsim (duplicate-ACK counting, as ns-3, which has no RACK:
a lost retransmission then waits for the RTO in both).
``--profile`` runs the lossy variant under cProfile in this process and prints the top functions.

``--payload zeros`` measures what ns-3 does: the sender sends zero bytes from one buffer and
the sink only counts (ns-3's BulkSend/PacketSink do no more), so the row is the simulator's own
work. The segments, timings and drops are the same as with the default ``random`` (TCP never
looks at the bytes), which is what ``netsim sim`` and `run_bulk` run; "ok" then only checks
the byte count. The row's simulator name ends in "zeros".
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netsim.apps.bulk import BLOCK, BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk, tcp_config_for
from netsim.sim.topology import chain, two_hosts
from netsim.sim.world import World
from netsim.units import format_rate, format_size, parse_size

if TYPE_CHECKING:
    from collections.abc import Generator

    from simpy.events import Event

    from netsim.node import Node

HERE = Path(__file__).resolve().parent
RATE = 100e6
DELAY = 0.010
LOSS = 0.01
MSS = 1448
SEED = 1
VARIANTS = ("lossy", "clean", "chain3")
CCS = ("newreno", "bbr")  # controllers both simulators have (ns-3: TcpNewReno, TcpBbr)
PAYLOADS = ("random", "zeros")
# variant -> (loss on the data direction, routers) of the same scenario in ns3_bulk.py
NS3_VARIANTS = {"lossy": (LOSS, 0), "clean": (0.0, 0), "chain3": (0.0, 3)}


def rss_kib() -> int:
    """Current resident set size of this process in KiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _scenario(variant: str, nbytes: int, seed: int, cc: str = "newreno",
              rack: bool | None = None) -> BulkScenario:
    clean = LinkConfig(delay=DELAY, rate_bps=RATE)
    if variant == "lossy":
        lossy = LinkConfig(delay=DELAY, rate_bps=RATE, loss=Bernoulli(LOSS))
        return BulkScenario(bytes=nbytes, link=lossy, reverse=clean, seed=seed, mss=MSS, cc=cc,
                            rack=rack)
    return BulkScenario(bytes=nbytes, link=clean, seed=seed, mss=MSS, cc=cc, rack=rack)


def _zeros_sender(node: Node, ip: Any, port: int, nbytes: int,
                  into: BulkSendResult) -> Generator[Event, Any, BulkSendResult]:
    """`bulk_sender` as ns-3's BulkSend: zeros from one buffer, no hashing."""
    env = node.env
    into.connect_started = float(env.now)
    stream = yield node.connect(ip, port)
    into.stream = stream
    block = bytes(BLOCK)
    while into.bytes_sent < nbytes:
        n = min(BLOCK, nbytes - into.bytes_sent)
        yield stream.sendall(block if n == BLOCK else block[:n])
        into.bytes_sent += n
    yield stream.close()
    into.closed_at = float(env.now)
    return into


def _count_sink(node: Node, port: int, min_read: int,
                into: SinkResult) -> Generator[Event, Any, SinkResult]:
    """`bulk_sink` as ns-3's PacketSink: counts the bytes, does not look at them."""
    env = node.env
    lst = node.listen(port)
    stream = yield lst.accept()
    lst.close()
    into.stream = stream
    while True:
        data: bytes = yield stream.recv(1 << 16, min_bytes=min_read)
        if not data:
            break
        into.last_byte_at = float(env.now)
        into.bytes_received += len(data)
    yield stream.close()
    return into


def _run_world(variant: str, nbytes: int, seed: int, payload: str,
               routers: int = 3, cc: str = "newreno", rack: bool | None = None) -> dict[str, Any]:
    """The bulk transfer with the same TCP settings as `run_bulk`: over `chain` for chain3
    (bulk_sink's default read size, as before), over `two_hosts` with ``--payload zeros``."""
    scenario = _scenario("clean" if variant == "chain3" else variant, nbytes, seed, cc, rack)
    cfg = tcp_config_for(scenario)
    world = World(seed)
    if variant == "chain3":
        hop = LinkConfig(delay=DELAY / (routers + 1), rate_bps=RATE)
        net = chain(world, routers, hop, tcp=cfg)
        min_read = 1
    else:
        net = two_hosts(world, scenario.link, scenario.reverse, tcp=cfg)
        min_read = 16384  # as run_bulk
    h1, h2 = net.hosts
    env = world.env
    sres, kres = BulkSendResult(), SinkResult()
    if payload == "zeros":
        procs = [env.process(_count_sink(h2, 5001, min_read, kres)),
                 env.process(_zeros_sender(h1, h2.ip, 5001, nbytes, sres))]
    else:
        procs = [env.process(bulk_sink(h2, 5001, min_read=min_read, seed=seed, into=kres)),
                 env.process(bulk_sender(h1, h2.ip, 5001, nbytes, seed=seed, into=sres))]
    env.run(until=env.all_of(procs))
    conn = sres.stream.conn if sres.stream is not None else None
    start = sres.connect_started or 0.0
    end = kres.last_byte_at if kres.last_byte_at is not None else float(env.now)
    sim = end - start
    return {
        "bytes_delivered": kres.bytes_received,
        # every byte delivered, each the sender's (zeros: not looked at, so the count alone)
        "intact": kres.bytes_received == nbytes and kres.first_difference is None,
        "sim_seconds": sim,
        "goodput_bps": kres.bytes_received * 8 / sim if sim > 0 else 0.0,
        "data_segments": conn.data_segs_out if conn is not None else 0,
        "retransmissions": conn.retransmissions if conn is not None else 0,
        "timeouts": conn.timeouts if conn is not None else 0,
        "recoveries": conn.fast_retransmits if conn is not None else 0,
        "link_drops": sum(sum(e.stats.dropped.values())
                          for link in net.links for e in (link.a, link.b)),
    }


def _run_single(variant: str, nbytes: int, seed: int, cc: str = "newreno",
                rack: bool | None = None) -> dict[str, Any]:
    result = run_bulk(_scenario(variant, nbytes, seed, cc, rack))
    return {
        "bytes_delivered": result.bytes_delivered,
        "intact": result.intact,
        "sim_seconds": result.sim_seconds,
        "goodput_bps": result.goodput_bps,
        "data_segments": result.data_segments,
        "retransmissions": result.retransmissions,
        "timeouts": result.timeouts,
        "recoveries": result.fast_retransmits,
        "link_drops": sum(result.link_drops.values()),
    }


def run_variant(variant: str, nbytes: int, seed: int = SEED,
                payload: str = "random", cc: str = "newreno",
                rack: bool | None = None) -> dict[str, Any]:
    """Run one variant in this process and measure it."""
    if variant not in VARIANTS:
        raise SystemExit(f"bench_bulk: unknown variant {variant!r}; use {', '.join(VARIANTS)}")
    if payload not in PAYLOADS:
        raise SystemExit(f"bench_bulk: unknown payload {payload!r}; use {', '.join(PAYLOADS)}")
    base = rss_kib()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    if variant == "chain3" or payload != "random":
        out = _run_world(variant, nbytes, seed, payload, cc=cc, rack=rack)
    else:
        out = _run_single(variant, nbytes, seed, cc, rack)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    from netsim._build import describe, loaded_compiled
    name = "netsim+mypyc" if loaded_compiled() else "netsim"
    out.update(
        simulator=name if payload == "random" else f"{name} zeros", payload=payload,
        build=describe(),
        variant=variant, cc=cc if rack is not False else f"{cc}/no-rack", bytes=nbytes,
        wall_seconds=wall, cpu_seconds=cpu,
        segments_per_wall_second=out["data_segments"] / wall if wall > 0 else 0.0,
        base_rss_kib=base, max_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    return out


def _subprocess_json(cmd: list[str]) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"bench_bulk: {' '.join(cmd)} failed (exit {proc.returncode}):\n"
                         + proc.stderr[-2000:])
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run_isolated(variant: str, nbytes: int, seed: int,
                 payload: str = "random", cc: str = "newreno",
                 rack: bool | None = None) -> dict[str, Any]:
    """`run_variant` in a fresh interpreter (so peak RSS is this variant's alone)."""
    return _subprocess_json([sys.executable, __file__, "--one", variant, "--bytes", str(nbytes),
                             "--seed", str(seed), "--payload", payload, "--cc", cc]
                            + (["--no-rack"] if rack is False else []))


def run_ns3(variant: str, nbytes: int, seed: int, cc: str = "newreno") -> dict[str, Any]:
    loss, routers = NS3_VARIANTS[variant]
    cmd = [sys.executable, str(HERE / "ns3_bulk.py"), "--json", "--bytes", str(nbytes),
           "--rate", str(RATE), "--delay", str(DELAY), "--loss", str(loss),
           "--mss", str(MSS), "--seed", str(seed), "--routers", str(routers), "--cc", cc]
    result = _subprocess_json(cmd)
    result["variant"] = variant
    return result


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("simulator", "variant", "cc", "wall s", "cpu s", "data segs", "segs/wall-s",
              "retx", "timeouts", "sim s", "goodput", "peak RSS", "ok")
    body = []
    for r in rows:
        body.append((
            r["simulator"], r["variant"], r.get("cc", "newreno"), f"{r['wall_seconds']:.2f}",
            f"{r['cpu_seconds']:.2f}",
            str(r["data_segments"]), f"{r['segments_per_wall_second']:,.0f}",
            str(r["retransmissions"]), str(r["timeouts"]), f"{r['sim_seconds']:.1f}",
            format_rate(r["goodput_bps"]), format_size(r["max_rss_kib"] * 1024),
            "yes" if r.get("intact", r.get("completed")) else "NO",
        ))
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def profile(nbytes: int, seed: int, top: int, sort: str, cc: str = "newreno") -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    run_bulk(_scenario("lossy", nbytes, seed, cc))
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.strip_dirs().sort_stats(sort).print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", default="100MB", help="bytes per transfer (default 100MB)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, from {', '.join(VARIANTS)} (default all)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-rack", dest="rack", action="store_false", default=None,
                        help="netsim without RACK-TLP (duplicate-ACK counting, as ns-3)")
    parser.add_argument("--cc", default="newreno",
                        help=f"comma-separated, from {', '.join(CCS)} (default newreno)")
    parser.add_argument("--ns3", action="store_true",
                        help="also run the single-link variants in ns-3 (needs the ns3 package)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the lossy variant in-process and print the top functions")
    parser.add_argument("--top", type=int, default=30, help="rows of the profile (default 30)")
    parser.add_argument("--sort", default="tottime", help="profile sort key (default tottime)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each row R times and keep the fastest (default 1)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    parser.add_argument("--record", metavar="FILE",
                        help="also write the rows, machine, date and command to FILE (JSON)")
    parser.add_argument("--payload", choices=PAYLOADS, default="random",
                        help="random: the bulk apps (pseudo-random bytes, compared with "
                        "the seed's at the sink; default); zeros: zeros, only counted, as "
                        "ns-3's apps")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    nbytes = parse_size(args.bytes, "--bytes")

    if args.one is not None:
        print(json.dumps(run_variant(args.one, nbytes, args.seed, args.payload, args.cc,
                                     args.rack)))
        return 0
    if args.profile:
        profile(nbytes, args.seed, args.top, args.sort, args.cc.split(",")[0])
        return 0

    import _record
    started = _record.machine()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"--variants: unknown {v!r}; use {', '.join(VARIANTS)}")
    ccs = [c.strip() for c in args.cc.split(",") if c.strip()]
    for c in ccs:
        if c not in CCS:
            parser.error(f"--cc: unknown {c!r}; use {', '.join(CCS)}")
    print(f"bulk transfer of {format_size(nbytes)}, {format_rate(RATE)}, "
          f"{DELAY * 1e3:g} ms one way, mss {MSS}, {', '.join(ccs)}, seed {args.seed}; "
          f"lossy = {LOSS:.0%} loss on the data direction only", flush=True)
    from netsim._build import describe
    print(f"netsim build: {describe()} (scripts/compile.py builds or removes the compiled one)",
          flush=True)
    with_ns3 = args.ns3 and importlib.util.find_spec("ns") is not None
    if args.ns3 and not with_ns3:
        print("ns-3: the ns3 package is not installed (pip install -e '.[ns3]'); skipped")
    rows: list[dict[str, Any]] = []
    ns3_rows: list[dict[str, Any]] = []
    for v, cc in [(v, cc) for v in variants for cc in ccs]:
        ours, theirs = [], []
        for _ in range(args.repeat):  # alternate, so that load elsewhere hits both alike
            ours.append(run_isolated(v, nbytes, args.seed, args.payload, cc, args.rack))
            if with_ns3:
                theirs.append(run_ns3(v, nbytes, args.seed, cc))
        for runs, into in ((ours, rows), (theirs, ns3_rows)):
            if runs:
                into.append(min(runs, key=lambda r: r["wall_seconds"]))
                if args.json:
                    print(json.dumps(into[-1]), flush=True)
    print(format_table(rows + ns3_rows))
    if args.record:
        _record.write(args.record, {"bytes": nbytes, "repeat": args.repeat,
                                    "rows": rows + ns3_rows}, started)
    for n3 in ns3_rows:
        ours = next(r for r in rows if r["variant"] == n3["variant"] and
                    r["cc"].split("/")[0] == n3["cc"])
        unusable = [k for k in ("goodput_bps", "wall_seconds", "cpu_seconds")
                    if not isinstance(n3.get(k), int | float) or n3[k] <= 0]
        if unusable:  # e.g. an ns-3 run that delivered nothing: no ratio to show
            print(f"{n3['variant']} {n3['cc']}: no comparison with ns-3, whose run gave no "
                  f"positive value for {({k: n3.get(k) for k in unusable})}")
            continue
        print(f"{n3['variant']} {n3['cc']}: goodput netsim {format_rate(ours['goodput_bps'])}, "
              f"ns-3 {format_rate(n3['goodput_bps'])} "
              f"({ours['goodput_bps'] / n3['goodput_bps'] - 1:+.0%})")
        print(f"{n3['variant']}: netsim/ns-3 wall {ours['wall_seconds'] / n3['wall_seconds']:.1f}x"
              f", cpu {ours['cpu_seconds'] / n3['cpu_seconds']:.1f}x, "
              f"segs/wall-s {ours['segments_per_wall_second']:,.0f} vs "
              f"{n3['segments_per_wall_second']:,.0f} "
              f"(ns-3 import {n3['import_seconds']:.1f} s not timed)")
    return 0 if all(r.get("intact", r.get("completed")) for r in rows + ns3_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
