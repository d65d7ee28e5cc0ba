"""RACK-TLP (RFC 8985) with D-SACK (RFC 2883) against DupAck counting, on loss and on reordering.

Run: ``.venv/bin/python benchmarks/bench_rack.py [--bytes 100MB] [--seeds 1,2,3,4,5]
[--scenarios loss,reorder] [--configs dupack,rack,rack-nodsack] [--repeat R] [--json FILE]``.

Scenarios (``run_bulk``, h1 -> h2, 100 Mbit/s, 10 ms one way, only the data direction impaired,
the ACK direction clean):

- ``loss``: 1% random loss (issue #18's ``netsim sim --bytes 100MB --rate 100Mbit --delay 10ms
  --loss 0.01``, with the loss on the data direction only, as benchmarks/bench_bulk.py);
- ``reorder``: no loss, 5% of the data segments held back by 10 ms (``--reorder 0.05``; the
  link's default reorder delay is its one-way delay).

Configurations: ``dupack`` (``rack=False, dsack=False``: DupAck counting, RFC 6675, netsim's
default until RACK-TLP became it; ``--no-rack``), ``rack`` (``rack=True, dsack=True``:
RACK-TLP and a receiver that sends D-SACK, as Linux; what ``TcpConfig()`` has now, also named
``default``),
``rack-nodsack`` (``rack=True, dsack=False``: RACK-TLP with a reordering window that never
adapts). With a checkout that predates ``TcpConfig.dsack`` the ``dsack`` setting is left out.

Columns, summed over the seeds: RTOs, retransmissions, spurious retransmissions (retransmissions
less the data direction's link losses: a retransmission that repairs no loss; exact when the
only impairment is reordering), D-SACK blocks received by the sender, goodput (mean over the
seeds) and CPU seconds (``time.process_time`` around all seeds; with ``--repeat R`` the least
of R runs, since the machine is shared).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

import netsim.sim.scenario as scenario_mod
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.tcp.config import TcpConfig

CONFIGS: dict[str, dict[str, bool]] = {
    "dupack": {"rack": False, "dsack": False},
    "rack": {"rack": True, "dsack": True},
    "rack-nodsack": {"rack": True, "dsack": False},
    "default": {},  # TcpConfig() as it is: the same as "rack" since RACK-TLP is the default
}


def _links(name: str) -> tuple[LinkConfig, LinkConfig]:
    clean = LinkConfig(delay=0.01, rate_bps=100e6)
    if name == "loss":
        return LinkConfig(delay=0.01, rate_bps=100e6, loss=Bernoulli(0.01)), clean
    if name == "reorder":
        return LinkConfig(delay=0.01, rate_bps=100e6, reorder=0.05), clean
    raise SystemExit(f"--scenarios: {name!r} is not loss or reorder")


def _tcp(config: str) -> TcpConfig:
    fields = {f.name for f in dataclasses.fields(TcpConfig)}
    settings = {k: v for k, v in CONFIGS[config].items() if k in fields}
    return TcpConfig(**settings)  # type: ignore[arg-type]


def run(name: str, config: str, nbytes: int, seeds: list[int]) -> dict[str, Any]:
    captured: list[Any] = []
    real_two_hosts = scenario_mod.two_hosts

    def two_hosts(*args: Any, **kw: Any) -> Any:
        net = real_two_hosts(*args, **kw)
        captured.append(net)
        return net

    row: dict[str, Any] = {"scenario": name, "config": config, "rtos": 0, "retransmissions": 0,
                           "spurious": 0, "dsack_received": 0, "intact": True}
    goodputs = []
    scenario_mod.two_hosts = two_hosts  # to read the sender's counters afterwards
    cpu = time.process_time()
    try:
        for seed in seeds:
            link, reverse = _links(name)
            res = run_bulk(BulkScenario(bytes=nbytes, link=link, reverse=reverse, seed=seed,
                                        tcp=_tcp(config)))
            row["intact"] = row["intact"] and res.intact
            row["rtos"] += res.timeouts
            row["retransmissions"] += res.retransmissions
            row["spurious"] += res.retransmissions - res.link_drops.get("loss", 0)
            sender = captured[-1].hosts[0].stack
            row["dsack_received"] += sender.tcp_counts.get("dsack_received", 0)
            goodputs.append(res.goodput_bps)
    finally:
        scenario_mod.two_hosts = real_two_hosts
    row["cpu_seconds"] = time.process_time() - cpu
    row["goodput_mbps"] = sum(goodputs) / len(goodputs) / 1e6
    return row


def _size(text: str) -> int:
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9}
    for unit, mult in units.items():
        if text.upper().endswith(unit):
            return int(float(text[:-2]) * mult)
    return int(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", default="100MB")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--scenarios", default="loss,reorder")
    ap.add_argument("--configs", default="dupack,rack,rack-nodsack")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    configs = args.configs.split(",")
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"--configs: {c!r} is not one of {', '.join(CONFIGS)}")
    rows = []
    print(f"{'scenario':8} {'config':13} {'RTOs':>5} {'retx':>6} {'spurious':>8} "
          f"{'dsacks':>6} {'goodput Mbit/s':>14} {'CPU s':>7} ok", flush=True)
    for name in args.scenarios.split(","):
        for config in configs:
            best: dict[str, Any] | None = None
            for _ in range(max(1, args.repeat)):
                row = run(name, config, _size(args.bytes), seeds)
                if best is None or row["cpu_seconds"] < best["cpu_seconds"]:
                    best = row
            assert best is not None
            rows.append(best)
            print(f"{name:8} {config:13} {best['rtos']:5d} {best['retransmissions']:6d} "
                  f"{best['spurious']:8d} {best['dsack_received']:6d} "
                  f"{best['goodput_mbps']:14.2f} {best['cpu_seconds']:7.1f} "
                  f"{'yes' if best['intact'] else 'NO'}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"bytes": _size(args.bytes), "seeds": seeds, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
