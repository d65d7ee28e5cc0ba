"""Benchmark of scaling: wall time against bytes transferred and against concurrent connections.

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--mb 10,100,1000] [--max-mb 100]
[--conns 10,100,1000] [--max-conns 100] [--per-conn 1MB] [--part bytes|conns|both] [--lossy]``.

Bytes: one transfer of 10, 100, 1000 MB (``--mb``; ``--max-mb`` leaves out the larger ones)
h1 -> h2 over a clean 100 Mbit/s, 10 ms link (`netsim.sim.scenario.run_bulk`, MSS 1448, NewReno;
``--lossy`` puts 1% loss on the data direction as in bench_bulk).

Connections: 10, 100, 1000 (``--conns``, ``--max-conns``) concurrent connections between the
same two hosts, all to one listening port, each moving ``--per-conn`` bytes (default 1 MB) over a
clean 1 Gbit/s, 10 ms link whose queue is unlimited (so the number of data segments depends only
on the bytes: no drops, no retransmissions, and the cost per segment is what is compared).

Linear scaling means wall time per data segment ("µs/seg") stays the same down each table.
Each row runs in the same process one after the other; wall is ``time.perf_counter``, CPU is
``time.process_time``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Generator
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from simpy.events import Event

from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk, tcp_config_for
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.units import format_rate, format_size, parse_size

MB = 1_000_000
PORT = 5001


def bytes_row(mb: float, lossy: bool, seed: int = 1) -> dict[str, Any]:
    clean = LinkConfig(delay=0.010, rate_bps=100e6)
    link = LinkConfig(delay=0.010, rate_bps=100e6, loss=Bernoulli(0.01)) if lossy else clean
    scenario = BulkScenario(bytes=int(mb * MB), link=link, reverse=clean, seed=seed, mss=1448,
                            cc="newreno")
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    result = run_bulk(scenario)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    return {"mb": mb, "wall": wall, "cpu": cpu, "segs": result.data_segments,
            "sim": result.sim_seconds, "goodput": result.goodput_bps, "ok": result.intact}


def conns_row(n: int, per_conn: int, seed: int = 1) -> dict[str, Any]:
    link = LinkConfig(delay=0.010, rate_bps=1e9, queue_packets=None)
    cfg = tcp_config_for(BulkScenario(link=link, mss=1448))
    world = World(seed)
    net = two_hosts(world, link, tcp=cfg)
    h1, h2 = net.hosts
    env = world.env
    listener = h2.listen(PORT, backlog=n,
                         cfg=dataclasses.replace(cfg, backlog=n, max_half_open=n))
    sends = [BulkSendResult() for _ in range(n)]
    sinks = [SinkResult() for _ in range(n)]
    procs = [env.process(bulk_sink(h2, listener=listener, into=k)) for k in sinks]

    def start() -> Generator[Event, Any, None]:
        yield env.timeout(0.001)  # after the gratuitous ARPs
        for i, s in enumerate(sends):
            procs.append(env.process(bulk_sender(h1, h2.ip, PORT, per_conn, seed=seed + i,
                                                 into=s)))

    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    env.process(start())
    env.run(until=0.002)
    env.run(until=env.all_of(procs))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    segs = sum(s.stream.conn.data_segs_out for s in sends if s.stream is not None)
    retx = sum(s.stream.conn.retransmissions for s in sends if s.stream is not None)
    delivered = sum(k.bytes_received for k in sinks)
    ok = delivered == n * per_conn and intact(sends, sinks, h1.ip, per_conn)
    return {"conns": n, "wall": wall, "cpu": cpu, "segs": segs, "retx": retx,
            "sim": float(env.now), "goodput": delivered * 8 / float(env.now), "ok": ok}


def intact(sends: list[BulkSendResult], sinks: list[SinkResult],
           client: IPv4Address | IPv6Address, per_conn: int) -> bool:
    """Whether each sender's bytes reached the sink of its own connection whole: the sink whose
    peer is the sender's (address, port). The listener accepts in the order handshakes end,
    not the order of the connects (with a thousand connections the first SYNs overflow the ARP
    queue and are sent again a second later), so the lists are not compared in order."""
    by_peer = {k.peer: k for k in sinks if k.peer is not None}
    if len(by_peer) != len(sends):
        return False
    for s in sends:
        k = by_peer.get((client, s.stream.conn.local_port)) if s.stream is not None else None
        if k is None or k.bytes_received != per_conn or not k.sha256 or k.sha256 != s.sha256:
            return False
    return True


def _list(text: str, name: str, cap: float) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"bench_scaling: {name}: {text!r} is not a comma-separated list of "
                         "numbers") from None
    if not values or any(v <= 0 for v in values):
        raise SystemExit(f"bench_scaling: {name}: use positive numbers, e.g. 10,100,1000")
    return [v for v in values if v <= cap]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", default="10,100,1000",
                        help="transfer sizes in MB, comma-separated (default 10,100,1000)")
    parser.add_argument("--max-mb", type=float, default=float("inf"),
                        help="leave out transfers larger than this many MB")
    parser.add_argument("--conns", default="10,100,1000",
                        help="connection counts, comma-separated (default 10,100,1000)")
    parser.add_argument("--max-conns", type=float, default=float("inf"),
                        help="leave out rows with more connections than this")
    parser.add_argument("--per-conn", default="1MB", help="bytes per connection (default 1MB)")
    parser.add_argument("--lossy", action="store_true",
                        help="bytes table: 1%% loss on the data direction")
    parser.add_argument("--part", choices=("bytes", "conns", "both"), default="both")
    args = parser.parse_args(argv)
    per_conn = parse_size(args.per_conn, "--per-conn")
    ok = True
    if args.part in ("bytes", "both"):
        print(f"bytes: one transfer, 100 Mbit/s, 10 ms, "
              f"{'1% loss on data' if args.lossy else 'clean'}", flush=True)
        print(f"{'MB':>6} {'wall s':>8} {'cpu s':>8} {'data segs':>10} {'µs/seg':>7} "
              f"{'cpu µs/seg':>10} {'s/100MB':>8} {'sim s':>8} {'goodput':>13} {'ok':>3}",
              flush=True)
        for mb in _list(args.mb, "--mb", args.max_mb):
            r = bytes_row(mb, args.lossy)
            ok = ok and r["ok"]
            print(f"{r['mb']:>6g} {r['wall']:8.2f} {r['cpu']:8.2f} {r['segs']:>10} "
                  f"{r['wall'] / r['segs'] * 1e6:7.1f} {r['cpu'] / r['segs'] * 1e6:10.1f} "
                  f"{r['wall'] / mb * 100:8.2f} "
                  f"{r['sim']:8.1f} {format_rate(r['goodput']):>13} "
                  f"{'yes' if r['ok'] else 'NO':>3}", flush=True)
    if args.part in ("conns", "both"):
        print(f"connections: each moves {format_size(per_conn)}, all at once, 1 Gbit/s, 10 ms, "
              "unlimited queue", flush=True)
        print(f"{'conns':>6} {'wall s':>8} {'cpu s':>8} {'data segs':>10} {'retx':>5} "
              f"{'µs/seg':>7} {'cpu µs/seg':>10} {'ms/conn':>8} {'sim s':>7} {'goodput':>13} "
              f"{'ok':>3}", flush=True)
        for count in _list(args.conns, "--conns", args.max_conns):
            n = int(count)
            r = conns_row(n, per_conn)
            ok = ok and r["ok"]
            print(f"{r['conns']:>6} {r['wall']:8.2f} {r['cpu']:8.2f} {r['segs']:>10} "
                  f"{r['retx']:>5} {r['wall'] / r['segs'] * 1e6:7.1f} "
                  f"{r['cpu'] / r['segs'] * 1e6:10.1f} "
                  f"{r['wall'] / n * 1e3:8.1f} {r['sim']:7.2f} {format_rate(r['goodput']):>13} "
                  f"{'yes' if r['ok'] else 'NO':>3}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
