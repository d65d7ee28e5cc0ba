"""A TCP frame that reaches its receiver unchanged is not parsed again (netsim.stack.host
`_PARSED`): what the receiver takes instead must be exactly what parsing gives, a frame the
link changed must be parsed and checked as usual, and the table must not keep frames."""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import Any

from netsim.node import Node
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import chain
from netsim.sim.world import World
from netsim.stack import host
from netsim.stack.host import parsed_frame
from netsim.wire.ipv4 import PROTO_TCP, parse_ipv4
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import parse_tcp

DATA = hashlib.sha256(b"x").digest() * 20_000  # 640 kB


def transfer(config: LinkConfig, seed: int = 5) -> tuple[World, Any, dict[str, int], bytes]:
    host._PARSED.clear()  # process-wide: forget frames of worlds other tests left in flight
    world = World(seed)
    net = chain(world, routers=1, config=config)
    h1, h2 = net.hosts
    seen = {"tcp_frames": 0, "parsed": 0}

    def tap(_t: float, direction: str, frame: bytes) -> None:
        if direction != "tx" or frame[12:14] != b"\x08\x00":
            return
        ip = parse_ipv4(frame[14:])
        if ip.protocol != PROTO_TCP:
            return
        seen["tcp_frames"] += 1
        cached = parsed_frame(frame)
        if cached is not None:
            seen["parsed"] += 1
            # equal, field by field, to what a receiver parsing the bytes gets
            assert cached == (ip, parse_tcp(ip.payload, ip.src, ip.dst))
            assert [type(v) for v in cached[0]] == [type(v) for v in ip]

    for link in net.links:
        link.a.add_tap(tap)
        link.b.add_tap(tap)
    got = bytearray()

    def server() -> Generator[Any, Any, None]:
        s = yield h2.listen(7000).accept()
        while chunk := (yield s.recv(65536)):
            got.extend(chunk)
        yield s.close()

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect(h2.ip, 7000)
        yield s.sendall(DATA)
        yield s.close()

    world.env.process(server())
    world.env.process(client())
    world.run()  # to the end: TIME-WAIT over, nothing in flight
    return world, net, seen, bytes(got)


def test_receivers_take_exactly_what_parsing_gives_through_a_router() -> None:
    config = LinkConfig(delay=0.002, rate_bps=50e6, loss=Bernoulli(0.02), reorder=0.02,
                        duplicate=0.02)
    _, _, seen, got = transfer(config)
    assert got == DATA
    # nearly every TCP frame a stack or the router sent was handed over parsed; not those
    # that waited for ARP, nor what the router forwards from the second copy of a duplicate
    assert seen["tcp_frames"] > 1000
    assert seen["parsed"] >= 0.95 * seen["tcp_frames"]
    # delivered, dropped or duplicated: no frame stays in the table
    assert len(host._PARSED) == 0


def test_a_corrupted_frame_is_parsed_and_its_checksum_checked() -> None:
    config = LinkConfig(delay=0.002, rate_bps=50e6, corrupt=0.05)
    _, net, _, got = transfer(config, seed=9)
    assert got == DATA
    drops = sum(n.stack.counters.drops().get(key, 0)
                for n in net.hosts + net.routers
                for key in ("tcp.checksum", "ipv4.checksum"))
    assert drops > 10  # about 5% of ~700 frames each way, twice (two links)
    assert len(host._PARSED) == 0


def test_a_stack_on_a_port_that_copies_frames_keeps_no_parsed_forms() -> None:
    # a live TAP (or any port without same_frame_delivery) never hands the same object back
    class CopyingPort:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send(self, frame: bytes) -> None:
            self.sent.append(frame)

        def attach(self, receiver: Any) -> None:
            pass

    world = World(1)
    linked = chain(world, routers=0)
    assert all(n.stack.keep_parsed for n in linked.hosts)
    node = Node(world.env, host.Stack("tap-host"))
    node.stack.add_interface("tap0", MacAddress.local(9), "10.9.0.1/24")
    node.attach("tap0", CopyingPort(), announce=False)
    assert not node.stack.keep_parsed
