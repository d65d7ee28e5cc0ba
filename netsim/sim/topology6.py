"""IPv6 on the small topologies of netsim/sim/topology.py (kept apart from it: IPv6 is off
unless asked for, and the IPv4 layouts stay as they are)."""

from __future__ import annotations

from ipaddress import IPv6Address

from netsim.errors import UsageError
from netsim.sim.topology import Network
from netsim.wire.ipv6 import MIN_MTU


def enable_ipv6_chain(net: Network, *, dad: bool = True) -> None:
    """Make a `chain` dual-stack: network i is also 2001:db8:i::/64, with the .1 (left) and
    .2 (right) layout of its IPv4 (h1 is 2001:db8::1, h2 2001:db8:N::2), static routes along
    the chain, and every address checked by DAD first unless `dad` is False."""
    nodes = [net.hosts[0], *net.routers, net.hosts[1]]
    last = len(nodes) - 1
    for i in range(last):
        # as `chain` names them: a router's right-hand interface is eth1, the others eth0
        ends = ((nodes[i], "eth1" if i > 0 else "eth0", 1), (nodes[i + 1], "eth0", 2))
        for node, ifname, host_part in ends:
            layer = node.stack.ipv6
            address = f"2001:db8:{i:x}::{host_part}/64"
            if ifname in layer.ifaces:
                layer.add_address(ifname, address, dad=dad)
            else:
                layer.enable(ifname, (address,), dad=dad)
    nodes[0].stack.ipv6.add_route("::/0", "2001:db8::2", "eth0")
    nodes[last].stack.ipv6.add_route("::/0", f"2001:db8:{last - 1:x}::1", "eth0")
    for k in range(1, last):  # router k: network k-1 on eth0, network k on eth1
        layer = nodes[k].stack.ipv6
        for j in range(last):
            if j < k - 1:
                layer.add_route(f"2001:db8:{j:x}::/64", f"2001:db8:{k - 1:x}::1", "eth0")
            elif j > k:
                layer.add_route(f"2001:db8:{j:x}::/64", f"2001:db8:{k:x}::2", "eth1")


def enable_ipv6_pair(net: Network) -> IPv6Address:
    """Make `two_hosts` dual-stack: h1 2001:db8::1, h2 2001:db8::2 on one /64, without
    duplicate address detection (so traffic can start at once; the first packet waits for
    neighbour discovery, as the first IPv4 one for ARP). Returns h2's address."""
    for i, node in enumerate(net.hosts, start=1):
        node.stack.ipv6.enable("eth0", (f"2001:db8::{i}/64",), dad=False)
    return IPv6Address("2001:db8::2")


def check_ipv6_mtu(mtu: int) -> None:
    """RFC 8200 §5 packet size: every link that carries IPv6 has an MTU of 1280 or more."""
    if mtu < MIN_MTU:
        raise UsageError(f"--mtu: {mtu} is below IPv6's minimum link MTU of {MIN_MTU}; "
                         f"use {MIN_MTU} or more with -6")


__all__ = ["check_ipv6_mtu", "enable_ipv6_chain", "enable_ipv6_pair"]
