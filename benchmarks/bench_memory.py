"""Benchmark of memory: a long transfer runs in flat memory; an idle connection is cheap.

Run: ``.venv/bin/python benchmarks/bench_memory.py [--bytes 1GB] [--every 100MB]
[--connections 10000] [--part flat|idle|both] [--tracemalloc]``.

(a) ``flat``: one bulk transfer h1 -> h2 of ``--bytes`` (default 1 GB) over a clean 1 Gbit/s,
1 ms link (fast, so it takes a minute or two of wall time, not simulated hours). A monitor process
wakes every 5 simulated ms and, each time the sink has received another ``--every`` bytes, records
the process RSS (``/proc/self/statm``) and the number of live Python objects the garbage collector
tracks. Memory is flat if RSS stops growing after the first sample (the send/receive buffers,
1 MiB each, fill in the first few milliseconds).

(b) ``idle``: ``--connections`` (default 10,000) TCP connections from h1 to one listening port on
h2 (backlog and half-open limit raised to fit them all; the link is clean and infinitely fast so
no SYN is lost), opened in batches of 500 and all accepted; then the world runs 2 more simulated
seconds so delayed ACKs and other timers settle. Memory is measured after ``gc.collect()`` right
before the first connect and after the settling: RSS in one fresh process and, with
``--tracemalloc``, Python's own count of allocated bytes in another (tracemalloc is exact but
slows the run and its bookkeeping inflates RSS, so the two are kept apart). One connection here
is both of its ends (the client's and the server's TCP control block, socket object and
demultiplexing entries); the per-end cost is half of it. The target is under 10 KB per
connection.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Generator
from pathlib import Path
from typing import Any

from simpy.events import Event

from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import BulkScenario, tcp_config_for
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.units import format_size, parse_size

PORT = 5001
BATCH = 500


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------------------ (a) flat memory
def flat_memory(nbytes: int, every: int, seed: int = 1) -> dict[str, Any]:
    """Transfer ``nbytes`` and sample RSS every ``every`` bytes of progress."""
    scenario = BulkScenario(bytes=nbytes, link=LinkConfig(delay=0.001, rate_bps=1e9), seed=seed,
                            mss=1448)
    cfg = tcp_config_for(scenario)
    world = World(seed)
    net = two_hosts(world, scenario.link, tcp=cfg)
    h1, h2 = net.hosts
    env = world.env
    sres, kres = BulkSendResult(), SinkResult()
    procs = [env.process(bulk_sink(h2, PORT, into=kres)),
             env.process(bulk_sender(h1, h2.ip, PORT, nbytes, seed=seed, into=sres))]
    done = env.all_of(procs)
    gc.collect()
    start_wall = time.perf_counter()
    samples: list[dict[str, Any]] = [{"bytes": 0, "rss": rss_bytes(), "objects":
                                      len(gc.get_objects()), "wall": 0.0, "sim": 0.0}]

    def monitor() -> Generator[Event, Any, None]:
        mark = every
        while not done.triggered:
            yield env.timeout(0.005)
            if kres.bytes_received >= mark or done.triggered:
                samples.append({"bytes": kres.bytes_received, "rss": rss_bytes(),
                                "objects": len(gc.get_objects()),
                                "wall": time.perf_counter() - start_wall, "sim": env.now})
                while mark <= kres.bytes_received:
                    mark += every

    env.process(monitor())
    env.run(until=done)
    wall = time.perf_counter() - start_wall
    if samples[-1]["bytes"] < kres.bytes_received:
        samples.append({"bytes": kres.bytes_received, "rss": rss_bytes(),
                        "objects": len(gc.get_objects()), "wall": wall, "sim": env.now})
    conn = sres.stream.conn if sres.stream is not None else None
    return {
        "bytes": nbytes,
        "intact": kres.bytes_received == nbytes and kres.sha256 == sres.sha256,
        "wall_seconds": wall,
        "sim_seconds": float(env.now),
        "data_segments": conn.data_segs_out if conn is not None else 0,
        "samples": samples,
    }


def format_flat(result: dict[str, Any]) -> str:
    samples = result["samples"]
    first = samples[1]["rss"] if len(samples) > 1 else samples[0]["rss"]
    lines = [f"(a) {format_size(result['bytes'])} over a clean 1 Gbit/s, 1 ms link: "
             f"{result['wall_seconds']:.1f} s wall, {result['data_segments']} data segments, "
             f"intact {'yes' if result['intact'] else 'NO'}",
             f"{'received':>10}  {'wall s':>7}  {'RSS':>9}  {'vs 1st sample':>13}  "
             f"{'gc objects':>10}"]
    for s in samples:
        lines.append(f"{format_size(s['bytes']):>10}  {s['wall']:7.1f}  "
                     f"{s['rss'] / 2**20:7.1f}Mi  {(s['rss'] - first) / 2**20:+11.1f}Mi  "
                     f"{s['objects']:10d}")
    growth = samples[-1]["rss"] - first
    since = format_size(samples[1]["bytes"] if len(samples) > 1 else 0)
    lines.append(f"RSS growth from the first {since} to the end: {growth / 2**20:+.1f} MiB")
    return "\n".join(lines)


# ------------------------------------------------------------------------ (b) idle connections
def idle_connections(n: int, use_tracemalloc: bool, seed: int = 1) -> dict[str, Any]:
    """Open ``n`` connections h1 -> h2:PORT, accept them all, let them idle; measure."""
    if use_tracemalloc:
        tracemalloc.start()
    world = World(seed)
    net = two_hosts(world, LinkConfig(delay=0.001))
    h1, h2 = net.hosts
    env = world.env
    big = TcpConfig(backlog=n, max_half_open=n)
    listener = h2.listen(PORT, backlog=n, cfg=big)
    clients: list[Any] = []
    servers: list[Any] = []

    def acceptor() -> Generator[Event, Any, None]:
        while len(servers) < n:
            stream = yield listener.accept()
            servers.append(stream)

    def opener() -> Generator[Event, Any, None]:
        yield env.timeout(0.01)  # let the gratuitous ARPs land
        left = n
        while left:
            batch = [h1.connect(h2.ip, PORT) for _ in range(min(BATCH, left))]
            streams = yield env.all_of(batch)
            clients.extend(streams[ev] for ev in batch)
            left -= len(batch)

    # Settle the world (ARP, listener) before the "before" measurement.
    env.run(until=0.005)
    gc.collect()
    before_rss = rss_bytes()
    before_traced = tracemalloc.get_traced_memory()[0] if use_tracemalloc else 0
    wall0 = time.perf_counter()
    acc = env.process(acceptor())
    env.process(opener())
    env.run(until=acc)
    established_at = float(env.now)
    env.run(until=env.now + 2.0)
    wall = time.perf_counter() - wall0
    gc.collect()
    after_rss = rss_bytes()
    after_traced = tracemalloc.get_traced_memory()[0] if use_tracemalloc else 0
    if use_tracemalloc:
        tracemalloc.stop()
    established = sum(1 for s in clients if s.state.name == "ESTABLISHED")
    accepted = sum(1 for s in servers if s.state.name == "ESTABLISHED")
    pending = len(env._queue)  # events still scheduled: idle connections should need none
    return {
        "connections": n,
        "client_established": established,
        "server_established": accepted,
        "established_at": established_at,
        "wall_seconds": wall,
        "events_pending_when_idle": pending,
        "tracemalloc": use_tracemalloc,
        "rss_delta": after_rss - before_rss,
        "rss_per_connection": (after_rss - before_rss) / n,
        "traced_delta": after_traced - before_traced,
        "traced_per_connection": (after_traced - before_traced) / n if use_tracemalloc else None,
    }


def format_idle(rss_run: dict[str, Any], traced_run: dict[str, Any] | None) -> str:
    n = rss_run["connections"]
    lines = [f"(b) {n} idle established connections h1 -> h2 "
             f"(client side ESTABLISHED: {rss_run['client_established']}, server side: "
             f"{rss_run['server_established']}; opened in {rss_run['wall_seconds']:.1f} s wall, "
             f"{rss_run['events_pending_when_idle']} events still scheduled when idle)",
             f"  RSS:         +{rss_run['rss_delta'] / 2**20:.1f} MiB = "
             f"{rss_run['rss_per_connection']:,.0f} bytes per connection (both ends), "
             f"{rss_run['rss_per_connection'] / 2:,.0f} per end"]
    if traced_run is not None:
        lines.append(f"  tracemalloc: +{traced_run['traced_delta'] / 2**20:.1f} MiB = "
                     f"{traced_run['traced_per_connection']:,.0f} bytes per connection "
                     f"(both ends), {traced_run['traced_per_connection'] / 2:,.0f} per end")
    worst = max(rss_run["rss_per_connection"],
                traced_run["traced_per_connection"] if traced_run else 0)
    lines.append(f"  target < 10 KB per connection: {'met' if worst < 10_000 else 'NOT met'}")
    return "\n".join(lines)


def _child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"bench_memory: child {args} failed (exit {proc.returncode}):\n"
                         + proc.stderr[-2000:])
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", default="1GB", help="(a) transfer size (default 1GB)")
    parser.add_argument("--every", default="100MB", help="(a) sample interval (default 100MB)")
    parser.add_argument("--connections", type=int, default=10_000,
                        help="(b) idle connections (default 10000)")
    parser.add_argument("--part", choices=("flat", "idle", "both"), default="both")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="(b) also measure with tracemalloc (a second process)")
    parser.add_argument("--record", metavar="FILE",
                        help="also write the results, machine, date and command to FILE (JSON)")
    parser.add_argument("--child", choices=("flat", "idle", "idle-traced"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    nbytes = parse_size(args.bytes, "--bytes")
    every = parse_size(args.every, "--every")
    if args.connections < 1 or args.connections > 16000:
        parser.error("--connections: use 1 to 16000 (the ephemeral port range)")

    if args.child == "flat":
        print(json.dumps(flat_memory(nbytes, every)))
        return 0
    if args.child is not None:
        print(json.dumps(idle_connections(args.connections, args.child == "idle-traced")))
        return 0

    import _record
    started = _record.machine()
    recorded: dict[str, Any] = {}
    ok = True
    common = ["--bytes", str(nbytes), "--every", str(every),
              "--connections", str(args.connections)]
    if args.part in ("flat", "both"):
        flat = _child([*common, "--child", "flat"])
        recorded["flat"] = flat
        print(format_flat(flat), flush=True)
        ok = ok and flat["intact"]
    if args.part in ("idle", "both"):
        rss_run = _child([*common, "--child", "idle"])
        traced = _child([*common, "--child", "idle-traced"]) if args.tracemalloc else None
        recorded["idle"], recorded["idle_traced"] = rss_run, traced
        print(format_idle(rss_run, traced))
        ok = ok and rss_run["client_established"] == rss_run["server_established"] == \
            args.connections
    if args.record:
        _record.write(args.record, recorded, started)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
