"""Assignment 11: the MAC table and forwarding decision of an Ethernet switch (a transparent
learning bridge, IEEE 802.1D).

netsim's switch (netsim/stack/switch.py) asks this class where every frame goes, and does the
rest itself (it drops frames with a group source address before asking, tags and untags
VLAN frames, and sends a frame only by the ports of its VLAN):

  - add_port() is called once per port, numbered 1, 2, 3, ... in the order the ports were
    plugged in;
  - receive() is called for every frame that arrives: learn where its source is, and return
    the ports it leaves by. Addresses are 6-byte `bytes`, times are seconds (the simulated
    clock, given to every call).

Fill in the TODOs. Grade your work with

    netsim grade 11-learning-switch learning_switch.py
"""

from __future__ import annotations


class LearningSwitch:
    def __init__(self, ageing_time: float = 300.0) -> None:
        """An entry not refreshed for `ageing_time` seconds is gone (IEEE 802.1D recommends
        300 s)."""
        self.ageing_time = ageing_time
        self.ports: list[int] = []
        # TODO: the MAC table

    def add_port(self, port: int) -> None:
        """The switch has a new port, numbered `port`."""
        self.ports.append(port)

    def receive(self, port: int, src: bytes, dst: bytes, vlan: int, now: float) -> list[int]:
        """A frame from `src` to `dst` came in on `port`, in VLAN `vlan`, at time `now`.

        Learn that `src` is reached through `port`, then return the ports the frame leaves by:
        the port of a known individual `dst` only; [] when that port is `port` (filtered);
        every port but `port` for an unknown `dst` or a group address (broadcast, multicast:
        the lowest bit of the first byte set). Stretch: one table per VLAN."""
        raise NotImplementedError("TODO: LearningSwitch.receive")

    def lookup(self, mac: bytes, vlan: int, now: float) -> int | None:
        """The port `mac` was learned on in `vlan`, or None if unknown or aged out at `now`."""
        raise NotImplementedError("TODO: LearningSwitch.lookup")
