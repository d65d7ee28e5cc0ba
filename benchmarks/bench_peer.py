"""CPU cost of assignment 10's simulation (netsim.sim.peer_transfer.transfer): a TcpPeer and
netsim's TCP exchange 1 MB each way over a link that loses 5%, reorders 5% and duplicates 2%
of the frames, then both close.

Run: ``.venv/bin/python benchmarks/bench_peer.py [--seeds 1,2,3] [--repeat 3] [--bytes 1000000]
[--peer path/to/tcp_peer.py:TcpPeer]``.

One row per mode (the peer passive, then active): CPU seconds per seed (``time.process_time``
around each transfer, the least of ``--repeat`` runs, since the machine may be shared), and
summed over the seeds the peer's segments, its retransmissions and the simulated seconds; "ok"
when every transfer was intact both ways and closed cleanly on both sides. The peer is netsim's
`LabPeer` unless ``--peer`` names a file (imported into this process, as
``python -m netsim.labrun peer-sim`` does).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from netsim.sim.peer_transfer import transfer
from netsim.stack.tcp.lab_peer import LabPeer


def _peer(spec: str | None) -> Any:
    if spec is None:
        return LabPeer
    from netsim.userclass import import_user_class

    path = spec.rpartition(":")[0] or spec
    sys.path.insert(0, str(Path(path).resolve().parent))
    return import_user_class(spec if ":" in spec else spec + ":TcpPeer", "--peer", "bench")


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--bytes", type=int, default=1_000_000)
    p.add_argument("--peer", default=None, metavar="FILE.py[:CLASS]")
    a = p.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    factory = _peer(a.peer)
    print(f"{'mode':8} {'seeds':>5} {'cpu-s/seed':>10} {'segments':>9} {'retx':>6} "
          f"{'sim-s':>7} ok")
    for active in (False, True):
        cpu: list[float] = []
        segments = retx = 0
        sim = 0.0
        ok = True
        for seed in seeds:
            best = float("inf")
            for _ in range(max(1, a.repeat)):
                t = time.process_time()
                res = transfer(factory, seed, active=active, nbytes=a.bytes)
                best = min(best, time.process_time() - t)
            cpu.append(best)
            segments += res.segments
            retx += res.retransmissions
            sim += res.seconds
            ok = ok and res.to_peer_intact and res.from_peer_intact and res.peer_closed \
                and res.netsim_closed
        mode = "active" if active else "passive"
        print(f"{mode:8} {len(seeds):5d} {sum(cpu) / len(cpu):10.3f} {segments:9d} {retx:6d} "
              f"{sim:7.1f} {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
