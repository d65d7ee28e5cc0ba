"""Model solution of assignment 11 (a learning switch's MAC table and forwarding decision).
For teachers: see ../ANSWERS.md before sharing."""

from __future__ import annotations


class LearningSwitch:
    def __init__(self, ageing_time: float = 300.0) -> None:
        self.ageing_time = ageing_time
        self.ports: list[int] = []
        # (vlan, mac) -> [port, time last seen as a source]
        self.macs: dict[tuple[int, bytes], list[float]] = {}

    def add_port(self, port: int) -> None:
        self.ports.append(port)

    def _alive(self, vlan: int, mac: bytes, now: float) -> int | None:
        entry = self.macs.get((vlan, mac))
        if entry is None:
            return None
        if now >= entry[1] + self.ageing_time:  # aged out (802.1D 7.9.2)
            del self.macs[(vlan, mac)]
            return None
        return int(entry[0])

    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        # learn (or refresh, or move) the source on the ingress port (802.1D 7.8)
        self.macs[(vlan, src)] = [port, now]
        if not dst[0] & 1:  # an individual address: look it up (802.1D 7.7)
            out = self._alive(vlan, dst, now)
            if out is not None:
                return [] if out == port else [out]
        # unknown, broadcast or multicast: flood, never back where it came from
        return [p for p in self.ports if p != port]

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        return self._alive(vlan, mac, now)
