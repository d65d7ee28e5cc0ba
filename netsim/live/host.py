"""One netsim host live on a TAP device: the stack, the SimPy driver (`netsim.node.Node`, the
same as in simulation), the TAP port, optional impairment, pcap and trace, and a clean stop.

    host = LiveHost(LiveConfig(tap="tap0", ip="10.0.0.2/24"))
    proc = host.env.process(echo_server(host.node, 8080))
    host.run(proc)          # until the process ends or SIGINT/SIGTERM; then closes connections
    host.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from numbers import Integral
from operator import index
from pathlib import Path
from typing import IO, Any

from simpy.events import Event, Process

from netsim import argcheck
from netsim.link.config import LinkConfig
from netsim.live.env import LiveEnvironment
from netsim.live.impair import ImpairedPort, is_impaired
from netsim.live.offload import trusted_tcp_frame
from netsim.live.tap import LiveSetupError, TapPort
from netsim.live.tapdev import check_tap_name
from netsim.node import Node
from netsim.stack.events import TraceRecord
from netsim.stack.host import Stack
from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.cookie_fastpath import answer_from_frame
from netsim.stack.tcp.states import State
from netsim.trace.recorder import kind_of
from netsim.wire.mac import MacAddress
from netsim.wire.pcap import PcapWriter

__all__ = ["JsonLinesTracer", "LiveConfig", "LiveHost", "default_mac", "parse_interface"]

_DONE = (State.CLOSED, State.TIME_WAIT)


def parse_interface(text: str) -> IPv4Interface:
    """``10.0.0.2/24`` -> IPv4Interface; a one-line LiveSetupError naming --ip otherwise."""
    if "/" not in str(text):
        raise LiveSetupError(f"--ip: {text!r} has no prefix length; use ADDRESS/PREFIX such as "
                             "10.0.0.2/24")
    try:
        iface = IPv4Interface(text)
    except ValueError:
        raise LiveSetupError(f"--ip: {text!r} is not an IPv4 address with a prefix; use e.g. "
                             "10.0.0.2/24") from None
    net = iface.network
    if net.prefixlen > 30 or iface.ip in (net.network_address, net.broadcast_address) \
            or iface.ip.is_multicast or iface.ip.is_loopback or iface.ip.is_unspecified:
        raise LiveSetupError(f"--ip: {text!r} is not a usable host address (prefix /1../30, "
                             "not the network, broadcast, loopback or a multicast address)")
    return iface


def default_mac(ip: IPv4Address) -> MacAddress:
    """02:00 followed by the IPv4 address: locally administered, unique per address."""
    return MacAddress(b"\x02\x00" + ip.packed)


class JsonLinesTracer:
    """Streams trace records to a file as they happen, one JSON object per line, in the format
    of `netsim.trace.export.to_jsonl` (so `netsim.trace.export.read_jsonl` reads a live trace
    back into a `Recorder`). Times are seconds since the live run started."""

    def __init__(self, path: str | Path) -> None:
        argcheck.path("path", path, "trace.jsonl")  # (an int would be a file descriptor)
        try:
            self._file: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 - close()
        except OSError as exc:
            raise LiveSetupError(f"--trace: cannot write {str(path)!r}: {exc.strerror}") \
                from None
        self._fields: dict[type[TraceRecord], tuple[str, ...]] = {}
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self.count = 0

    def record(self, rec: TraceRecord) -> None:
        cls = type(rec)
        names = self._fields.get(cls)
        if names is None:
            names = self._fields[cls] = tuple(f.name for f in dataclasses.fields(rec))
        row: dict[str, Any] = {"type": kind_of(rec)}
        for name in names:
            row[name] = getattr(rec, name)
        self._file.write(self._dumps(row) + "\n")
        self.count += 1

    def close(self) -> None:
        self._file.close()


@dataclass
class LiveConfig:
    """How to run one live host (the CLI's flags)."""

    tap: str = "tap0"
    ip: str = "10.0.0.2/24"
    mac: str | None = None  # default: 02:00:<ip>
    mtu: int | None = None  # default: the TAP device's MTU
    gateway: str | None = None
    impair: LinkConfig | None = None  # both directions; None or no effect: no middleware
    seed: int = 1
    pcap: str | None = None
    trace: str | None = None
    tcp: TcpConfig | None = None  # default: TcpConfig.linux_like()
    name: str = "netsim"
    coalesce_acks: bool = True  # netsim.live.acks: one ACK per connection per batch read
    offload: bool = True  # netsim.live.offload: the kernel checks and fills TCP checksums


class LiveHost:
    """The pieces of a live run, built and validated from a `LiveConfig`."""

    def __init__(self, config: LiveConfig) -> None:
        _check_types(config)  # before anything touches the system (the TAP, a file)
        self.config = config
        address = parse_interface(config.ip)
        mac = default_mac(address.ip) if config.mac is None else _parse_mac(config.mac)
        gateway = _parse_gateway(config.gateway, address) if config.gateway else None
        mtu_asked = None if config.mtu is None else index(config.mtu)
        if mtu_asked is not None and not 68 <= mtu_asked <= 65535:
            raise LiveSetupError(f"--mtu: {config.mtu} is not an MTU; use 68..65535")
        # An impaired link loses, queues and marks frames one by one, as on a wire: the kernel
        # must not hand it super-segments (segmentation offload only without impairment)
        impaired = config.impair is not None and is_impaired(config.impair)
        self.tap = TapPort(config.tap, offload=config.offload, tso=not impaired)
        self.tap.coalesce_acks = config.coalesce_acks
        self._closables: list[Any] = [self.tap]
        try:
            if mac == self.tap.kernel_mac:
                raise LiveSetupError(f"--mac: {mac} is the kernel side's own MAC address on "
                                     f"{config.tap}; choose another")
            mtu = mtu_asked if mtu_asked is not None else self.tap.mtu
            self.env = LiveEnvironment()
            self._closables.append(self.env)
            self.tracer: JsonLinesTracer | None = None
            if config.trace:
                self.tracer = JsonLinesTracer(config.trace)
                self._closables.append(self.tracer)
            tcp = config.tcp if config.tcp is not None else TcpConfig.linux_like()
            # RFC 6528 §3: the ISN's hash takes a secret key. Live, it is random per process
            # (a simulation keeps its fixed key: the same seed gives the same run); so are
            # the keys of timestamp offsets (RFC 7323 §7) and of SYN cookies.
            tcp = dataclasses.replace(tcp, isn_key=os.urandom(32))
            self.stack = Stack(config.name, trace=self.tracer, tcp=tcp)
            self.stack.tcp.cookie_secret = os.urandom(32)
            self.iface = self.stack.add_interface(config.tap, mac, address, mtu=mtu)
            if gateway is not None:
                self.stack.set_default_route(str(gateway))
            self.node = Node(self.env, self.stack)
            self.pcap: PcapWriter | None = None
            if config.pcap:
                self.pcap = _open_pcap(config.pcap)
                self._closables.append(self.pcap)
                writer = self.pcap

                def capture(t: float, _direction: str, frame: bytes) -> None:
                    writer.write(t, frame)

                self.tap.add_tap(capture)
            self.impaired: ImpairedPort | None = None
            if config.impair is not None and impaired:
                self.impaired = ImpairedPort(self.env, self.tap, config.impair, seed=config.seed)
                self.node.attach(self.iface, self.impaired)
            else:
                self.node.attach(self.iface, self.tap)
                # Under a SYN flood: SYNs answered with a cookie skip the parsed-object path
                self.tap.shortcut = self._answer_cookie_syn
                if self.tap.vnet_hdr:
                    # TCP segments the kernel vouches for go to TCP unchecked (an impairment
                    # reads bytes: then they take the ordinary path)
                    own_mac, own_ip = bytes(self.iface.mac), self.iface.ip.packed
                    self.tap.trusted = lambda frame: trusted_tcp_frame(frame, own_mac, own_ip)
            self.tap.answerable = self._answerable
            self.tap.register(self.env)
        except BaseException:
            self.close()
            raise
        self.interrupted = False
        self.started_wall = time.time()

    def _answer_cookie_syn(self, frame: bytes) -> bool:
        return answer_from_frame(self.stack, self.iface, frame, self.env.now)

    def _answerable(self) -> frozenset[bytes]:
        """The addresses (4 bytes each) whose MAC address is in the ARP cache (so they are
        on the link): a SYN from one gets its SYN-ACK out at once (netsim.live.synqueue)."""
        return frozenset(ip.packed for ip in self.iface.arp.entries(self.env.now))

    def describe(self) -> str:
        line = f"netsim live: {self.tap.name} {self.iface.address} mac {self.iface.mac} " \
               f"mtu {self.iface.mtu}"
        if self.config.gateway:
            line += f" gateway {self.config.gateway}"
        if self.impaired is not None:
            # (not its MTU: large enough for the TAP's offloaded super-segments, it would
            # read as the interface's, which the line gives already)
            line += f"; impairment: {self.impaired.link.a.config.describe(mtu=False)}"
        return line

    # ------------------------------------------------------------------ running
    def run(self, main: Process | Generator[Event, Any, Any] | None,
            linger: float = 3.0) -> Any:
        """Run until `main` (a process, or a generator made into one) ends, or a signal asks
        to stop; then close every connection, waiting up to `linger` seconds for the FIN
        exchanges. Returns `main`'s value (None when interrupted); an exception raised by
        `main` propagates."""
        env = self.env
        proc: Process | None
        if main is None or isinstance(main, Process):
            proc = main
        else:
            proc = env.process(main)
        env.install_signal_handlers()
        try:
            until = env.stop_requested if proc is None else env.any_of([proc,
                                                                        env.stop_requested])
            env.run(until=until)
            if proc is not None and proc.triggered and not env.stop_requested.triggered:
                return proc.value
            self.interrupted = True
            self.close_connections(linger)
            return None
        finally:
            env.restore_signal_handlers()

    def close_connections(self, linger: float = 3.0) -> None:
        """Close listeners and every open connection; run until they are closed (or TIME-WAIT)
        or `linger` seconds have passed."""
        env = self.env
        now = env.now
        tcp = self.stack.tcp
        for lst in list(tcp.listeners.values()):
            lst.close(now)
        for conn in list(tcp.conns.values()):
            if conn.state not in _DONE and not conn.app_closed:
                conn.close(now)
        deadline = env.now + linger

        def wait() -> Generator[Event, Any, None]:
            while env.now < deadline and any(c.state not in _DONE for c in tcp.conns.values()):
                yield env.timeout(0.02)

        env.run(until=env.process(wait()))

    def open_connections(self) -> int:
        return sum(1 for c in self.stack.tcp.conns.values() if c.state not in _DONE)

    # ------------------------------------------------------------------ results
    def summary(self) -> dict[str, Any]:
        """Counters for people and tests: stack counters and drops, TAP and link statistics."""
        out: dict[str, Any] = {
            "tap": self.tap.stats.as_dict() | {"offload_flags": self.tap.offload_flags},
            "counters": {k: v for k, v in self.stack.counters.flat().items() if v},
            "drops": self.stack.counters.drops(),
            "env": {"wakeups": self.env.wakeups, "deferred": self.env.deferred,
                    "seconds": round(self.env.now, 6),
                    "cpu_seconds": round(time.process_time(), 3)},  # of the whole process
            "connections": {c.name: c.state.name for c in self.stack.tcp.conns.values()},
            "interrupted": self.interrupted,
        }
        syns = self.tap.syns
        if syns is not None:
            out["syn_queue"] = {"stale": syns.stale, "overflow": syns.overflow,
                                "peak": syns.peak, "max_age": syns.max_age,
                                "answered_first": syns.answered_first}
        if self.impaired is not None:
            out["impairment"] = {"to_kernel": self.impaired.to_kernel.as_dict(),
                                 "from_kernel": self.impaired.from_kernel.as_dict()}
        return out

    def close(self) -> None:
        """Close the pcap, the trace, the environment and the TAP (idempotent)."""
        while self._closables:
            item = self._closables.pop()
            with contextlib.suppress(OSError):
                item.close()


def _check_types(config: LiveConfig) -> None:
    """What a `LiveConfig` built in Python (not from the command line's flags) may get wrong:
    one line naming the field, before the TAP is opened or a file created."""
    if not isinstance(config, LiveConfig):
        raise LiveSetupError(f"config: {config!r:.60} is not a LiveConfig; use e.g. "
                             "LiveConfig(tap='tap0', ip='10.0.0.2/24')")
    check_tap_name(config.tap)
    if config.mtu is not None and (isinstance(config.mtu, bool)
                                   or not hasattr(config.mtu, "__index__")):
        raise LiveSetupError(f"--mtu: {config.mtu!r:.60} is not an MTU; use an int in 68..65535")
    if config.gateway and not isinstance(config.gateway, str | IPv4Address):
        # (IPv4Address(5) would be 0.0.0.5)
        raise LiveSetupError(f"--gateway: {config.gateway!r:.60} is not an IPv4 address")
    if isinstance(config.seed, bool) or not isinstance(config.seed, Integral):
        raise LiveSetupError(f"--seed: {config.seed!r:.60} is not an integer seed; use e.g. 1")
    for flag, value in (("--pcap", config.pcap), ("--trace", config.trace)):
        if value:  # (an int would be taken as a file descriptor)
            argcheck.path(flag, value, "live.pcap" if flag == "--pcap" else "live.jsonl")
    argcheck.instance("impair", config.impair, LinkConfig, "a LinkConfig (or None)")
    argcheck.instance("tcp", config.tcp, TcpConfig, "a TcpConfig (or None: Linux-like)")


def _parse_mac(text: str) -> MacAddress:
    try:
        mac = MacAddress(text)
    except ValueError:
        raise LiveSetupError(f"--mac: {text!r} is not six hex pairs like 02:00:00:00:00:02") \
            from None
    if mac.is_multicast or mac == bytes(6):
        raise LiveSetupError(f"--mac: {text!r} is not a unicast address (first byte even, "
                             "not all zeros)")
    return mac


def _parse_gateway(text: str, address: IPv4Interface) -> IPv4Address:
    try:
        gw = IPv4Address(text)
    except ValueError:
        raise LiveSetupError(f"--gateway: {text!r} is not an IPv4 address") from None
    if gw not in address.network or gw == address.ip:
        raise LiveSetupError(f"--gateway: {gw} is not another address on {address.network}")
    return gw


def _open_pcap(path: str) -> PcapWriter:
    try:
        return PcapWriter(path)
    except OSError as exc:
        raise LiveSetupError(f"--pcap: cannot write {path!r}: {exc.strerror}") from None
