"""A flooded frame also goes back out of the port it came in on.

Category: wrong scope
RFC: IEEE 802.1D, forwarding (README: forwarding)
Observable: returned
Expect: came in on
"""

from __future__ import annotations


class LearningSwitch:
    def __init__(self, ageing_time: float = 300.0) -> None:
        self.ageing_time = ageing_time
        self.ports: list[int] = []
        self.macs: dict[tuple[int, bytes], list[float]] = {}  # (vlan, mac) -> [port, seen]

    def add_port(self, port: int) -> None:
        self.ports.append(port)

    def _alive(self, vlan: int, mac: bytes, now: float) -> int | None:
        entry = self.macs.get((vlan, mac))
        if entry is None:
            return None
        if now >= entry[1] + self.ageing_time:
            del self.macs[(vlan, mac)]
            return None
        return int(entry[0])

    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        self.macs[(vlan, src)] = [port, now]
        if not dst[0] & 1:
            out = self._alive(vlan, dst, now)
            if out is not None:
                return [] if out == port else [out]
        return list(self.ports)

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        return self._alive(vlan, mac, now)
