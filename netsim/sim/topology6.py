"""IPv6 on the small topologies of netsim/sim/topology.py (kept apart from it: IPv6 is off
unless asked for, and the IPv4 layouts stay as they are)."""

from __future__ import annotations

from netsim.sim.topology import Network


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


__all__ = ["enable_ipv6_chain"]
