"""Benchmark of live mode: Linux `nc` sending into netsim's sink through a TAP, and ping RTT.

Run as root: ``.venv/bin/python benchmarks/bench_live.py [--mb 200] [--repeat 2] [--profile]``.

For each MTU (1500 and 9000) a fresh namespace gets a TAP (kernel side 10.0.0.1) with netsim's
``sink`` on 10.0.0.2; ``nc`` in the namespace sends N MB of zeros and the sink reports the rate
from its accept to its last byte (the best of R runs). The reference is Linux talking to Linux
over a veth pair between two namespaces at the same MTU, the same way (``nc`` to ``nc -l``).
Ping RTTs (raw ICMP socket, 200 echoes 10 ms apart) are measured through netsim and over the
veth. ``--record FILE`` writes the sink rates and the ping RTTs (median and 99th percentile in
microseconds, replies) as JSON (benchmarks/_record.py). ``--profile`` runs the MTU-1500 sink
once more under cProfile and prints where the time goes; ``--no-offload`` runs netsim without
the TAP's checksum and segmentation offload (netsim.live.offload), to compare. Everything
happens inside namespaces created (and removed) here.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from live_helpers import NETSIM_IP, Netns, netns, running_netsim  # noqa: E402

PY = sys.executable
#: Echo requests per ping run (live_helpers' ping sends them 10 ms apart).
PING_COUNT = 200
#: Extra arguments for every netsim run (``--no-offload``).
NETSIM_ARGS: list[str] = []


def sink_rate(ns: Netns, mb: int, profile: Path | None = None
              ) -> tuple[float, float, float]:
    """MB/s (10**6 bytes) for `mb` MB sent by Linux `nc` into netsim's sink: as the sink
    measured it (accept to last byte), over nc's whole run (start to exit), and per second of
    netsim's CPU time (start-up included; what a loaded machine changes least)."""
    stats = Path(tempfile.mkdtemp()) / "stats.json"
    args = ["sink", "--port", "9000", "--count", "1", "-q", "--stats", str(stats), *NETSIM_ARGS]
    if profile is not None:
        cmd = ["ip", "netns", "exec", ns.name, PY, "-m", "cProfile", "-o", str(profile),
               "-m", "netsim", "live", *args, "--tap", ns.tap]
        sim = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
        from live_helpers import Netsim
        runner = Netsim(sim)
        runner.wait_for("listening")
    else:
        ctx = running_netsim(ns, *args)
        runner = ctx.__enter__()
    try:
        send = f"head -c {mb * 1_000_000} /dev/zero | nc -N {NETSIM_IP} 9000"
        start = time.monotonic()
        ns.run("sh", "-c", send, timeout=600)
        whole = mb / (time.monotonic() - start)
        runner.wait(timeout=120)
    finally:
        if profile is None:
            ctx.__exit__(None, None, None)
    m = re.search(r"sink: \S+ (\d+) bytes in ([\d.]+) s \(([\d.]+) MB/s\)", runner.output)
    if not m or int(m.group(1)) != mb * 1_000_000:
        raise SystemExit(f"sink did not receive everything:\n{runner.output}\n{runner.stderr}")
    cpu = float(json.loads(stats.read_text())["env"]["cpu_seconds"])
    stats.unlink()
    stats.parent.rmdir()
    return float(m.group(3)), whole, mb / cpu


def veth_pair(mtu: int) -> tuple[str, str]:
    """Two namespaces joined by a veth pair: 10.0.1.1 (first) and 10.0.1.2 (second)."""
    a, b = f"nsbench-{os.getpid()}-a", f"nsbench-{os.getpid()}-b"
    cmds = [
        f"ip netns add {a}", f"ip netns add {b}",
        f"ip link add vb0 netns {a} mtu {mtu} type veth peer name vb1 netns {b} mtu {mtu}",
        f"ip -n {a} addr add 10.0.1.1/24 dev vb0", f"ip -n {b} addr add 10.0.1.2/24 dev vb1",
        f"ip -n {a} link set vb0 up", f"ip -n {b} link set vb1 up",
        f"ip -n {a} link set lo up", f"ip -n {b} link set lo up",
    ]
    for cmd in cmds:
        subprocess.run(cmd.split(), check=True, timeout=30)
    return a, b


def veth_rate(mb: int, mtu: int) -> tuple[float, list[float]]:
    a, b = veth_pair(mtu)
    try:
        with tempfile.TemporaryFile() as out:
            listener = subprocess.Popen(["ip", "netns", "exec", b, "nc", "-l", "10.0.1.2",
                                         "9000"], stdout=subprocess.DEVNULL)
            Netns(b).wait_listening(9000)
            start = time.monotonic()
            subprocess.run(["ip", "netns", "exec", a, "sh", "-c",
                            f"head -c {mb * 1_000_000} /dev/zero | nc -N 10.0.1.2 9000"],
                           check=True, timeout=600, stdout=out)
            listener.wait(timeout=60)
            secs = time.monotonic() - start
        rtts = [float(x) for x in Netns(a).helper("ping", "10.0.1.2", str(PING_COUNT)).split()]
        return mb / secs, rtts
    finally:
        subprocess.run(["ip", "netns", "del", a], check=False, timeout=30)
        subprocess.run(["ip", "netns", "del", b], check=False, timeout=30)


def netsim_ping(ns: Netns) -> list[float]:
    with running_netsim(ns, "up", "-q", *NETSIM_ARGS) as sim:
        rtts = [float(x) for x in ns.helper("ping", NETSIM_IP, str(PING_COUNT)).split()]
        sim.stop()
    return rtts


def ping_summary(rtts: list[float]) -> dict[str, Any]:
    """One ping run's RTTs (ms, one per reply) as recorded: median and 99th percentile in
    microseconds (None without at least two replies) and the number of replies."""
    if len(rtts) < 2:
        return {"median_us": None, "p99_us": None, "replies": len(rtts)}
    return {"median_us": round(statistics.median(rtts) * 1000, 1),
            "p99_us": round(statistics.quantiles(rtts, n=100)[98] * 1000, 1),
            "replies": len(rtts)}


def describe(rtts: list[float]) -> str:
    s = ping_summary(rtts)
    if s["median_us"] is None:
        return f"{s['replies']} replies of {PING_COUNT}"
    return (f"median {s['median_us']:.0f} us, p99 {s['p99_us']:.0f} us "
            f"({s['replies']} replies of {PING_COUNT})")


def results(mb: int, repeat: int, sinks: list[dict[str, float]], netsim_rtts: list[float],
            veth_rtts: list[float]) -> dict[str, Any]:
    """What ``--record`` writes (next to the machine, date, command and build): the sink rates
    per MTU and the ping RTTs through netsim and, for reference, Linux to Linux over a veth."""
    return {"mb": mb, "repeat": repeat, "sinks": sinks,
            "ping": {"echoes": PING_COUNT, "netsim": ping_summary(netsim_rtts),
                     "linux_veth": ping_summary(veth_rtts)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="MB per transfer (default 200)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per case, best kept")
    parser.add_argument("--profile", action="store_true",
                        help="profile the MTU-1500 sink with cProfile and show the top entries")
    parser.add_argument("--mtu", type=int, nargs="+", default=[1500, 9000],
                        help="MTUs to measure (default 1500 9000)")
    parser.add_argument("--no-linux", action="store_true",
                        help="skip the Linux-to-Linux references (veth)")
    parser.add_argument("--no-offload", action="store_true",
                        help="netsim without checksum and segmentation offload on the TAP")
    parser.add_argument("--record", metavar="FILE",
                        help="also write the rates, machine, date and command to FILE (JSON)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_live: needs root (namespaces and TAP devices)", file=sys.stderr)
        return 2

    import _record
    started = _record.machine()
    sinks: list[dict[str, float]] = []
    if args.record and (args.no_linux or args.mtu != [1500, 9000] or args.no_offload):
        print("bench_live: --record needs a full run (both MTUs, with Linux, netsim's "
              "defaults)", file=sys.stderr)
        return 2
    if args.no_offload:
        NETSIM_ARGS.append("--no-offload")
    print(f"{'case':<44} {'MB/s':>8} {'vs Linux':>9}   (nc's whole run MB/s; MB per "
          "netsim CPU-second)")
    for mtu in args.mtu:
        ref = 0.0 if args.no_linux else max(veth_rate(args.mb, mtu)[0]
                                            for _ in range(args.repeat))
        with netns(mtu=mtu) as ns:
            runs = [sink_rate(ns, args.mb) for _ in range(args.repeat)]
        best, whole = max(r[0] for r in runs), max(r[1] for r in runs)
        per_cpu = max(r[2] for r in runs)
        print(f"{f'Linux nc -> netsim sink, TAP, MTU {mtu}':<44} {best:8.1f} "
              f"{best / ref if ref else float('nan'):9.3f}   ({whole:.1f}; "
              f"{per_cpu:.1f} per netsim CPU-second)")
        if ref:
            print(f"{f'Linux nc -> Linux nc, veth, MTU {mtu}':<44} {ref:8.1f} {1.0:9.3f}")
        sinks.append({"mtu": mtu, "netsim_sink_mb_per_s": best, "linux_veth_mb_per_s": ref,
                      "netsim_nc_whole_run_mb_per_s": whole,
                      "netsim_mb_per_cpu_s": per_cpu})
    with netns() as ns:
        netsim_rtts = netsim_ping(ns)
    print(f"ping through netsim (TAP):  {describe(netsim_rtts)}")
    veth_rtts: list[float] = []
    if not args.no_linux:
        _, veth_rtts = veth_rate(1, 1500)
        print(f"ping Linux to Linux (veth): {describe(veth_rtts)}")
    if args.record:
        _record.write(args.record, results(args.mb, args.repeat, sinks, netsim_rtts, veth_rtts),
                      started)

    if args.profile:
        with tempfile.TemporaryDirectory() as tmp, netns() as ns:
            prof = Path(tmp) / "sink.prof"
            rate = sink_rate(ns, args.mb, profile=prof)[0]
            print(f"\nprofiled run (cProfile slows it down): {rate:.1f} MB/s; top by own time:")
            pstats.Stats(str(prof)).sort_stats("tottime").print_stats(18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
