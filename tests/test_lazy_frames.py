"""TCP frames between simulated stacks travel as `LazyFrame` objects whose bytes are built only
when something needs them (netsim.wire.lazyframe). What a receiver takes instead of parsing must
be exactly what parsing the bytes gives; the bytes must be exactly what the eager path sends
(the same pcap); a frame the link changes must be parsed and checked as usual."""

from __future__ import annotations

import hashlib
import random
import sys
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from netsim.node import Node
from netsim.sim.link import Endpoint, LinkConfig
from netsim.sim.loss import Bernoulli, Scripted
from netsim.sim.topology import capture, chain
from netsim.sim.world import World
from netsim.wire.ethernet import ETHERTYPE_IPV4, parse_ethernet
from netsim.wire.ipv4 import PROTO_TCP, decrement_ttl, parse_ipv4
from netsim.wire.lazyframe import LazyFrame
from netsim.wire.mac import MacAddress
from netsim.wire.tcp import TCPSegment, TimestampOption, encode_options, parse_tcp

sys.path.insert(0, str(Path(__file__).parent))
from trace_helpers import start_transfer  # noqa: E402

DATA = hashlib.sha256(b"x").digest() * 20_000  # 640 kB


class SpyPort:
    """Stands between a node and its link endpoint and keeps every frame the node sends.
    `lazy=False` hides the endpoint's `attach_lazy`: the node must then send bytes."""

    def __init__(self, endpoint: Endpoint, sent: list[bytes | LazyFrame], lazy: bool) -> None:
        self.endpoint = endpoint
        self.sent = sent
        if lazy:
            self.attach_lazy = endpoint.attach_lazy

    def send(self, frame: bytes | LazyFrame) -> None:
        self.sent.append(frame)
        self.endpoint.send(frame)

    def attach(self, receiver: Any) -> None:
        self.endpoint.attach(receiver)


def transfer(config: LinkConfig, seed: int = 5, *, lazy: bool = True,
             pcap: Path | None = None) -> tuple[Any, list[bytes | LazyFrame], bytes]:
    world = World(seed)
    net = chain(world, routers=1, config=config)
    h1, h2 = net.hosts
    sent: list[bytes | LazyFrame] = []
    for node in net.hosts + net.routers:
        for name, port in list(node.ports.items()):
            assert isinstance(port, Endpoint)
            node.attach(name, SpyPort(port, sent, lazy), announce=False)
    got = start_transfer(world, h1, h2, DATA)
    if pcap is not None:
        with capture(net.links[1].a, pcap):  # what the router sends on, and the ACKs
            world.run()
    else:
        world.run()  # to the end: TIME-WAIT over, nothing in flight
    return net, sent, bytes(got)


def test_a_lazy_frame_is_exactly_what_parsing_its_bytes_gives_through_a_router() -> None:
    config = LinkConfig(delay=0.002, rate_bps=50e6, loss=Bernoulli(0.02), reorder=0.02,
                        duplicate=0.02)
    _, sent, got = transfer(config)
    assert got == DATA
    lazy = [f for f in sent if isinstance(f, LazyFrame)]
    # nearly every TCP frame goes lazily (not those that waited for ARP, nor what the router
    # forwards from a copy it had to parse)
    assert len(lazy) > 1000
    tcp_bytes = [f for f in sent if isinstance(f, bytes) and f[12:14] == b"\x08\x00"
                 and f[23] == PROTO_TCP]
    assert len(tcp_bytes) < 0.05 * len(lazy)
    forwarded = 0
    for frame in lazy:
        raw = frame.raw()
        assert len(raw) == len(frame)
        eth = parse_ethernet(raw)
        assert (eth.dst, eth.src, eth.ethertype) == (frame.dst_mac, frame.src_mac,
                                                     ETHERTYPE_IPV4)
        ip = parse_ipv4(eth.payload)  # checks the header checksum
        assert (ip.src, ip.dst, ip.ttl, ip.identification, ip.df, ip.protocol) == \
            (frame.ip_src, frame.ip_dst, frame.ttl, frame.ident, True, PROTO_TCP)
        seg = parse_tcp(ip.payload, ip.src, ip.dst)  # checks the TCP checksum
        # field by field (types too) what the receiver takes, but the checksum nobody computed
        assert frame.seg.checksum == 0
        assert seg == frame.seg._replace(checksum=seg.checksum)
        assert [type(v) for v in seg] == [type(v) for v in frame.seg]
        assert encode_options(seg.options) == frame.opts
        forwarded += frame.ttl == 63
    assert forwarded > 400  # the router passed frames on as they came


def test_the_bytes_are_those_the_eager_path_sends_same_pcap(tmp_path: Path) -> None:
    config = LinkConfig(delay=0.002, rate_bps=50e6, loss=Bernoulli(0.02))
    _, sent_lazy, got = transfer(config, pcap=tmp_path / "lazy.pcap")
    _, sent_eager, got_eager = transfer(config, lazy=False, pcap=tmp_path / "eager.pcap")
    assert got == got_eager == DATA
    assert all(isinstance(f, bytes) for f in sent_eager)  # a port without attach_lazy
    assert any(isinstance(f, LazyFrame) for f in sent_lazy)
    assert [bytes(f) if isinstance(f, bytes) else f.raw() for f in sent_lazy] == sent_eager
    lazy_pcap = (tmp_path / "lazy.pcap").read_bytes()
    assert len(lazy_pcap) > len(DATA)  # every data segment the router forwarded
    assert lazy_pcap == (tmp_path / "eager.pcap").read_bytes()


def test_a_corrupted_frame_is_parsed_and_its_checksum_checked() -> None:
    config = LinkConfig(delay=0.002, rate_bps=50e6, corrupt=0.05)
    net, _, got = transfer(config, seed=9)
    assert got == DATA
    drops = sum(n.stack.counters.drops().get(key, 0)
                for n in net.hosts + net.routers
                for key in ("tcp.checksum", "ipv4.checksum"))
    assert drops > 10  # about 5% of ~700 frames each way, twice (two links)


def test_a_loss_predicate_sees_the_bytes_of_a_lazy_frame() -> None:
    seen: list[int] = []

    def third_data_segment(frame: bytes) -> bool:
        if frame[12:14] != b"\x08\x00":
            return False  # ARP
        ip = parse_ipv4(frame[14:])
        if ip.protocol != PROTO_TCP:
            return False
        seg = parse_tcp(ip.payload, ip.src, ip.dst)
        if seg.payload:
            seen.append(seg.seq)
        return len(seen) == 3 and bool(seg.payload)

    config = LinkConfig(delay=0.002, rate_bps=50e6, loss=Scripted(predicate=third_data_segment))
    net, _, got = transfer(config)
    assert got == DATA
    assert len(seen) > 400
    assert sum(link.a.stats.dropped["loss"] for link in net.links) >= 1


def test_a_router_forwarding_a_lazy_frame_sends_the_bytes_it_would_forward() -> None:
    # RFC 1812 §5.3.1 TTL decrement: the checksum computed afresh for the forwarded LazyFrame
    # equals the incremental update (RFC 1624) a router makes to the bytes
    rng = random.Random(3)
    m1, m2, m3 = (MacAddress.local(i) for i in (1, 2, 3))
    for _ in range(3000):
        src = IPv4Address(rng.getrandbits(32))
        dst = IPv4Address(rng.getrandbits(32))
        seg = TCPSegment(rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(32),
                         rng.getrandbits(32), 0x10, rng.getrandbits(16),
                         rng.randbytes(rng.randrange(0, 40)),
                         (TimestampOption(rng.getrandbits(32), rng.getrandbits(32)),))
        frame = LazyFrame(m2, m1, src, dst, rng.randrange(2, 256), rng.getrandbits(16),
                          seg._replace(data_offset=8), encode_options(seg.options))
        raw = frame.raw()
        on = frame.forwarded(m3, m2).raw()
        assert on[:12] == bytes(m3) + bytes(m2)
        assert on[14:] == decrement_ttl(raw[14:], len(raw) - 14)


def test_a_stack_on_a_port_without_attach_lazy_sends_bytes() -> None:
    # a live TAP (or any port without attach_lazy) gets bytes, which it can write out
    class CopyingPort:
        def __init__(self) -> None:
            self.sent: list[bytes | LazyFrame] = []

        def send(self, frame: bytes | LazyFrame) -> None:
            self.sent.append(frame)

        def attach(self, receiver: Any) -> None:
            pass

    world = World(1)
    node = Node(world.env, __import__("netsim.stack.host").stack.host.Stack("tap-host"))
    node.stack.add_interface("tap0", MacAddress.local(9), "10.9.0.1/24")
    port = CopyingPort()
    node.attach("tap0", port, announce=False)
    assert not node.stack.interfaces["tap0"].lazy_frames
    node.stack.interfaces["tap0"].arp.update(IPv4Address("10.9.0.2"), MacAddress.local(8), 0.0)
    node.connect("10.9.0.2", 80)
    world.env.run(until=0.5)
    assert port.sent and all(isinstance(f, bytes) for f in port.sent)
    syn = parse_tcp(parse_ipv4(port.sent[0][14:]).payload)  # type: ignore[index]
    assert syn.flags & 0x02
