"""Assignment 09-router's two checks with the student's router in a simulated chain.

h1 - r1 - r2 - r3 - h2: traceroutes and pings with the student's `Router` on r1 and r3, then a
lossy run with a TCP transfer with it on all three; every line h1 prints and every frame the two
hosts see is compared with the same run on netsim's own routers (computed once per process).
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

from netsim.grading.framework import CheckFailed, Context
from netsim.stack.forwarding import Router


def _chain_run(cls: Any, on: tuple[int, ...], steps: list[str] | None = None,
               loss: float = 0.0, nbytes: int = 0) -> tuple[list[str], list[tuple[float, str,
                                                                                   bytes]]]:
    """h1 - r1 - r2 - r3 - h2 with `cls` as the forwarder of the routers numbered in `on`:
    traceroutes and pings (and a TCP transfer of `nbytes`); their lines and every frame at
    the two hosts."""
    from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
    from netsim.apps.ping import ping
    from netsim.apps.traceroute import traceroute
    from netsim.grading.router import Checked  # (a cycle at import time otherwise)
    from netsim.sim.link import LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.topology import chain
    from netsim.sim.world import World
    from netsim.wire.lazyframe import as_bytes

    world = World(5)
    net = chain(world, 3, LinkConfig(delay=0.002, rate_bps=5e6,
                                     loss=Bernoulli(loss) if loss else None))
    for k in on:
        net.routers[k - 1].stack.set_forwarder(Checked(cls()) if cls is not None else Router())
    frames: list[tuple[float, str, bytes]] = []
    for link, end in ((net.links[0], "a"), (net.links[-1], "b")):
        getattr(link, end).add_tap(lambda t, d, f, n=end: frames.append((t, n + d,
                                                                           as_bytes(f))))
    lines: list[str] = []
    h1, h2 = net.hosts

    def probes() -> Generator[Any, Any, None]:
        for dst in ("10.0.3.2", "10.0.2.2"):  # h2, then r3's near address
            lines.append(f"$ traceroute {dst}")
            yield from traceroute(h1, dst, wait=1.0, queries=1, max_hops=6, out=lines.append)
        for dst in ("10.0.3.2", "10.99.0.1"):  # h2, then a network no router knows
            lines.append(f"$ ping -c 2 {dst}")
            yield from ping(h1, dst, count=2, interval=0.2, out=lines.append)
        lines.append("$ ping -c 2 -t 2 10.0.3.2")  # expires at r2
        yield from ping(h1, "10.0.3.2", count=2, interval=0.2, ttl=2, out=lines.append)

    world.env.process(probes())
    if nbytes:
        sres, kres = BulkSendResult(), SinkResult()
        world.env.process(bulk_sink(h2, 5001, into=kres))
        world.env.process(bulk_sender(h1, h2.ip, 5001, nbytes, seed=5, into=sres))
    world.run(until=40.0)
    if nbytes:
        lines.append(f"TCP: {kres.bytes_received} of {nbytes} bytes received, intact="
                     f"{kres.sha256 == sres.sha256 != ''}")
    return lines, frames


@functools.lru_cache(maxsize=4)
def _reference_run(loss: float, nbytes: int) -> tuple[list[str], list[tuple[float, str, bytes]]]:
    """The run on netsim's routers (the same for every submission: computed once)."""
    return _chain_run(None, (), loss=loss, nbytes=nbytes)


def check_topology(ctx: Context) -> None:
    ctx.step("h1 10.0.0.1 - r1 - r2 - r3 - h2 10.0.3.2; your Router on r1 and r3, netsim's "
             "on r2; h1 runs traceroutes and pings (same run with netsim's on all three "
             "for the expected lines)")
    want, _ = _reference_run(0.0, 0)
    got, _ = _chain_run(ctx.target(), (1, 3))
    for line in got:
        ctx.step("  " + line)
    if got != want:
        i = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
                 min(len(want), len(got)))
        raise CheckFailed("with your router on r1 and r3, what h1 sees differs from the run "
                          "with netsim's routers (forwarding, time exceeded at the right "
                          "hop, net unreachable, delivery to the router's own address)",
                          expected=want[i] if i < len(want) else "(no more lines)",
                          got=got[i] if i < len(got) else "(no more lines)")


def check_simulation(ctx: Context) -> None:
    from netsim.wire.summary import summarize

    ctx.step("h1 - r1 - r2 - r3 - h2, 2 ms links of 5 Mbit/s with 2% loss; your Router on all "
             "three; probes and a 100 kB TCP transfer; every frame at h1 and h2 compared with "
             "the same run on netsim's routers")
    want_lines, want = _reference_run(0.02, 100_000)
    got_lines, got = _chain_run(ctx.target(), (1, 2, 3), loss=0.02, nbytes=100_000)
    ctx.step(got_lines[-1])
    if got == want and got_lines == want_lines:
        return
    i = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
             min(len(want), len(got)))

    def line(frames: list[tuple[float, str, bytes]]) -> str:
        if i >= len(frames):
            return "(no more frames)"
        t, where, frame = frames[i]
        return f"{t:.6f} at {'h1' if where[0] == 'a' else 'h2'} ({where[1:]}): " \
               f"{summarize(frame, verbose=True)}"

    raise CheckFailed(f"frame {i + 1} seen at the hosts differs from the run with netsim's "
                      "routers", expected=line(want), got=line(got))
