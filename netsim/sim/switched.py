"""LANs: hosts behind Ethernet switches, all on one IPv4 subnet.

    world = World(seed=1)
    net = lan(world, hosts=4, switches=2)   # h1 h2 — s1 — s2 — h3 h4, 10.0.0.1..4/24
    s1, s2 = net.switches
    world.env.process(ping(net.hosts[0], "10.0.0.4"))

A switch's ports are named after what they lead to ("h1", "s2"), so its MAC table reads as a
map of the LAN. The switches stand in a line; ``switches=1`` is a star. Nothing here can build
a loop of switches, and `netsim.switchnode.SwitchNode` refuses one built by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from netsim import argcheck
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.topology import Network, _add_link, add_port, make_node
from netsim.sim.world import World
from netsim.stack.events import Tracer
from netsim.stack.learning import MacLearning
from netsim.stack.switch import DEFAULT_AGEING_TIME, DEFAULT_TABLE_SIZE, Bridge
from netsim.stack.tcp.config import TcpConfig
from netsim.switchnode import SwitchNode

__all__ = ["Lan", "lan", "make_switch"]


@dataclass
class Lan(Network):
    """A `Network` with its switches (``hosts`` in order h1, h2, ...)."""

    switches: list[SwitchNode] = field(default_factory=list)

    def mac_names(self) -> dict[str, str]:
        """The hosts' names by their interfaces' MAC addresses ("02:00:00:00:00:01": "h1")."""
        return {str(iface.mac): host.name for host in self.hosts
                for iface in host.stack.interfaces.values()}

    def switch(self, name: str) -> SwitchNode:
        for s in self.switches:
            if s.name == name:
                return s
        raise argcheck.unknown("name", name, "a switch of this network",
                               [s.name for s in self.switches])


def make_switch(world: World, name: str, *, ageing_time: float = DEFAULT_AGEING_TIME,
                table_size: int = DEFAULT_TABLE_SIZE, trace: Tracer | None = None,
                learning: MacLearning | None = None) -> SwitchNode:
    """A switch with no ports yet; `SwitchNode.attach` adds them. A recorder that names the
    "switch" kind also gets one record per frame. ``learning``: the MAC table and forwarding
    decision, if not netsim's (`Bridge.set_learning`; assignment 11)."""
    asks_for = getattr(trace, "asks_for", None)
    frames = bool(callable(asks_for) and asks_for("switch"))
    bridge = Bridge(name, ageing_time=ageing_time, table_size=table_size, trace=trace,
                    trace_frames=frames)
    if learning is not None:
        bridge.set_learning(learning)
    return SwitchNode(world.env, bridge)


def _counts(hosts: int | Sequence[int], switches: int) -> list[int]:
    if isinstance(switches, bool) or not isinstance(switches, int) or switches < 1:
        raise UsageError(f"switches: {switches!r} is not allowed; use a whole number >= 1")
    if isinstance(hosts, int) and not isinstance(hosts, bool):
        if hosts < 1:
            raise UsageError(f"hosts: {hosts!r} is not allowed; use a whole number >= 1")
        counts = [hosts // switches + (1 if k < hosts % switches else 0)
                  for k in range(switches)]
    elif isinstance(hosts, Sequence) and not isinstance(hosts, str) and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in hosts):
        counts = list(hosts)
        if len(counts) != switches:
            raise UsageError(f"hosts: {len(counts)} counts given for {switches} switches; give "
                             "one count per switch")
    else:
        raise UsageError(f"hosts: {hosts!r} is not allowed; use a number of hosts or a list "
                         "of counts, one per switch")
    if not 1 <= sum(counts) <= 253:
        raise UsageError(f"hosts: {sum(counts)} hosts in all; use 1..253 (one /24)")
    return counts


def lan(world: World, hosts: int | Sequence[int] = 2, switches: int = 1,
        config: LinkConfig | None = None, *, uplink: LinkConfig | None = None,
        trace: Tracer | None = None, tcp: TcpConfig | None = None, prefix: str = "10.0.0",
        ageing_time: float = DEFAULT_AGEING_TIME,
        table_size: int = DEFAULT_TABLE_SIZE, vlans: Sequence[int] | None = None,
        learning: Callable[[], MacLearning] | None = None) -> Lan:
    """Hosts h1..hN (PREFIX.1..N /24) behind switches s1..sK joined in a line s1 — s2 — …

    ``hosts``: how many in all (spread evenly, the first switches taking one more), or a
    list of counts, one per switch. ``config``: the links from hosts to switches;
    ``uplink``: the links between switches (default: ``config``). ``vlans``: the VLAN of
    each host (IEEE 802.1Q): its switch port is an access port of that VLAN, and the links
    between switches are trunks carrying every VLAN tagged. Hosts in different VLANs share
    the subnet's addresses but cannot reach each other. ``learning``: called once per switch
    for its MAC table and forwarding decision, instead of netsim's (assignment 11), e.g.
    ``learning=lambda: LearningSwitch(ageing_time=300.0)``.
    """
    counts = _counts(hosts, switches)
    if vlans is not None:
        if isinstance(vlans, (str, bytes)) or not isinstance(vlans, Sequence) \
                or len(vlans) != sum(counts):
            raise UsageError(f"vlans: {vlans!r} is not allowed; give one VLAN per host "
                             f"({sum(counts)} hosts)")
    cfg = config or LinkConfig()
    up = uplink or cfg
    net = Lan(world)
    for k in range(switches):
        net.switches.append(make_switch(world, f"s{k + 1}", ageing_time=ageing_time,
                                        table_size=table_size, trace=trace,
                                        learning=None if learning is None else learning()))
    for k in range(switches - 1):
        left, right = net.switches[k], net.switches[k + 1]
        link = _add_link(net, up, name=f"{left.name}-{right.name}", trace=trace)
        left.attach(right.name, link.a)
        right.attach(left.name, link.b)
        if vlans is not None:
            left.bridge.trunk(right.name, sorted(set(vlans)))
            right.bridge.trunk(left.name, sorted(set(vlans)))
    number = 0
    for k, count in enumerate(counts):
        switch = net.switches[k]
        for _ in range(count):
            number += 1
            host = make_node(world, f"h{number}", trace=trace, tcp=tcp)
            link = _add_link(net, cfg, name=f"{host.name}-{switch.name}", trace=trace)
            add_port(world, host, "eth0", f"{prefix}.{number}/24", link.a, mtu=cfg.mtu)
            switch.attach(host.name, link.b)
            if vlans is not None:
                switch.bridge.access(host.name, vlans[number - 1])
            net.hosts.append(host)
    return net
