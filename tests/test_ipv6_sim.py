"""IPv6 in simulation: two dual-stack hosts on one link find each other with neighbour
discovery and ping each other's link-local and global addresses; the capture opens cleanly in
tshark; IPv4 on the same hosts is unaffected."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from netsim.node import Node
from netsim.sim.link import LinkConfig
from netsim.sim.topology import capture, two_hosts
from netsim.sim.world import World
from netsim.stack.ndcache import NState
from netsim.wire import icmpv6 as i6
from netsim.wire.ipv6 import NH_ICMPV6, IPv6Packet, link_local

G1, G2 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")


def dual_stack(world: World) -> tuple[Node, Node]:
    net = two_hosts(world, LinkConfig(delay=0.005))
    h1, h2 = net.hosts
    h1.stack.ipv6.enable("eth0", ("2001:db8::1/64",))
    h2.stack.ipv6.enable("eth0", ("2001:db8::2/64",))
    return h1, h2


def ping6(node: Node, dst: IPv6Address, at: float, seq: int, got: list[tuple[int, float]]
          ) -> None:
    """Send one echo request at `at`; record (sequence, RTT) of the reply."""
    layer = node.stack.ipv6

    def on_reply(pkt: IPv6Packet, msg: i6.ICMPv6Message, now: float) -> None:
        if msg.type == i6.ECHO_REPLY and pkt.src == dst and msg.sequence == seq:
            got.append((seq, now - at))

    def fire(_ev: object) -> None:
        layer.handlers.append(on_reply)
        msg = i6.echo(i6.ECHO_REQUEST, 0x4E53, seq, b"netsim ping -6")
        src = layer.ifaces["eth0"].preferred(dst)
        assert src is not None
        layer.send(dst, NH_ICMPV6, msg.build(src, dst), node.env.now, src=src)

    node.env.timeout(at - node.env.now).callbacks.append(fire)


def test_two_hosts_ping_over_ipv6_and_the_pcap_is_clean(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    world = World(seed=1)
    h1, h2 = dual_stack(world)
    l1, l2 = link_local(h1.stack.interfaces["eth0"].mac), link_local(
        h2.stack.interfaces["eth0"].mac)
    got: list[tuple[int, float]] = []
    path = tmp_path / "v6.pcap"
    with capture(h1.ports["eth0"], path):  # type: ignore[arg-type]
        # DAD takes up to 1 s of random delay plus RetransTimer (1 s): ping after it
        ping6(h1, G2, 3.0, 1, got)
        ping6(h2, l1, 3.5, 2, got)
        ping6(h1, l2, 4.0, 3, got)
        ping6(h1, G2, 4.5, 4, got)
        world.run(until=6.0)
    assert [s for s, _ in got] == [1, 2, 3, 4]
    # 5 ms each way; the first two pings waited for address resolution (NS, NA: one more
    # round trip); the third found h1's cache ready, learnt STALE from h2's solicitation
    # (RFC 4861 §7.2.3), and the fourth the entry confirmed by the first
    assert [round(rtt, 4) for _, rtt in got] == [0.02, 0.02, 0.01, 0.01]
    assert h1.stack.ipv6.addresses("eth0") == [l1, G1]
    assert h1.stack.ipv6.ifaces["eth0"].cache.state(G2) is NState.REACHABLE
    assert h2.stack.counters["icmp6"]["tx_echo_reply"] == 3
    assert not {k: v for k, v in h1.stack.counters.drops().items() if "ipv6" in k}
    tshark = require_tool("tshark")
    proc = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "frame.protocols",
         "-e", "_ws.expert.message", "-e", "_ws.malformed", "-e", "icmpv6.checksum.status",
         "-e", "icmpv6.type"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [(line.split("\t") + [""] * 5)[:5] for line in proc.stdout.splitlines()]
    types = {int(r[4]) for r in rows if r[4]}
    assert {128, 129, 135, 136} <= types  # echo request and reply, NS and NA
    for protocols, expert, malformed, ck, _ in rows:
        assert "malformed" not in protocols.lower() and not malformed
        assert "malformed" not in expert.lower() and "bad" not in expert.lower(), expert
        if "icmpv6" in protocols:
            assert ck == "1"  # good


def test_ipv4_still_works_beside_ipv6() -> None:
    world = World(seed=2)
    h1, h2 = dual_stack(world)
    from netsim.apps.ping import ping  # the IPv4 ping app, unchanged

    proc = world.env.process(ping(h1, "10.0.0.2", count=2, interval=0.5))
    world.run(until=5.0)
    assert proc.value.received == 2


def test_udp_over_ipv6_both_ways_and_port_unreachable() -> None:
    world = World(seed=3)
    h1, h2 = dual_stack(world)
    got: list[tuple[bytes, object, int]] = []
    errors: list[tuple[int, int]] = []
    server = h2.stack.udp.bind(5353, lambda data, ip, port, now: got.append((data, ip, port)))
    client = h1.stack.udp.bind(4000, lambda data, ip, port, now: got.append((data, ip, port)),
                               lambda type_, code, ip, now: errors.append((type_, code)))

    def fire(_ev: object) -> None:
        client.sendto(b"over ipv6", ("2001:db8::2", 5353), world.env.now)
        client.sendto(b"nobody", ("2001:db8::2", 9), world.env.now)
        client.sendto(b"and ipv4", ("10.0.0.2", 5353), world.env.now)

    world.env.timeout(3.0).callbacks.append(fire)

    def answer(_ev: object) -> None:
        server.sendto(b"reply", (G1, 4000), world.env.now)

    world.env.timeout(3.5).callbacks.append(answer)
    world.run(until=5.0)
    assert (b"over ipv6", G1, 4000) in got and (b"reply", G2, 5353) in got
    assert (b"and ipv4", IPv4Address("10.0.0.1"), 4000) in got
    assert errors == [(i6.DEST_UNREACHABLE, i6.UNREACH_PORT)]  # RFC 4443 §3.1, code 4
