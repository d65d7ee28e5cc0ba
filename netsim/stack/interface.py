"""A network interface of a stack: MAC, IPv4 address and prefix, MTU, its ARP cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from netsim.errors import UsageError
from netsim.stack.arp import ArpCache, ArpTable
from netsim.stack.netif import NetworkInterface
from netsim.wire.ipv4 import intern_ip
from netsim.wire.mac import MacAddress

_LIMITED_BROADCAST = intern_ip("255.255.255.255")


@dataclass(eq=False)
class Interface:
    name: str
    mac: MacAddress
    address: IPv4Interface  # e.g. IPv4Interface("10.0.0.1/24")
    mtu: int = 1500
    arp: ArpCache = field(default_factory=ArpTable)
    up: bool = True
    index: int = 0
    # Set by the driver (netsim.node) when the port carries `LazyFrame` objects (a simulated
    # link), so that TCP frames sent here need no bytes built (netsim.wire.lazyframe).
    lazy_frames: bool = False
    # Set by the driver (netsim.node): its port's `send`, which is what the driver's
    # `send_frame` does with a frame sent here (the stack calls it directly, ArpHost._send_out)
    # (given bytes, or a LazyFrame when `lazy_frames` is set)
    port_send: Callable[[Any], None] | None = field(default=None, repr=False)
    # Another link layer (Ethernet and ARP) for this interface (assignment 08): set by
    # Stack.set_netif; None: the stack's own, with `arp`
    netif: NetworkInterface | None = None
    # IPv4 multicast groups joined here (RFC 1112), and the MAC of each: frames to one of
    # them are received, datagrams to one delivered (a router running RIP joins 224.0.0.9)
    ip_groups: set[IPv4Address] = field(default_factory=set)
    group_macs: set[bytes] = field(default_factory=set)
    # Derived once: IPv4Interface builds a new IPv4Address on every `.ip` access.
    ip: IPv4Address = field(init=False)
    network: IPv4Network = field(init=False)
    broadcast: IPv4Address = field(init=False)
    # The broadcast addresses a router does not forward a datagram to from here (the limited
    # one and this network's), as a set: a lookup hashes in C (netsim.wire.address), where
    # `dst != broadcast` runs ipaddress's __eq__ in Python, twice per forwarded frame
    broadcasts: frozenset[IPv4Address] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ip = intern_ip(self.address.ip)
        self.network = self.address.network
        self.broadcast = intern_ip(self.address.network.broadcast_address)
        self.broadcasts = frozenset((_LIMITED_BROADCAST, self.broadcast))

    def join_group(self, group: IPv4Address) -> None:
        """Receive datagrams sent to the multicast `group` (RFC 1112: its MAC is
        01:00:5e followed by the group's low 23 bits)."""
        if not group.is_multicast:
            raise UsageError(f"group: {group} is not an IPv4 multicast address")
        self.ip_groups.add(intern_ip(group))
        low = int(group) & 0x7FFFFF
        self.group_macs.add(bytes.fromhex("01005e") + low.to_bytes(3, "big"))

    def __str__(self) -> str:
        return f"{self.name} {self.mac} {self.address} mtu {self.mtu}"
