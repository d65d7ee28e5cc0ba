"""The per-frame path below TCP answers as the pieces it stands for would, without calling
them on every frame where their answer is known: the reference ARP table's answer (read, not
asked, for a `LazyFrame`) and a Bernoulli loss model's draw (made by the link). A student's
ArpCache, a subclass, and a loss model put on a link later are still called every time."""

from __future__ import annotations

import random
import sys
from collections.abc import Generator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli, Scripted
from netsim.sim.topology import two_hosts
from netsim.sim.world import World
from netsim.stack.arp import ArpTable
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.mac import MacAddress

sys.path.insert(0, str(Path(__file__).parent))
from trace_helpers import start_transfer  # noqa: E402

DATA = bytes(range(256)) * 400  # 100 kB


def _transfer(world: World, net: Any, at: float | None = None,
              then: Any = None) -> bytes:
    h1, h2 = net.hosts

    def later() -> Generator[Any, Any, None]:
        assert at is not None
        yield world.env.timeout(at)
        then()

    got = start_transfer(world, h1, h2, DATA)
    if then is not None:
        world.env.process(later())
    world.run(until=30.0)
    return bytes(got)


class CountingTable(ArpTable):
    """A subclass of the reference table (as a student's might be): asked every time."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def lookup(self, ip: IPv4Address, now: float) -> MacAddress | None:
        self.lookups += 1
        return super().lookup(ip, now)


def test_an_arp_cache_that_is_not_the_reference_table_is_asked_for_every_frame() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=50e6))
    h1, _ = net.hosts
    table = CountingTable()
    h1.stack.interfaces["eth0"].arp = table
    assert _transfer(world, net) == DATA
    sent = net.links[0].a.stats.offered
    assert sent > 70 and table.lookups >= sent - 2  # (the gratuitous ARPs need no lookup)


def test_a_mac_the_reference_table_learns_mid_transfer_is_the_next_frames_destination() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=50e6))
    h1, h2 = net.hosts
    seen: list[tuple[float, bytes]] = []
    net.links[0].a.add_tap(
        lambda t, d, frame: seen.append((t, frame[0:6])) if d == "tx" else None)
    other = MacAddress("02:00:00:00:00:99")
    iface = h1.stack.interfaces["eth0"]
    assert type(iface.arp) is ArpTable

    def relearn() -> None:
        iface.arp.update(h2.ip, other, world.env.now)

    _transfer(world, net, at=0.01, then=relearn)
    before = {mac for t, mac in seen if t < 0.01} - {b"\xff" * 6}  # (not ARP's broadcasts)
    after = [mac for t, mac in seen if t > 0.01]
    assert before == {bytes(h2.stack.interfaces["eth0"].mac)}
    assert after and set(after) == {bytes(other)}  # every frame after it: to the new MAC


def test_an_expired_reference_entry_is_asked_again_and_resolved_anew() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=50e6))
    h1, _ = net.hosts
    h1.stack.interfaces["eth0"].arp = ArpTable(timeout=0.005)
    assert _transfer(world, net) == DATA
    assert h1.stack.counters["arp"]["tx_request"] >= 2  # resolved again after expiring


def test_the_reference_table_keeps_what_the_stack_reads_per_frame() -> None:
    # Stack._lazy_hop reads ArpTable._cache (ip -> (mac, expiry)) instead of calling lookup:
    # if the table keeps its entries another way, change it there too.
    table = ArpTable(timeout=60.0)
    ip, mac = IPv4Address("10.0.0.2"), MacAddress("02:00:00:00:00:02")
    table.update(ip, mac, 5.0)
    assert table._cache == {ip: (mac, 65.0)}
    assert table.lookup(ip, 64.9) == mac and table.lookup(ip, 65.0) is None


def _losses(loss: Any, *, replace_with: Any = None) -> list[int]:
    """Indices of the frames a link direction with `loss` loses out of 200 sent."""
    from netsim.sim.link import Link

    world = World(3)
    link = Link(world, LinkConfig(delay=0.001, loss=loss))
    if replace_with is not None:
        link.a.loss = replace_with
    got: list[int] = []
    link.b.attach(lambda frame: got.append(int.from_bytes(frame[14:16], "big")))
    for i in range(200):
        link.a.send(bytes(12) + b"\x08\x00" + i.to_bytes(2, "big") + bytes(44))
    world.run()
    return sorted(set(range(200)) - set(got))


def test_a_bernoulli_link_loses_the_frames_its_own_stream_picks() -> None:
    lost = _losses(Bernoulli(0.2))
    rng = World(3).rng("link:link:a>b:loss")
    assert lost == [i for i in range(200) if rng.random() < 0.2]
    assert 20 < len(lost) < 60


def test_a_subclass_or_a_model_put_on_the_link_later_is_called_for_every_frame() -> None:
    class EveryThird(Bernoulli):
        def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
            return index % 3 == 0

    assert _losses(EveryThird(0.5)) == list(range(0, 200, 3))
    assert _losses(Bernoulli(0.5), replace_with=Scripted(indices=[4, 7])) == [4, 7]


def test_frames_between_simulated_stacks_are_lazy_frames_sent_straight_to_the_port() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.001, rate_bps=50e6))
    h1, _ = net.hosts
    frames: list[Any] = []
    endpoint = net.links[0].a
    send = endpoint.send

    def spy(frame: Any) -> None:
        frames.append(frame)
        send(frame)

    h1.stack.interfaces["eth0"].port_send = spy
    assert _transfer(world, net) == DATA
    assert sum(isinstance(f, LazyFrame) for f in frames) > 70
