"""Run your own class of a lab in a netsim simulation, on your machine, to watch it work::

    python -m netsim.labrun sender-link sender.py[:Sender] [--seed N]
    python -m netsim.labrun sender-peer sender.py[:Sender] [--loss P] [--seed N]

``sender-link``: assignment 07b's transfer, 200 kB to netsim's receiver over a link that loses,
reorders and duplicates, with a slow reader (zero windows). ``sender-peer``: your sender and
netsim's receiver as one TCP peer, opening a connection to netsim's own TCP across a lossy
link, 100 kB up and 20 kB back. Each prints what arrived and how many segments were sent and
retransmitted; the exit status is 0 when everything arrived intact.

This imports your file into this process — your own code on your own machine. It is not how
`netsim grade` scores it: the grader runs a submission in a sandbox and never imports it
(netsim.grading); these are the simulations of 07b's last two checks, run directly.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys

from netsim.errors import UsageError
from netsim.userclass import import_user_class

__all__ = ["main"]


def _class(spec: str) -> type:
    if not spec.rpartition(":")[0].endswith(".py"):
        spec += ":Sender"  # the starter's class name
    return import_user_class(spec, "FILE", "labrun")


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m netsim.labrun",
                                description=(__doc__ or "").split("\n\n")[0])
    sub = p.add_subparsers(dest="run", required=True, metavar="RUN")
    link = sub.add_parser("sender-link", help="07b: your sender to netsim's receiver")
    peer = sub.add_parser("sender-peer", help="07b: your sender in a peer of netsim's TCP")
    for q in (link, peer):
        q.add_argument("file", metavar="FILE", help="sender.py, or sender.py:ClassName")
        q.add_argument("--seed", type=int, default=7)
    peer.add_argument("--loss", type=float, default=0.05)
    a = p.parse_args(argv)
    try:
        if a.run == "sender-link":
            return _sender_link(a.file, a.seed)
        if not 0.0 <= a.loss < 1.0:
            p.error(f"--loss: {a.loss} is not allowed; use a probability in [0, 1)")
        return _sender_peer(a.file, a.loss, a.seed)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
