"""Run your own class of a lab in a netsim simulation, on your machine, to watch it work::

    python -m netsim.labrun sender-link sender.py[:Sender] [--seed N]
    python -m netsim.labrun sender-peer sender.py[:Sender] [--loss P] [--seed N]
    python -m netsim.labrun peer-sim tcp_peer.py[:TcpPeer] [--seed N] [--loss P] [--active]
                                     [--plot out.png]
    sudo python -m netsim.labrun peer-live tcp_peer.py[:TcpPeer] [--plot out.png]
    python -m netsim.labrun dv-line dv_router.py[:DvRouter] [--split-horizon MODE]
    python -m netsim.labrun dv-graph dv_router.py[:DvRouter] [--routers N] [--seed N]

``sender-link``: assignment 07b's transfer, 200 kB to netsim's receiver over a link that loses,
reorders and duplicates, with a slow reader (zero windows). ``sender-peer``: your sender and
netsim's receiver as one TCP peer, opening a connection to netsim's own TCP across a lossy
link, 100 kB up and 20 kB back. Each prints what arrived and how many segments were sent and
retransmitted; the exit status is 0 when everything arrived intact.

``peer-sim``: assignment 10's simulation (netsim.sim.peer_transfer): your TcpPeer and netsim's
own TCP exchange 1 MB each way at once over a link that loses, reorders and duplicates, then
both close; ``--active`` makes your peer open the connection. ``peer-live``: your TcpPeer as
an echo server on a TAP in a network namespace made for the run (root; netsim.live.peer_echo):
Linux's ``nc`` sends it 1 MB and must get the same bytes back. ``--plot`` draws the
time-sequence graph of your peer's connection. Your file's folder is searched for the modules
it imports (your sender.py and tcp_receiver.py).

``dv-line``: assignment 12's line of five routers r1..r5 running RIP with your DvRouter in
each, no triggered updates; at 100 s r3 loses its link to r4, and each router's metric to the
network r4-r5 is printed as it changes: with ``--split-horizon off`` r2 and r3 count to
infinity, with ``simple`` or ``poisoned_reverse`` (the default) they do not. ``dv-graph``:
``--routers`` routers joined at random, RIP for 90 s; every metric is compared with the
shortest paths (a breadth-first search of the graph). Both also run netsim's own table and
say whether yours made the same route changes.

This imports your file into this process — your own code on your own machine. It is not how
`netsim grade` scores it: the grader runs a submission in a sandbox and never imports it
(netsim.grading); these are the simulations of the assignments' last checks, run directly.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from pathlib import Path
from typing import Any

from netsim.errors import UsageError
from netsim.userclass import import_user_class

__all__ = ["main"]


def _class(spec: str, default: str = "Sender") -> type:
    if not spec.rpartition(":")[0].endswith(".py"):
        spec += f":{default}"  # the starter's class name
    return import_user_class(spec, "FILE", "labrun")


def _peer_class(spec: str) -> type:
    """The TcpPeer class of a file that imports its neighbours (sender.py, tcp_receiver.py)."""
    folder = str(Path(spec.rpartition(":")[0] if ".py:" in spec else spec).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return _class(spec, "TcpPeer")


def _peer_sim(spec: str, seed: int, loss: float, active: bool, plot: str | None) -> int:
    from netsim.sim.peer_transfer import transfer

    rec = None
    if plot:
        from netsim.trace import Recorder
        rec = Recorder()
    res = transfer(_peer_class(spec), seed, active=active, loss=loss, trace=rec)
    print(f"netsim's TCP -> your peer: 1000000 bytes, intact={res.to_peer_intact}; your peer "
          f"-> netsim's TCP: 1000000 bytes, intact={res.from_peer_intact}; clean close: "
          f"yours={res.peer_closed}, netsim's={res.netsim_closed}; your peer sent "
          f"{res.segments} segments, {res.retransmissions} retransmitted; {res.seconds:.2f} "
          "simulated seconds" + ("; a RST ended it" if res.reset else "")
          + (f"; error: {res.error}" if res.error else ""))
    if rec is not None and plot and res.conn:
        from netsim.trace.plots.timeseq import plot_time_sequence
        plot_time_sequence(rec, res.conn, title=f"your peer, {res.conn}").savefig(plot)
        print(f"time-sequence graph: {plot}")
    ok = res.to_peer_intact and res.from_peer_intact and res.peer_closed and res.netsim_closed
    return 0 if ok else 1


def _sender_link(spec: str, seed: int) -> int:
    from netsim.grading.sender_timer_sim import transfer

    data = random.Random(seed).randbytes(200_000)
    res = transfer(_class(spec)(isn=12345, initial_rto=0.1, max_payload=1000), data, seed)
    digest = hashlib.sha256(data).hexdigest()[:12]
    print(f"{res.delivered} of {len(data)} bytes (sha256 {digest}...), intact={res.intact}, "
          f"{res.sent_segments} segments, {res.retransmissions} retransmitted, {res.probes} "
          f"zero-window probes, {res.seconds:.2f} simulated seconds")
    return 0 if res.intact else 1


def _sender_peer(spec: str, loss: float, seed: int) -> int:
    from netsim.grading.sender_timer_peer import exchange

    data = random.Random(seed)
    up, down = data.randbytes(100_000), data.randbytes(20_000)
    sender = _class(spec)(isn=data.randrange(1 << 32), initial_rto=0.2, max_payload=1000)
    res = exchange(sender, up, down, loss=loss, seed=seed)
    print(f"up (your sender -> netsim's TCP): {len(up)} bytes, intact={res.up_intact}; "
          f"down (netsim's TCP -> netsim's receiver): {len(down)} bytes, "
          f"intact={res.down_intact}; {res.segments} segments sent, {res.retransmissions} "
          f"retransmitted, {res.seconds:.2f} simulated seconds"
          + ("; netsim's TCP reset the connection" if res.reset else ""))
    return 0 if res.up_intact and res.down_intact else 1


def _dv_factory(spec: str) -> Any:
    cls = _class(spec, "DvRouter")
    return lambda c: cls(split_horizon=c.split_horizon, timeout=c.timeout,
                         garbage_collection=c.garbage_collection)


def _dv_line(spec: str, mode: str) -> int:
    from netsim.grading.dv_router_sim import climb, line_run

    far = "10.1.3.0/24"
    run, ref = line_run(_dv_factory(spec), mode), line_run(None, mode)
    print(f"r1 - r2 - r3 - r4 - r5, split_horizon={mode}, no triggered updates; at 100 s r3 "
          "loses its link to r4.\n"
          f"The metric to {far} (r4-r5), each time it changed after that (metric@time):")
    for router in ("r1", "r2", "r3"):
        steps = [f"{m}@{t:g}" for t, nw, m, _ in run.changes[router] if nw == far and t >= 100]
        print(f"  {router}: {' '.join(steps) or '(no change)'}")
    print(f"highest metric below 16: {climb(run)} (netsim's table: {climb(ref)}); the same "
          f"route changes as netsim's table: {'yes' if run.changes == ref.changes else 'no'}")
    return 0 if run.changes == ref.changes else 1


def _dv_graph(spec: str, routers: int, seed: int) -> int:
    from netsim.grading.dv_router_sim import graph_run

    if not 2 <= routers <= 60:
        raise UsageError(f"--routers: {routers} is not allowed; use 2 to 60")
    run = graph_run(_dv_factory(spec), seed, routers, routers // 2)
    ref = graph_run(None, seed, routers, routers // 2)
    wrong = [f"{r} to {nw}: {m}, shortest {run.want[(r, nw)]}"
             for (r, nw), m in sorted(run.metrics.items()) if m != run.want[(r, nw)]]
    last = max((c[-1][0] for c in run.changes.values() if c), default=0.0)
    print(f"{routers} routers, {routers - 1 + routers // 2} links (seed {seed}), RIP for 90 s "
          f"with your DvRouter: {run.messages} messages, the last route change at {last:g} s; "
          f"{len(run.metrics) - len(wrong)} of {len(run.metrics)} metrics are shortest paths; "
          f"the same route changes as netsim's table: "
          f"{'yes' if run.changes == ref.changes else 'no'}")
    for line in wrong[:10]:
        print("  not shortest: " + line)
    return 0 if not wrong and run.changes == ref.changes else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m netsim.labrun",
                                description=(__doc__ or "").split("\n\n")[0].rstrip(":") + ".")
    sub = p.add_subparsers(dest="run", required=True, metavar="RUN")
    link = sub.add_parser("sender-link", help="07b: your sender to netsim's receiver")
    peer = sub.add_parser("sender-peer", help="07b: your sender in a peer of netsim's TCP")
    for q in (link, peer):
        q.add_argument("file", metavar="FILE", help="sender.py, or sender.py:ClassName")
        q.add_argument("--seed", type=int, default=7)
    peer.add_argument("--loss", type=float, default=0.05)
    psim = sub.add_parser("peer-sim", help="10: your TcpPeer and netsim's TCP, 1 MB each way")
    plive = sub.add_parser("peer-live", help="10: your TcpPeer echoes 1 MB from Linux's nc "
                           "(root)")
    serve = sub.add_parser("peer-live-serve")  # (peer-live's child, inside the namespace)
    for q in (psim, plive, serve):
        q.add_argument("file", metavar="FILE", help="tcp_peer.py, or tcp_peer.py:ClassName")
    for q in (psim, plive):
        q.add_argument("--seed", type=int, default=1)
        q.add_argument("--plot", metavar="PNG", default=None,
                       help="draw your peer's time-sequence graph into this file")
    psim.add_argument("--loss", type=float, default=0.05)
    psim.add_argument("--active", action="store_true", help="your peer opens the connection")
    dvl = sub.add_parser("dv-line", help="12: your DvRouter in a line of five routers, a "
                         "link failure (count to infinity)")
    dvg = sub.add_parser("dv-graph", help="12: your DvRouter in random routers: shortest "
                         "paths?")
    for q in (dvl, dvg):
        q.add_argument("file", metavar="FILE", help="dv_router.py, or dv_router.py:ClassName")
    dvl.add_argument("--split-horizon", default="poisoned_reverse",
                     choices=["poisoned_reverse", "simple", "off"])
    dvg.add_argument("--routers", type=int, default=20)
    dvg.add_argument("--seed", type=int, default=1)
    serve.add_argument("--trace", default=None)
    serve.add_argument("--limit", type=float, default=120.0)
    a = p.parse_args(argv)
    try:
        if a.run == "dv-line":
            return _dv_line(a.file, a.split_horizon)
        if a.run == "dv-graph":
            return _dv_graph(a.file, a.routers, a.seed)
        if a.run == "sender-link":
            return _sender_link(a.file, a.seed)
        if a.run == "peer-sim":
            if not 0.0 <= a.loss < 1.0:
                p.error(f"--loss: {a.loss} is not allowed; use a probability in [0, 1)")
            return _peer_sim(a.file, a.seed, a.loss, a.active, a.plot)
        if a.run == "peer-live":
            from netsim.live.peer_echo import run_live
            return run_live(a.file, seed=a.seed, plot=a.plot)
        if a.run == "peer-live-serve":
            from netsim.live.peer_echo import serve as serve_echo
            return serve_echo(_peer_class(a.file), trace=a.trace, limit=a.limit)
        if not 0.0 <= a.loss < 1.0:
            p.error(f"--loss: {a.loss} is not allowed; use a probability in [0, 1)")
        return _sender_peer(a.file, a.loss, a.seed)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
