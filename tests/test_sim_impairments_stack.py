"""Each link impairment, measured over thousands of frames through the whole stack (UDP sockets
and ping, not the bare link), matches its configured rate within statistical tolerance; and a
corrupted frame never reaches an application.

Tolerances are 4 standard deviations of the estimate. The seeds are fixed, so the runs are
reproducible; the tolerances say how far a correct implementation may stray, not how lucky a
seed was.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Generator
from typing import Any

import pytest

from netsim.apps.ping import PingStats, ping
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli, GilbertElliott
from netsim.sim.topology import Network, two_hosts
from netsim.sim.world import World
from netsim.stack.arp import ArpTable

N = 3000
PAYLOAD = 200
FRAME = 14 + 20 + 8 + PAYLOAD


def prime_arp(net: Network) -> None:
    """Resolve both hosts in advance, for good, so lost or damaged ARP frames (and
    re-resolution when an entry expires) cannot skew a count."""
    h1, h2 = net.hosts
    for a, b in ((h1, h2), (h2, h1)):
        table = a.stack.interfaces["eth0"].arp
        assert isinstance(table, ArpTable)
        table.timeout = 1e9
        table.update(b.ip, b.stack.interfaces["eth0"].mac, 0.0)


def datagram(seq: int) -> bytes:
    head = struct.pack("!I", seq)
    body = hashlib.sha256(head).digest() * (PAYLOAD // 32 + 1)
    return (head + body)[:PAYLOAD]


def blast(config: LinkConfig, *, seed: int = 11, count: int = N, spacing: float = 0.001,
          ) -> tuple[Network, list[tuple[int, float, bytes]], dict[int, float]]:
    """h1 sends `count` numbered UDP datagrams to h2 over a link impaired (h1 -> h2) by
    `config`; returns the network, what h2's socket received (seq, time, payload) and the
    send times."""
    world = World(seed)
    net = two_hosts(world, config, LinkConfig(delay=config.delay))
    prime_arp(net)
    h1, h2 = net.hosts
    rx = h2.udp(9000)
    tx = h1.udp()
    got: list[tuple[int, float, bytes]] = []
    sent_at: dict[int, float] = {}

    def receiver() -> Generator[Any, Any, None]:
        while True:
            data, _ = yield rx.recvfrom()
            got.append((struct.unpack("!I", data[:4])[0], world.now, data))

    def sender() -> Generator[Any, Any, None]:
        yield world.env.timeout(0.1)  # after the gratuitous ARPs of t=0
        for seq in range(count):
            sent_at[seq] = world.now
            tx.sendto(datagram(seq), (h2.ip, 9000))
            yield world.env.timeout(spacing)

    world.env.process(receiver())
    world.env.process(sender())
    world.run(0.1 + count * spacing + 5.0)
    return net, got, sent_at


def within(measured: float, expected: float, sd: float, sigmas: float = 4.0) -> bool:
    return abs(measured - expected) <= sigmas * sd


def binomial_sd(n: int, p: float) -> float:
    """Standard deviation of a fraction estimated from n trials of probability p."""
    return math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.02, 0.2])
def test_bernoulli_loss_rate_seen_by_a_udp_application(p: float) -> None:
    net, got, _ = blast(LinkConfig(delay=0.002, rate_bps=10e6, loss=Bernoulli(p)))
    lost = 1 - len(got) / N
    assert within(lost, p, binomial_sd(N, p)), (lost, p)
    stats = net.links[0].a.stats
    assert stats.dropped["loss"] == N - len(got)  # every missing datagram is a link loss
    assert len({seq for seq, _, _ in got}) == len(got)  # and nothing came twice


def test_loss_on_both_directions_seen_by_ping() -> None:
    p = 0.1
    world = World(21)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=10e6, loss=Bernoulli(p)))
    prime_arp(net)
    proc = world.env.process(ping(net.hosts[0], "10.0.0.2", count=2000, interval=0.01))
    world.env.run(until=proc)
    stats: PingStats = proc.value
    answered = (1 - p) ** 2  # the request and the reply must both survive
    assert within(stats.received / 2000, answered, binomial_sd(2000, answered))
    assert stats.errors == 0 and stats.duplicates == 0


def test_gilbert_elliott_loss_rate_and_burst_length() -> None:
    rate, burst = 0.05, 4.0
    count = 20000
    net, got, _ = blast(LinkConfig(delay=0.001, loss=GilbertElliott.from_rate(rate, burst)),
                        count=count, spacing=0.0002)
    received = sorted(seq for seq, _, _ in got)
    missing = count - len(received)
    runs = []
    prev = -1
    for seq in [*received, count]:
        if seq - prev > 1:
            runs.append(seq - prev - 1)
        prev = seq
    assert sum(runs) == missing
    # bursts are geometric with mean `burst`; the number of bursts is ~ count*rate/burst
    n_bursts = len(runs)
    mean_burst = missing / n_bursts
    sd_burst = math.sqrt(burst * (burst - 1)) / math.sqrt(n_bursts)
    assert within(mean_burst, burst, sd_burst), mean_burst
    # the loss fraction of a bursty process varies more than a Bernoulli one: burst-sized
    # independent events, about count*rate/burst of them
    sd_rate = rate * math.sqrt((1 + (burst - 1) / burst) / (count * rate / burst))
    assert within(missing / count, rate, sd_rate), missing / count


@pytest.mark.parametrize("c", [0.05, 0.3])
def test_corrupted_frames_never_reach_the_application(c: float) -> None:
    config = LinkConfig(delay=0.002, rate_bps=10e6, corrupt=c)
    world_frames: list[tuple[str, bytes]] = []
    net, got, _ = _blast_with_taps(config, world_frames)
    # pair what h1 sent with what h2 got (no loss, jitter or reordering here: same order)
    tx = [f for d, f in world_frames if d == "tx"]
    rx = [f for d, f in world_frames if d == "rx"]
    assert len(tx) == len(rx)
    damaged_ip = sum(1 for a, b in zip(tx, rx, strict=True)
                     if a != b and a[12:14] == b"\x08\x00")
    assert damaged_ip == net.links[0].a.stats.corrupted - sum(
        1 for a, b in zip(tx, rx, strict=True) if a != b and a[12:14] != b"\x08\x00")
    # the application saw exactly the intact datagrams, each byte for byte as sent
    assert len(got) == N - damaged_ip
    assert all(data == datagram(seq) for seq, _, data in got)
    # and every damaged one was dropped by a checksum: IPv4 header or UDP
    drops = net.hosts[1].stack.counters.drops()
    assert drops.get("ipv4.checksum", 0) + drops.get("udp.checksum", 0) == damaged_ip
    assert set(drops) <= {"ipv4.checksum", "udp.checksum"}
    assert within(damaged_ip / N, c, binomial_sd(N, c))
    # the header is 20 of the 228 bytes after Ethernet: the IPv4 checksum catches ~9%
    share = drops.get("ipv4.checksum", 0) / damaged_ip
    assert within(share, 20 / (FRAME - 14), binomial_sd(damaged_ip, 20 / (FRAME - 14)))


def _blast_with_taps(config: LinkConfig, frames: list[tuple[str, bytes]]) -> Any:
    from netsim.sim import link as linkmod

    original = linkmod.Link.__init__

    def init(self: linkmod.Link, *args: Any, **kw: Any) -> None:
        original(self, *args, **kw)
        self.a.add_tap(lambda t, d, f: frames.append((d, f)) if d == "tx" else None)
        self.b.add_tap(lambda t, d, f: frames.append((d, f)) if d == "rx" else None)

    mp = pytest.MonkeyPatch()
    mp.setattr(linkmod.Link, "__init__", init)
    try:
        return blast(config)
    finally:
        mp.undo()


def test_duplication_rate_seen_by_a_udp_application() -> None:
    d = 0.1
    net, got, _ = blast(LinkConfig(delay=0.002, rate_bps=10e6, duplicate=d))
    extra = len(got) - N
    assert len({seq for seq, _, _ in got}) == N  # everything arrived
    assert extra == net.links[0].a.stats.duplicated
    assert within(extra / N, d, binomial_sd(N, d))


def test_duplicates_show_in_ping_as_dup() -> None:
    d = 0.1
    world = World(8)
    net = two_hosts(world, LinkConfig(delay=0.001, duplicate=d))
    prime_arp(net)
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], "10.0.0.2", count=1000, interval=0.01,
                                  out=lines.append))
    world.env.run(until=proc)
    stats = proc.value
    # a duplicated request is answered twice, and each reply may be duplicated again
    per_request = (1 + d) ** 2 - 1
    var = d * (1 - d) * (1 + d) * (2 + d)  # variance of the number of replies per request
    assert stats.received == 1000
    assert within(stats.duplicates / 1000, per_request, math.sqrt(var / 1000))
    assert sum(line.endswith(" (DUP!)") for line in lines) == stats.duplicates
    assert f"+{stats.duplicates} duplicates" in lines[-2]


def test_reordering_rate_seen_by_a_udp_application() -> None:
    r = 0.1
    net, got, _ = blast(LinkConfig(delay=0.002, rate_bps=10e6, reorder=r,
                                   reorder_delay=0.005))
    order = [seq for seq, _, _ in got]
    assert sorted(order) == list(range(N))  # nothing lost or duplicated
    # a datagram arrives "late" when some later-numbered one arrived before it
    late = 0
    highest = -1
    for seq in order:
        if seq < highest:
            late += 1
        highest = max(highest, seq)
    held = net.links[0].a.stats.reordered
    assert late <= held  # only held-back frames can be overtaken (5 frames pass in 5 ms)
    assert within(late / N, r, binomial_sd(N, r))


def test_jitter_spreads_one_way_delay_uniformly() -> None:
    jitter = 0.010
    base = 0.005 + FRAME * 8 / 10e6
    # 50 ms apart, far more than the jitter: FIFO never holds a frame back
    net, got, sent = blast(LinkConfig(delay=0.005, rate_bps=10e6, jitter=jitter),
                           count=2000, spacing=0.05)
    delays = [t - sent[seq] for seq, t, _ in got]
    assert len(delays) == 2000
    assert min(delays) >= base - 1e-12 and max(delays) <= base + jitter + 1e-12
    mean = sum(delays) / len(delays)
    assert within(mean, base + jitter / 2, jitter / math.sqrt(12) / math.sqrt(len(delays)))
    var = sum((x - mean) ** 2 for x in delays) / len(delays)
    assert var == pytest.approx(jitter**2 / 12, rel=0.15)


def test_link_rate_paces_a_burst_exactly_and_the_queue_drops_the_excess() -> None:
    rate = 1e6
    # 300 datagrams at once into a 100-frame queue at 1 Mbit/s
    net, got, _ = blast(LinkConfig(delay=0.002, rate_bps=rate, queue_packets=100),
                        count=300, spacing=0.0)
    assert len(got) == 101  # the one on the wire plus a full queue
    assert net.links[0].a.stats.dropped["queue"] == 199
    times = [t for _, t, _ in got]
    gaps = {round(b - a, 12) for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {round(FRAME * 8 / rate, 12)}
