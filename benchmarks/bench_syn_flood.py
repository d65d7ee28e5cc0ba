"""A spoofed SYN flood against netsim live and against the Linux kernel, side by side (issue 23).

Root and /dev/net/tun needed; everything happens in namespaces this script creates and removes.

- netsim: ``netsim live echo-server`` on the TAP (10.0.0.2); the flood is written to the TAP from
  the kernel side (AF_PACKET), so it arrives where netsim reads; a Linux client (10.0.0.1)
  connects over the same TAP.
- Linux: a kernel echo listener on 10.0.0.1 (backlog 128, the namespace's default sysctls:
  tcp_syncookies=1); the flood is written into the TAP's file descriptor, so the kernel receives
  it as from the wire; the client connects from inside the namespace (over loopback: it shares
  the listener's queues with the flood, not the TAP).

Each run: N SYNs from spoofed 10.0.0.3-254 sources in about SECONDS, and PROBES echo connections
INTERVAL apart from 50 ms into the flood (after one warm-up exchange). Printed per variant: the
probes that succeeded within 1 s during the flood, right after it, and at all; the slowest
connect; cookie and drop counters; netsim's peak RSS.

    sudo .venv/bin/python benchmarks/bench_syn_flood.py                   # 30000 SYNs in 0.4 s
    sudo .venv/bin/python benchmarks/bench_syn_flood.py --syns 5000 --variants netsim linux
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from live_helpers import HERE, KERNEL_IP, NETSIM_IP, netns, running_netsim  # noqa: E402

PORT = 8080
VARIANTS = ("netsim", "netsim-nocookies", "linux")

# A kernel echo server (one thread per connection) and the flood written into the TAP's fd.
KERNEL_SERVER = """
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[1]))); srv.listen(128); print("listening", flush=True)
def serve(c):
    with c:
        while d := c.recv(65536):
            c.sendall(d)
while True:
    c, _ = srv.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

TAP_FLOOD = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from live_helpers import flood_frames
from netsim.live.tap import interface_mac, open_tap
tap, n, secs, start = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
fd = open_tap(tap)
os.set_blocking(fd, True)
frames = flood_frames("syn", interface_mac(tap), bytes.fromhex("020000000099"), sys.argv[6], n)
print("built", flush=True)
time.sleep(max(0.0, start - time.monotonic()))
first = time.monotonic()
for i, f in enumerate(frames):
    os.write(fd, f)
    if i % 100 == 99:
        ahead = first + secs * (i + 1) / n - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
print(f"sent {n} from {first:.6f} to {time.monotonic():.6f}", flush=True)
time.sleep(1.0)  # keep the TAP open while the kernel answers
"""


def netstat(ns_name: str) -> dict[str, int]:
    text = subprocess.run(["ip", "netns", "exec", ns_name, "cat", "/proc/net/netstat"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    out: dict[str, int] = {}
    for head, vals in zip(text[::2], text[1::2], strict=False):
        names, values = head.split()[1:], vals.split()[1:]
        out.update({f"{head.split(':')[0]}.{k}": int(v) for k, v in zip(names, values,
                                                                         strict=False)})
    return out


def summarize(rows: list[dict[str, Any]], begin: float, end: float) -> dict[str, Any]:
    during = [r for r in rows if begin <= r["t"] < end]
    after = [r for r in rows if r["t"] >= end]

    def fast(r: dict[str, Any]) -> bool:
        return bool(r["ok"]) and r["total"] < 1.0

    return {"flood_s": round(end - begin, 3),
            "during": f"{sum(map(fast, during))}/{len(during)}",
            "after": f"{sum(map(fast, after))}/{len(after)}",
            "served": f"{sum(bool(r['ok']) for r in rows)}/{len(rows)}",
            "slowest": max((r["connect"] for r in rows if r["ok"]), default=-1.0)}


def run_netsim(args: argparse.Namespace, cookies: str) -> dict[str, Any]:
    with netns() as ns:
        stats = Path(f"/tmp/bench_syn_flood_{os.getpid()}.json")
        with running_netsim(ns, "echo-server", "--port", str(PORT), "--quiet", "--stats",
                            str(stats), "--syncookies", cookies) as sim:
            start = time.monotonic() + 3.0
            flood = ns.popen(sys.executable, str(HERE), "flood", ns.tap, NETSIM_IP, "syn",
                             str(args.syns), str(args.seconds), f"{start:.6f}", str(PORT),
                             stdout=subprocess.PIPE, text=True)
            probe = ns.popen(sys.executable, str(HERE), "probe", NETSIM_IP, str(PORT),
                             str(args.probes), str(args.interval), f"{start + 0.05:.6f}",
                             stdout=subprocess.PIPE, text=True)
            fout, pout = flood.communicate(timeout=120)[0], probe.communicate(timeout=120)[0]
            peak = _rss_peak(sim.proc.pid)
            sim.stop()
            kernel_drops = _tap_tx_dropped(ns.name, ns.tap)
        summary = json.loads(stats.read_text())
        counters = summary["counters"]
        stats.unlink()
    words = fout.split()
    row = summarize(json.loads(pout), float(words[-3]) - start - 0.05,
                    float(words[-1]) - start - 0.05)
    row.update(cookies_sent=counters.get("tcp.syncookies_sent", 0),
               cookies_valid=counters.get("tcp.syncookies_valid", 0),
               syn_drops=counters.get("tcp.drop.syn_backlog_full", 0),
               syns_seen=counters.get("tcp.rx", 0), rss_peak_mb=round(peak / 1024, 1),
               syn_stale=summary.get("syn_queue", {}).get("stale", "-"),
               first=summary.get("syn_queue", {}).get("answered_first", "-"),
               tap_drops=kernel_drops)
    return row


def _tap_tx_dropped(ns_name: str, tap: str) -> int:
    """Frames the kernel dropped on their way to the TAP's reader: by the device (its queue
    was full) and by the queueing discipline in front of it."""
    out = subprocess.run(["ip", "netns", "exec", ns_name, "cat",
                          f"/sys/class/net/{tap}/statistics/tx_dropped"],
                         capture_output=True, text=True, check=False).stdout.strip()
    qdisc = subprocess.run(["ip", "netns", "exec", ns_name, "tc", "-s", "qdisc", "show", "dev",
                            tap], capture_output=True, text=True, check=False).stdout
    dropped = [int(m) for m in re.findall(r"dropped (\d+)", qdisc)]
    return (int(out) if out.isdigit() else 0) + (max(dropped) if dropped else 0)


def run_linux(args: argparse.Namespace) -> dict[str, Any]:
    with netns() as ns:
        server = ns.popen(sys.executable, "-c", KERNEL_SERVER, str(PORT),
                          stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and "listening" in server.stdout.readline()
            before = netstat(ns.name)
            start = time.monotonic() + 3.0
            flood = ns.popen(sys.executable, "-c", TAP_FLOOD, str(ROOT / "tests"), ns.tap,
                             str(args.syns), str(args.seconds), f"{start:.6f}", KERNEL_IP,
                             stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
            probe = ns.popen(sys.executable, str(HERE), "probe", KERNEL_IP, str(PORT),
                             str(args.probes), str(args.interval), f"{start + 0.05:.6f}",
                             stdout=subprocess.PIPE, text=True)
            fout, pout = flood.communicate(timeout=120)[0], probe.communicate(timeout=120)[0]
            after = netstat(ns.name)
        finally:
            server.kill()
            server.wait(timeout=10)
    words = fout.split()
    row = summarize(json.loads(pout), float(words[-3]) - start - 0.05,
                    float(words[-1]) - start - 0.05)

    def delta(name: str) -> int:
        return after.get(name, 0) - before.get(name, 0)

    row.update(cookies_sent=delta("TcpExt.SyncookiesSent"),
               cookies_valid=delta("TcpExt.SyncookiesRecv"),
               syn_drops=delta("TcpExt.ListenDrops"), syns_seen="-", rss_peak_mb="-",
               syn_stale="-", first="-", tap_drops="-")
    return row


def _rss_peak(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+)", text)
    return int(m.group(1)) if m else -1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--syns", type=int, default=30000, help="SYNs in the flood (default 30000)")
    p.add_argument("--seconds", type=float, default=0.4, help="flood duration (default 0.4)")
    p.add_argument("--probes", type=int, default=10, help="client connections (default 10)")
    p.add_argument("--interval", type=float, default=0.1, help="between probes (default 0.1)")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_syn_flood: needs root (namespaces and a TAP)", file=sys.stderr)
        return 2
    print(f"{args.syns} spoofed SYNs in {args.seconds} s; {args.probes} client connections "
          f"{args.interval} s apart; 'during'/'after': served within 1 s")
    cols = ("flood_s", "during", "after", "served", "slowest", "cookies_sent", "cookies_valid",
            "syn_drops", "syns_seen", "syn_stale", "first", "tap_drops", "rss_peak_mb")
    print(f"{'variant':18}" + "".join(f"{c:>14}" for c in cols))
    for variant in args.variants:
        if variant == "linux":
            row = run_linux(args)
        else:
            row = run_netsim(args, "0" if variant == "netsim-nocookies" else "1")
        print(f"{variant:18}" + "".join(f"{row[c]!s:>14}" for c in cols), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
