"""The SimPy driver that runs one sans-I/O stack on its ports — the same in both worlds.

A port is anything with ``send(frame)`` and ``attach(receiver)``: a simulated link's
endpoint, or a live TAP device. A port that also has ``attach_lazy(receiver)`` (a simulated
link) carries TCP frames as `LazyFrame` objects both ways (netsim.wire.lazyframe). Frames
that arrive are fed to the stack at ``env.now``; frames the stack sends go straight to the
port; the stack's next deadline becomes one scheduled SimPy event (DESIGN.md §1).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol, SupportsIndex, final

import simpy

from netsim import argcheck
from netsim.link.model import Endpoint
from netsim.simpy_fast import Call, Sink, call_at, now_of
from netsim.stack.host import Stack
from netsim.stack.host_arp import FrameDriver
from netsim.stack.interface import Interface
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.timers import INF
from netsim.wire.lazyframe import LazyFrame

__all__ = ["Node", "Port", "call_at"]

Receiver = Callable[[bytes], None]


class Port(Protocol):
    def send(self, frame: bytes) -> None: ...

    def attach(self, receiver: Receiver) -> None: ...


@final
class _Receive(Sink):
    """What a node attaches to a port: each frame that arrives goes to the stack, on
    `iface`, at ``env.now`` (a `Sink`: a link's endpoint calls `take` directly)."""

    def __init__(self, env: simpy.Environment, stack: Stack, iface: Interface) -> None:
        self.env = env
        self.stack = stack
        self.iface = iface

    def take(self, frame: bytes | LazyFrame) -> None:
        # (env.now is a property: a call per frame)
        if isinstance(frame, LazyFrame):
            self.stack.receive_lazy(self.iface, frame, now_of(self.env))
        else:
            self.stack.receive(self.iface, frame, now_of(self.env))


class Node(FrameDriver):
    """One host or router in a SimPy world: a `Stack` plus the ports its interfaces use
    (the stack's `FrameDriver`: it calls each port's `send`, or `send_frame`, directly)."""

    def __init__(self, env: simpy.Environment, stack: Stack) -> None:
        self.env = env
        self.stack = stack
        self.ports: dict[str, Port] = {}
        # each interface's port's `send`: it takes bytes, or also a LazyFrame when the
        # interface has `lazy_frames` set (see `attach`)
        self._send_of: dict[Interface, Callable[[Any], None]] = {}
        # those whose port is a link's endpoint (compiled: its `send` is a direct call)
        self._endpoint_of: dict[Interface, Endpoint] = {}
        self._wake = INF
        stack.transmit = self._transmit
        stack.use_driver(self)
        stack.timers.on_earlier = self._wake_at

    @property
    def name(self) -> str:
        return self.stack.name

    @property
    def ip(self) -> IPv4Address:
        return self.stack.ip

    def attach(self, iface: str | Interface, port: Port, announce: bool = True) -> None:
        """Plug interface `iface` into `port`; `announce` sends a gratuitous ARP."""
        if isinstance(iface, str):
            iface = self.stack.interfaces[iface]
        self.ports[iface.name] = port
        self._send_of[iface] = port.send
        iface.port_send = port.send  # what `send_frame` does with iface's frames
        if isinstance(port, Endpoint):
            self._endpoint_of[iface] = port
        else:
            self._endpoint_of.pop(iface, None)
        stack = self.stack
        env = self.env

        receive = _Receive(env, stack, iface)
        attach_lazy = getattr(port, "attach_lazy", None)
        iface.lazy_frames = attach_lazy is not None
        if attach_lazy is not None:
            attach_lazy(receive)
        else:
            port.attach(receive)  # e.g. a TAP: frames leave the process as bytes
        if announce:
            def up(_call: Call, iface: Interface = iface) -> None:
                stack.bring_up(iface, env.now)

            call_at(env, env.now, up)

    def _transmit(self, iface: Interface, frame: bytes | LazyFrame) -> None:
        self._send_of[iface](frame)

    def send_frame(self, iface: Interface, frame: bytes | LazyFrame) -> None:
        endpoint = self._endpoint_of.get(iface)
        if endpoint is not None:
            endpoint.send(frame)
        else:
            self._send_of[iface](frame)

    def _wake_at(self, when: float) -> None:
        if when < self._wake:
            self._wake = when
            call_at(self.env, when, self._on_wake)

    def _on_wake(self, _call: Call) -> None:
        now = self.env.now
        if now < self._wake:
            return  # superseded by an earlier wake-up that already ran
        self._wake = INF
        self.stack.poll(now)
        nxt = self.stack.timers.next_deadline()
        if nxt != INF:
            self._wake_at(nxt)

    # ------------------------------------------------------------------ applications
    # (the arguments users pass are declared as protocols, which the compiled build does not
    # check: a wrong type reaches netsim.argcheck, whose UsageError names the argument)
    def listen(self, port: SupportsIndex, backlog: SupportsIndex | None = None,
               cfg: TcpConfig | None = None,
               address: str | IPv4Address | IPv6Address | None = None) -> Any:
        """A `Listener` on `port` of `address`: every address of both families by default
        (as "::"), "0.0.0.0" every IPv4 one, or one of this node's addresses."""
        from netsim.sockets import Listener
        number = argcheck.port("port", port)
        queue = argcheck.whole("backlog", backlog, 1, None, "a backlog") \
            if backlog is not None else None
        argcheck.instance("cfg", cfg, TcpConfig, "a TcpConfig")
        addr = argcheck.address("address", address) if address is not None else None
        return Listener(self, self.stack.tcp.listen(number, queue, cfg, addr))

    def connect(self, ip: str | IPv4Address | IPv6Address, port: SupportsIndex,
                cfg: TcpConfig | None = None, local_port: SupportsIndex = 0) -> Any:
        """An event that succeeds with a connected `Stream` (or fails: refused, timed out);
        `ip` may be an IPv6 address ("2001:db8::2"): the connection is then over IPv6."""
        from netsim.sockets import open_connection
        remote = argcheck.address("ip", ip)
        number = argcheck.port("port", port)
        argcheck.instance("cfg", cfg, TcpConfig, "a TcpConfig")
        local = argcheck.port("local_port", local_port, 0)
        return open_connection(self, remote, number, cfg, local)

    def udp(self, port: SupportsIndex = 0) -> Any:
        """A `DatagramSocket` bound to `port` (0: a free ephemeral port)."""
        from netsim.sockets import DatagramSocket
        return DatagramSocket(self, argcheck.port("port", port, 0))

    def __repr__(self) -> str:
        return f"<Node {self.name}>"
