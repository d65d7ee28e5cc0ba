"""The seam of assignment 11: a switch's MAC table and forwarding decision
(netsim/stack/learning.py) asked by netsim's `Bridge`, and another one installed in its place."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from netsim.apps.ping import ping
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.switched import lan
from netsim.sim.topology import capture
from netsim.sim.world import World
from netsim.stack.learning import LearningTable
from netsim.stack.switch import Bridge
from netsim.wire.ethernet import build_ethernet
from netsim.wire.mac import MacAddress

A, B = bytes(MacAddress.local(1)), bytes(MacAddress.local(2))


class Hub:
    """Learns nothing: every frame leaves by every other port."""

    def __init__(self) -> None:
        self.ports: list[int] = []

    def add_port(self, port: int) -> None:
        self.ports.append(port)

    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        return [p for p in self.ports if p != port]

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        return None


def _pcaps(tmp: Path, **kw: object) -> list[bytes]:
    world = World(seed=2)
    net = lan(world, hosts=4, switches=2, config=LinkConfig(delay=0.001),
              ageing_time=1.0, **kw)  # type: ignore[arg-type]
    world.env.process(ping(net.hosts[0], "10.0.0.4", count=4, interval=0.7))
    world.env.process(ping(net.hosts[1], "10.0.0.3", count=3, interval=1.3))
    with contextlib.ExitStack() as stack:
        for i, link in enumerate(net.links):
            stack.enter_context(capture(link.a, tmp / f"{i}.pcap"))
        world.run(until=8)
    return [(tmp / f"{i}.pcap").read_bytes() for i in range(len(net.links))]


def test_a_table_installed_in_place_of_netsims_switches_the_same_frames(
        tmp_path: Path) -> None:
    """netsim's own LearningTable, installed as if it were a student's, gives the same frames
    on every link as the bridge's own (ageing of 1 s included); a hub floods more."""
    (tmp_path / "own").mkdir()
    (tmp_path / "installed").mkdir()
    (tmp_path / "hub").mkdir()
    own = _pcaps(tmp_path / "own")
    installed = _pcaps(tmp_path / "installed", learning=lambda: LearningTable(1.0))
    assert installed == own
    hub = _pcaps(tmp_path / "hub", learning=Hub)
    assert sum(map(len, hub)) > sum(map(len, own))  # frames reach links a switch spares


def test_the_bridge_asks_the_installed_table_by_port_number() -> None:
    bridge = Bridge("s1", ["a", "b", "c"])
    table = LearningTable()
    bridge.set_learning(table)
    sent: list[str] = []
    bridge.transmit = lambda port, frame: sent.append(port)
    bridge.receive("b", build_ethernet(A, B, 0x0800, bytes(46)), 0.0)
    assert sent == ["a", "c"] and table.lookup(B, 1, 0.0) == 2
    assert bridge.lookup(MacAddress(B)) == "b"
    with pytest.raises(UsageError, match="table"):
        bridge.table()


def test_a_bad_table_or_answer_is_a_usage_error() -> None:
    bridge = Bridge("s1", 2)
    with pytest.raises(UsageError, match="has no method add_port"):
        bridge.set_learning(object())  # type: ignore[arg-type]

    class Bad(Hub):
        def receive(self, port: int, src: bytes, dst: bytes, vlan: int,
                    now: float) -> list[int]:
            return [7]

    bridge.set_learning(Bad())
    bridge.transmit = lambda port, frame: None
    with pytest.raises(UsageError, match=r"port numbers 1\.\.2"):
        bridge.receive("p1", build_ethernet(A, B, 0x0800, bytes(46)), 0.0)
