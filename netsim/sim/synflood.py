"""A SYN flood in simulation: spoofed SYNs against a listener, a real client trying to connect,
with and without SYN cookies (lesson 9, notebooks/09_syn_flood.ipynb).

    run = syn_flood(cookies=1)
    run.connect_times()      # [(start, seconds to connect or None), ...] of the real client
    run.half_open            # the listener's half-open queue, sampled every `sample` seconds

Two hosts on one link (`two_hosts`): the client h1 (10.0.0.1) and the server h2 (10.0.0.2),
listening on port 80 with `TcpConfig(syncookies=cookies)`. The attacker shares h1's side of the
link: from `flood_at` it puts `syns` SYNs from random spoofed addresses in 198.18.0.0/15 (the
benchmarking range, RFC 2544) on the link, evenly over `flood_seconds`. The server has no
route back to them, so its SYN-ACKs are dropped ("no route") and the half-open entries wait
for their SYN-ACK retries to run out, as they would for an attacker's unreachable addresses.
Every `client_every` seconds the client opens a connection (given up after `give_up`).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from simpy.events import Event

from netsim import argcheck
from netsim.sim.link import LinkConfig
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.tcp.config import TcpConfig
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import PROTO_TCP, build_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import SYN, MSSOption, build_tcp, encode_options

__all__ = ["FloodRun", "syn_flood"]

SERVER_PORT = 80
_ATTACKER_MAC = MacAddress("02:66:66:66:66:66")
_SYN_OPTIONS = encode_options([MSSOption(1460)])


@dataclass
class FloodRun:
    """What one run measured."""

    cookies: int
    flood_at: float
    flood_seconds: float
    times: list[float] = field(default_factory=list)  # sample times
    half_open: list[int] = field(default_factory=list)  # the listener's half-open queue
    cookies_sent: list[int] = field(default_factory=list)  # tcp.syncookies_sent so far
    attempts: list[tuple[float, float | None]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)  # the server's, at the end

    def connect_times(self) -> list[tuple[float, float | None]]:
        """(when the client started, seconds until connected or None), in order."""
        return sorted(self.attempts)

    def served(self, start: float, end: float, within: float = 1.0) -> tuple[int, int]:
        """(connected within `within` s, attempts) of those started in [start, end)."""
        chosen = [c for t, c in self.attempts if start <= t < end]
        return sum(1 for c in chosen if c is not None and c <= within), len(chosen)


def _spoofed_syns(world: World, count: int, dst: IPv4Address, dst_mac: MacAddress,
                  port: int) -> list[bytes]:
    rng = world.rng("attacker")
    frames = []
    for i in range(count):
        src = IPv4Address((198 << 24) | (18 << 16) | rng.getrandbits(17))
        seg = build_tcp(src, dst, 1024 + rng.randrange(64000), port, rng.getrandbits(32), 0,
                        SYN, 65535, b"", _SYN_OPTIONS)
        packet = build_ipv4(src, dst, PROTO_TCP, seg, identification=i & 0xFFFF)
        frames.append(build_ethernet(dst_mac, _ATTACKER_MAC, ETHERTYPE_IPV4, packet))
    return frames


def syn_flood(cookies: int = 1, *, syns: int = 30000, flood_at: float = 0.9,
              flood_seconds: float = 0.4, duration: float = 5.0, client_every: float = 0.25,
              give_up: float = 10.0, sample: float = 0.01, seed: int = 1,
              max_half_open: int = 256) -> FloodRun:
    """Run the scenario of the module docstring once; see `FloodRun`."""
    syns = argcheck.whole("syns", syns, 0, None, "a number of SYNs")
    world = World(seed)
    server_cfg = TcpConfig(syncookies=cookies, max_half_open=max_half_open)
    net = two_hosts(world, LinkConfig(delay=0.005, rate_bps=1e9, queue_packets=1000))
    client, server = net.hosts
    env = world.env
    lst = server.listen(SERVER_PORT, cfg=server_cfg)
    counts = server.stack.counters["tcp"]
    run = FloodRun(cookies, flood_at, flood_seconds)
    wire = net.links[0].a  # the client's side of the link, shared with the attacker
    frames = _spoofed_syns(world, syns, server.stack.ip,
                           server.stack.interfaces["eth0"].mac, SERVER_PORT)

    def attacker() -> Generator[Event, Any, None]:
        yield env.timeout(flood_at)
        gap = flood_seconds / max(1, len(frames))
        for i, frame in enumerate(frames):
            wire.send(frame)
            yield env.timeout(flood_at + (i + 1) * gap - env.now)

    def accept_all() -> Generator[Event, Any, None]:
        while True:
            stream = yield lst.accept()
            stream.close()

    def one_client(start: float) -> Generator[Event, Any, None]:
        connecting = client.connect(server.stack.ip, SERVER_PORT)
        outcome = yield env.any_of([connecting, env.timeout(give_up)])
        if connecting in outcome:
            run.attempts.append((start, env.now - start))
            connecting.value.close()
        else:
            run.attempts.append((start, None))

    def clients() -> Generator[Event, Any, None]:
        t = client_every
        while t < duration:
            yield env.timeout(t - env.now)
            env.process(one_client(env.now))
            t += client_every

    def sampler() -> Generator[Event, Any, None]:
        while True:
            run.times.append(env.now)
            run.half_open.append(len(lst.listener.half_open))
            run.cookies_sent.append(counts["syncookies_sent"])
            yield env.timeout(sample)

    for proc in (attacker(), accept_all(), clients(), sampler()):
        env.process(proc)
    world.run(until=duration + give_up)
    done = {t for t, _ in run.attempts}
    for t in [client_every * k for k in range(1, int(duration / client_every) + 1)]:
        if t < duration and all(abs(t - d) > 1e-9 for d in done):
            run.attempts.append((t, None))  # still connecting when the run ended
    run.counters = {k: v for k, v in server.stack.counters.flat().items() if v}
    return run
