"""A network interface of a stack: MAC, IPv4 address and prefix, MTU, its ARP cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from netsim.stack.arp import ArpCache, ArpTable
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

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip

    @property
    def network(self) -> IPv4Network:
        return self.address.network

    @property
    def broadcast(self) -> IPv4Address:
        return self.address.network.broadcast_address

    def __str__(self) -> str:
        return f"{self.name} {self.mac} {self.address} mtu {self.mtu}"
