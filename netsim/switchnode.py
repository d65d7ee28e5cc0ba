"""The SimPy driver of a sans-I/O `Bridge` (netsim/stack/switch.py) — the same in both worlds.

As `netsim.node.Node` does for a host: each port's frames go to ``bridge.receive(port, frame,
env.now)``, what the bridge sends goes straight to the port, and the bridge's next deadline
(the ageing of its table) is one scheduled SimPy event. A port is anything with
``send(frame)`` and ``attach(receiver)``: a simulated link's endpoint (which also carries TCP
frames as `LazyFrame` objects, so a switch between two netsim hosts builds no bytes) or a live
TAP device (given bytes).

Loops: the bridge runs no spanning tree (IEEE 802.1D clause 17), so a loop of switches would
carry every broadcast around for ever. `SwitchNode.attach` refuses, with a `UsageError`, a
port whose link would close a loop of switches in the same environment (two switches joined
twice, a switch joined to itself, a ring). A loop through something that is not a netsim
switch (a live TAP bridged by the kernel) cannot be seen and is not refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from netsim.errors import UsageError
from netsim.node import Port
from netsim.simpy_fast import Call, call_at, now_of
from netsim.stack.switch import Bridge
from netsim.stack.timers import INF
from netsim.wire.lazyframe import LazyFrame, as_bytes

__all__ = ["SwitchNode"]

#: the attribute of an environment holding id(port) -> (the port, the switch it is plugged
#: into), for the switches of that environment (kept on it, so it goes when the world goes)
_PLUGGED = "_netsim_switch_ports"


class SwitchNode:
    """One switch in a SimPy world: a `Bridge` plus the ports its port names are plugged into."""

    def __init__(self, env: simpy.Environment, bridge: Bridge) -> None:
        if not isinstance(bridge, Bridge):
            raise UsageError(f"bridge: {bridge!r} is not a netsim.stack.switch.Bridge")
        self.env = env
        self.bridge = bridge
        self.ports: dict[str, Port] = {}
        self._send_of: dict[str, Callable[[Any], None]] = {}
        self._neighbours: set[SwitchNode] = set()
        self._wake = INF
        bridge.transmit = self._transmit
        bridge.timers.on_earlier = self._wake_at

    @property
    def name(self) -> str:
        return self.bridge.name

    def __repr__(self) -> str:
        return f"<SwitchNode {self.name}>"

    def attach(self, port_name: str, port: Port) -> None:
        """Plug ``port`` in as the bridge's port ``port_name`` (added to the bridge if new)."""
        if port_name in self.ports:
            raise UsageError(f"port: {port_name!r} of {self.name} is already plugged in")
        plugged: dict[int, tuple[Any, SwitchNode]] | None = getattr(self.env, _PLUGGED, None)
        if plugged is None:
            plugged = {}
            setattr(self.env, _PLUGGED, plugged)
        if id(port) in plugged:
            raise UsageError(f"port: {port!r} is already plugged into "
                             f"{plugged[id(port)][1].name}")
        peer = getattr(port, "peer", None)
        other = plugged.get(id(peer)) if peer is not None and peer is not port else None
        if other is not None:
            path = self._path_to(other[1])
            if path is not None:
                ring = " — ".join(s.name for s in [*path, path[0]])
                raise UsageError(
                    f"port: {port_name!r} of {self.name} would close a loop of switches "
                    f"({ring}); netsim's switches run no spanning tree, so a loop would carry "
                    "every broadcast around for ever: remove one of the links")
        if port_name not in self.bridge.ports:
            self.bridge.add_port(port_name)
        self.ports[port_name] = port
        plugged[id(port)] = (port, self)
        if other is not None:
            self._neighbours.add(other[1])
            other[1]._neighbours.add(self)
        bridge = self.bridge
        env = self.env

        def receive(frame: bytes | LazyFrame, name: str = port_name) -> None:
            bridge.receive(name, frame, now_of(env))

        attach_lazy = getattr(port, "attach_lazy", None)
        if attach_lazy is not None:
            self._send_of[port_name] = port.send
            attach_lazy(receive)
        else:
            send = port.send

            def send_bytes(frame: bytes | LazyFrame) -> None:
                send(as_bytes(frame))  # e.g. a TAP: frames leave the process as bytes

            self._send_of[port_name] = send_bytes
            port.attach(receive)

    def _path_to(self, target: SwitchNode) -> list[SwitchNode] | None:
        """The switches from ``target`` to this one through switch-to-switch links, if any."""
        parent: dict[SwitchNode, SwitchNode | None] = {target: None}
        todo = [target]
        while todo:
            node = todo.pop(0)
            if node is self:
                path: list[SwitchNode] = []
                step: SwitchNode | None = node
                while step is not None:
                    path.append(step)
                    step = parent[step]
                return path[::-1]
            for nxt in node._neighbours:
                if nxt not in parent:
                    parent[nxt] = node
                    todo.append(nxt)
        return None

    def _transmit(self, port: str, frame: bytes | LazyFrame) -> None:
        self._send_of[port](frame)

    def _wake_at(self, when: float) -> None:
        if when < self._wake:
            self._wake = when
            call_at(self.env, when, self._on_wake)

    def _on_wake(self, _call: Call) -> None:
        now = self.env.now
        if now < self._wake:
            return  # superseded by an earlier wake-up that already ran
        self._wake = INF
        self.bridge.poll(now)
        nxt = self.bridge.timers.next_deadline()
        if nxt != INF:
            self._wake_at(nxt)
