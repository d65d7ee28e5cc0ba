"""The destination address is learned on the ingress port instead of the source.

Category: wrong event
RFC: IEEE 802.1D, learning (README: learning)
Observable: returned
Expect: source
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
        self.macs[(vlan, dst)] = [port, now]
        if not dst[0] & 1:
            out = self._alive(vlan, dst, now)
            if out is not None:
                return [] if out == port else [out]
        return [p for p in self.ports if p != port]

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        return self._alive(vlan, mac, now)
