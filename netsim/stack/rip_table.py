"""The configuration of a RIP process (netsim/stack/rip.py), and which destinations it takes.

Its routes are in a distance-vector table (netsim/stack/dv.py), with the two timers of
RFC 2453 §3.8 (a timeout, then garbage collection) and the route change flag that triggered
updates send (RFC 2453 §3.10.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from netsim.errors import UsageError
from netsim.stack.dv import OFF, POISONED_REVERSE, SIMPLE, SPLIT_HORIZON, check_settings
from netsim.stack.timers import INF
from netsim.wire.rip import INFINITY


@dataclass(frozen=True)
class RipConfig:
    """The RIP timers (RFC 2453 §3.8 timers: 30 s updates offset by up to ±5 s, a route
    times out after 180 s and is garbage collected 120 s later), the triggered-update hold
    time (RFC 2453 §3.10.1: a random 1 to 5 s), and how split horizon is done (RFC 2453 §3.4.3
    split horizon): "poisoned_reverse" (routes learned on an interface go back out on it with
    metric 16), "simple" (they are left out) or "off" (they go back with their metric: the
    setting that lets two routers count to infinity)."""

    update_interval: float = 30.0
    update_jitter: float = 5.0
    timeout: float = 180.0
    garbage_collection: float = 120.0
    triggered_updates: bool = True
    triggered_min: float = 1.0
    triggered_max: float = 5.0
    split_horizon: str = POISONED_REVERSE
    cost: int = 1  # added to every metric received on an interface

    def __post_init__(self) -> None:
        if not isinstance(self.update_interval, int | float) or \
                not 0 < self.update_interval < INF:
            raise UsageError(f"RipConfig.update_interval: {self.update_interval!r} is not a "
                             "positive number of seconds")
        check_settings(self.split_horizon, self.timeout, self.garbage_collection, "RipConfig.")
        if not isinstance(self.update_jitter, int | float) or \
                not 0 <= self.update_jitter < self.update_interval:
            raise UsageError(f"RipConfig.update_jitter: {self.update_jitter!r} is not in "
                             f"0..update_interval ({self.update_interval})")
        if not 0 < self.triggered_min <= self.triggered_max < INF:
            raise UsageError(f"RipConfig.triggered_min/max: {self.triggered_min!r}, "
                             f"{self.triggered_max!r}: need 0 < min <= max")
        if type(self.cost) is not int or not 1 <= self.cost < INFINITY:
            raise UsageError(f"RipConfig.cost: {self.cost!r} is not an integer in 1..15")


def valid_destination(net: IPv4Network) -> bool:
    """RFC 2453 §3.9.2 response messages: a destination must be unicast, not net 0 (except
    the default route 0.0.0.0/0) and not net 127."""
    addr = net.network_address
    first = int(addr) >> 24
    if net.prefixlen == 0:
        return True
    return not (first == 0 or first == 127 or addr.is_multicast or first >= 240)


__all__ = ["OFF", "POISONED_REVERSE", "SIMPLE", "SPLIT_HORIZON", "RipConfig",
           "valid_destination"]
