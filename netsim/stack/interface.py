"""A network interface of a stack: MAC, IPv4 address and prefix, MTU, its ARP cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from netsim.stack.arp import ArpCache, ArpTable
from netsim.stack.netif import NetworkInterface
from netsim.wire.ipv4 import intern_ip
from netsim.wire.mac import MacAddress


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
    # Another link layer (Ethernet and ARP) for this interface (assignment 08): set by
    # Stack.set_netif; None: the stack's own, with `arp`
    netif: NetworkInterface | None = None
    # Derived once: IPv4Interface builds a new IPv4Address on every `.ip` access.
    ip: IPv4Address = field(init=False)
    network: IPv4Network = field(init=False)
    broadcast: IPv4Address = field(init=False)

    def __post_init__(self) -> None:
        self.ip = intern_ip(self.address.ip)
        self.network = self.address.network
        self.broadcast = intern_ip(self.address.network.broadcast_address)

    def __str__(self) -> str:
        return f"{self.name} {self.mac} {self.address} mtu {self.mtu}"
