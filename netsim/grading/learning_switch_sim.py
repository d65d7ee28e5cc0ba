"""Assignment 11-learning-switch's two checks with the student's switch in a simulated LAN.

A tree of three switches (no loop), five hosts on one subnet, 10.0.0.1..5::

    h5 — s1 — s2 — h1, h2
          \\
           s3 — h3, h4

The student's `LearningSwitch` (through `Checked`) is the table and forwarding decision of
every switch. Pings, a UDP exchange and (in the simulation, over lossy links, with entries
ageing during a pause) a TCP transfer run; every line the hosts print and every frame on
every link is compared with the same run on netsim's switches (computed once per process).
Before that, the frames each host received that were addressed to another host are counted:
a switch that floods what it has learned shows there first.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

from netsim.grading.framework import CheckFailed, Context

Frames = dict[str, list[tuple[float, str, bytes]]]  # link name -> (time, "a"/"b" + direction)


def _lan_run(cls: Any, loss: float = 0.0, nbytes: int = 0,
             ageing: float = 300.0) -> tuple[list[str], Frames, dict[str, int]]:
    """The tree LAN with `cls` (None: netsim's) in every switch: the hosts' lines, every frame
    on every link, and per host the unicast frames it received that were for another host."""
    from netsim.apps.bulk import BulkSendResult, SinkResult, bulk_sender, bulk_sink
    from netsim.apps.ping import ping
    from netsim.grading.learning_switch import Checked  # (a cycle at import time otherwise)
    from netsim.sim.link import Link, LinkConfig
    from netsim.sim.loss import Bernoulli
    from netsim.sim.switched import make_switch
    from netsim.sim.topology import add_port, make_node
    from netsim.sim.world import World
    from netsim.wire.lazyframe import as_bytes

    world = World(11)
    cfg = LinkConfig(delay=0.001, rate_bps=10e6, loss=Bernoulli(loss) if loss else None)
    switches = [make_switch(world, f"s{k}", ageing_time=ageing,
                            learning=None if cls is None else Checked(cls(ageing_time=ageing)))
                for k in (1, 2, 3)]
    s1, s2, s3 = switches
    links: list[Any] = []
    for a, b in ((s1, s2), (s1, s3)):
        link = Link(world, cfg, name=f"{a.name}-{b.name}")
        a.attach(b.name, link.a)
        b.attach(a.name, link.b)
        links.append(link)
    hosts = []
    for n, sw in ((1, s2), (2, s2), (3, s3), (4, s3), (5, s1)):
        host = make_node(world, f"h{n}")
        link = Link(world, cfg, name=f"h{n}-{sw.name}")
        add_port(world, host, "eth0", f"10.0.0.{n}/24", link.a, mtu=cfg.mtu)
        sw.attach(host.name, link.b)
        links.append(link)
        hosts.append(host)
    frames: Frames = {link.name: [] for link in links}
    stray = {h.name: 0 for h in hosts}
    for link in links:
        for end in ("a", "b"):
            getattr(link, end).add_tap(
                lambda t, d, f, n=link.name, e=end: frames[n].append((t, e + d, as_bytes(f))))
    for host, link in zip(hosts, links[2:], strict=True):
        mac = bytes(host.stack.interfaces["eth0"].mac)

        def count(t: float, d: str, f: Any, name: str = host.name, mine: bytes = mac) -> None:
            raw = as_bytes(f)
            if d == "rx" and not raw[0] & 1 and raw[0:6] != mine:
                stray[name] += 1
        link.a.add_tap(count)
    lines: list[str] = []
    h1, h2, h3, h4, h5 = hosts
    udp_rx = h2.udp(7000)
    udp_tx = h3.udp(7001)

    def probes(pause: float) -> Generator[Any, Any, None]:
        for src, dst in ((h1, "10.0.0.3"), (h2, "10.0.0.4"), (h5, "10.0.0.1")):
            lines.append(f"{src.name}$ ping -c 2 {dst}")
            yield from ping(src, dst, count=2, interval=0.2, timeout=1.0, out=lines.append)
        for k in range(3):
            udp_tx.sendto(b"datagram %d" % k, ("10.0.0.2", 7000))
            yield world.env.timeout(0.05)
        if pause:
            yield world.env.timeout(pause)  # every entry ages meanwhile
            lines.append("h4$ ping -c 2 10.0.0.1")
            yield from ping(h4, "10.0.0.1", count=2, interval=0.2, timeout=1.0,
                            out=lines.append)

    def udp_sink() -> Generator[Any, Any, None]:
        while True:
            payload, (ip, port) = yield udp_rx.recvfrom()
            lines.append(f"h2 received UDP {payload!r} from {ip}:{port}")

    world.env.process(probes(ageing * 1.5 if nbytes else 0.0))
    world.env.process(udp_sink())
    if nbytes:
        sres, kres = BulkSendResult(), SinkResult()
        world.env.process(bulk_sink(h4, 5001, into=kres))
        world.env.process(bulk_sender(h1, "10.0.0.4", 5001, nbytes, seed=11, into=sres))
    world.run(until=30.0)
    if nbytes:
        lines.append(f"TCP h1 -> h4: {kres.bytes_received} of {nbytes} bytes received, "
                     f"intact={kres.sha256 == sres.sha256 != ''}")
    return lines, frames, stray


@functools.lru_cache(maxsize=4)
def _reference_run(loss: float, nbytes: int,
                   ageing: float) -> tuple[list[str], Frames, dict[str, int]]:
    """The run on netsim's switches (the same for every submission: computed once)."""
    return _lan_run(None, loss, nbytes, ageing)


def _compare(ctx: Context, got: tuple[list[str], Frames, dict[str, int]],
             want: tuple[list[str], Frames, dict[str, int]]) -> None:
    from netsim.wire.summary import summarize

    got_lines, got_frames, got_stray = got
    want_lines, want_frames, want_stray = want
    for line in got_lines:
        ctx.step("  " + line)
    for host, n in got_stray.items():
        if n > want_stray[host]:
            raise CheckFailed(f"{host} received {n} frames addressed to another host; with "
                              f"netsim's switches {want_stray[host]}: a switch flooded frames "
                              "to addresses it had learned (or sent them to the wrong port)",
                              expected=f"{want_stray[host]} such frames at {host}",
                              got=f"{n} such frames at {host}",
                              hint="once a destination is in the table, the frame leaves by "
                                   "its port only")
    if got_lines != want_lines:
        i = next((i for i, (a, b) in enumerate(zip(want_lines, got_lines, strict=False))
                  if a != b), min(len(want_lines), len(got_lines)))
        raise CheckFailed("with your switch, what the hosts see differs from the run with "
                          "netsim's switches",
                          expected=want_lines[i] if i < len(want_lines) else "(no more lines)",
                          got=got_lines[i] if i < len(got_lines) else "(no more lines)")
    for name, want_list in want_frames.items():
        got_list = got_frames[name]
        if got_list == want_list:
            continue
        i = next((i for i, (a, b) in enumerate(zip(want_list, got_list, strict=False))
                  if a != b), min(len(want_list), len(got_list)))

        def shown(frames: list[tuple[float, str, bytes]], i: int = i, name: str = name) -> str:
            if i >= len(frames):
                return "(no more frames)"
            t, where, frame = frames[i]
            return f"{t:.6f} {where[1:]} at the {name} link's {where[0]} end: " \
                   f"{summarize(frame, verbose=True)}"

        raise CheckFailed(f"frame {i + 1} on the link {name} differs from the run with "
                          f"netsim's switches ({len(got_list)} frames on it, netsim's "
                          f"{len(want_list)})", expected=shown(want_list), got=shown(got_list))


def check_lan(ctx: Context) -> None:
    ctx.step("h5 - s1 - s2 - h1, h2 and s1 - s3 - h3, h4 (10.0.0.1..5), your LearningSwitch "
             "in s1, s2 and s3; pings h1 -> h3, h2 -> h4, h5 -> h1, three UDP datagrams "
             "h3 -> h2; compared with the same run on netsim's switches")
    _compare(ctx, _lan_run(ctx.target()), _reference_run(0.0, 0, 300.0))


def check_simulation(ctx: Context) -> None:
    ctx.step("the same LAN, 2% loss on every link, ageing_time=4: the probes, a 60 kB TCP "
             "transfer h1 -> h4, a 6 s pause (every entry ages), a ping h4 -> h1; every frame "
             "on every link compared with the same run on netsim's switches")
    _compare(ctx, _lan_run(ctx.target(), 0.02, 60_000, 4.0),
             _reference_run(0.02, 60_000, 4.0))
