"""Benchmark of switches in a simulation: the CPU cost of a TCP transfer between two hosts on
one link, behind one switch, and behind a line of three switches.

Run: ``.venv/bin/python benchmarks/bench_switch.py [--bytes 20MB] [--repeat 3]``.

Each row moves ``--bytes`` from h1 to h2 over 1 Gbit/s links of 0.1 ms (a switch adds a link,
so the path has 1, 2 or 4 links), and reports CPU seconds (``time.process_time``, best of R
runs: the machine is shared, and CPU time is steadier than wall time), frames delivered by
the links, how many of them a switch handled, and the CPU cost of the rows with switches above
the direct link per frame a switch handled (the extra links' cost included), and last the CPU
cost of `Bridge.receive` alone. TCP frames cross a switch as `LazyFrame` objects,
so the switch reads two addresses and builds no bytes.
"""

from __future__ import annotations

import argparse
import time

from netsim.apps.bulk import bulk_sender, bulk_sink
from netsim.sim.link import LinkConfig
from netsim.sim.switched import lan
from netsim.sim.topology import Network, two_hosts
from netsim.sim.world import World
from netsim.stack.switch import Bridge
from netsim.units import parse_size
from netsim.wire.ethernet import build_ethernet
from netsim.wire.mac import MacAddress

CONFIG = LinkConfig(delay=0.0001, rate_bps=1e9, queue_packets=1000)


def _run(switches: int, nbytes: int) -> tuple[float, int, int, bool]:
    """(CPU seconds, frames delivered by links, frames switched, data intact)."""
    world = World(1)
    if switches == 0:
        net: Network = two_hosts(world, CONFIG)
    else:
        net = lan(world, hosts=[1] + [0] * (switches - 2) + [1] if switches > 1 else 2,
                  switches=switches, config=CONFIG)
    h1, h2 = net.hosts
    sink = world.env.process(bulk_sink(h2, 5001, seed=1))  # compares with the sender's bytes
    world.env.process(bulk_sender(h1, h2.ip, 5001, nbytes, seed=1))
    start = time.process_time()
    world.run()
    cpu = time.process_time() - start
    frames = sum(link.a.stats.delivered + link.b.stats.delivered for link in net.links)
    switched = sum(s.bridge.counts["rx"] for s in getattr(net, "switches", []))
    ok = sink.value.bytes_received == nbytes and sink.value.first_difference is None
    return cpu, frames, switched, ok


def _receive_alone(frames: int) -> float:
    """CPU microseconds per `Bridge.receive` of a frame to a known address (transmit: a no-op)."""
    bridge = Bridge("s1", 4)
    bridge.transmit = lambda port, frame: None
    a, b = MacAddress.local(1), MacAddress.local(2)
    bridge.receive("p2", build_ethernet(a, b, 0x0800, bytes(46)), 0.0)
    frame = build_ethernet(b, a, 0x0800, bytes(1486))
    receive = bridge.receive
    start = time.process_time()
    for i in range(frames):
        receive("p1", frame, i * 1e-6)
    return (time.process_time() - start) / frames * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", default="20MB", help="bytes per transfer (default 20MB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (best is shown)")
    parser.add_argument("--frames", type=int, default=200_000,
                        help="frames for the Bridge.receive row (default 200000)")
    args = parser.parse_args()
    nbytes = parse_size(args.bytes, "--bytes")
    print(f"{nbytes} bytes h1 -> h2, 1 Gbit/s links; CPU seconds, best of {args.repeat}")
    print(f"{'path':<22} {'cpu-s':>7} {'frames':>8} {'switched':>9} {'us/switched':>12} "
          f"{'intact':>6}")
    base = 0.0
    for switches, label in ((0, "direct link"), (1, "one switch"), (3, "three switches")):
        runs = [_run(switches, nbytes) for _ in range(args.repeat)]
        cpu = min(r[0] for r in runs)
        _, frames, switched, ok = runs[0]
        if switches == 0:
            base = cpu
        extra = f"{(cpu - base) / switched * 1e6:12.2f}" if switched else f"{'-':>12}"
        print(f"{label:<22} {cpu:7.3f} {frames:8d} {switched:9d} {extra} "
              f"{'yes' if all(r[3] for r in runs) else 'NO':>6}")
    alone = min(_receive_alone(args.frames) for _ in range(args.repeat))
    print(f"Bridge.receive alone (known unicast, bytes): {alone:.2f} us per frame")


if __name__ == "__main__":
    main()
