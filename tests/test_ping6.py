"""ping -6 across a dual-stack chain: replies through IPv6 routers (hop limit one less per
router), and the ICMPv6 errors routers send (RFC 4443 §3.1 no route, §3.3 hop limit) and
address resolution's give-up (RFC 4861 §7.2.2), printed as iputils prints them; `netsim ping -6`
on the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from ipaddress import IPv6Address
from subprocess import CompletedProcess

import pytest

from netsim.apps.ping6 import ping6
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.topology import chain
from netsim.sim.topology6 import enable_ipv6_chain
from netsim.sim.world import World


def run(destination: str, **kw: object) -> tuple[list[str], object]:
    world = World(1)
    net = chain(world, 2, LinkConfig(delay=0.001))
    enable_ipv6_chain(net)
    lines: list[str] = []
    proc = world.env.process(ping6(net.hosts[0], destination, out=lines.append,
                                   **kw))  # type: ignore[arg-type]
    world.env.run(until=proc)
    return lines, proc.value


def test_replies_cross_two_routers() -> None:
    lines, stats = run("2001:db8:2::2", count=3, interval=0.5)
    assert lines[0] == "PING 2001:db8:2::2 (2001:db8:2::2) 56 data bytes"
    assert lines[1].startswith("64 bytes from 2001:db8:2::2: icmp_seq=1 ttl=62 time=")
    # 3 links of 1 ms each way; the first request also waited for NS/NA on each link
    assert lines[2:4] == [f"64 bytes from 2001:db8:2::2: icmp_seq={s} ttl=62 time=6.00 ms"
                          for s in (2, 3)]
    # (time: from the first request to the last reply, 1005.99 ms, cut to whole ms)
    assert lines[-2] == "3 packets transmitted, 3 received, 0% packet loss, time 1005ms"


@pytest.mark.parametrize("destination,kw,line", [
    ("2001:db8:2::2", {"hop_limit": 2}, "From 2001:db8:1::2 icmp_seq=1 Time exceeded: Hop limit"),
    ("2001:db8:9::2", {}, "From 2001:db8::2 icmp_seq=1 Destination unreachable: No route"),
    ("2001:db8:2::99", {}, "From 2001:db8:1::2 icmp_seq=1 Destination unreachable: "
                           "Address unreachable"),
])
def test_errors_from_routers(destination: str, kw: dict[str, int], line: str) -> None:
    lines, stats = run(destination, count=1, **kw)
    assert lines[1] == line
    assert "1 packets transmitted, 0 received, +1 errors, 100% packet loss" in lines[-1]


def test_bad_arguments() -> None:
    world = World(1)
    net = chain(world, 0)
    with pytest.raises(UsageError, match="not an IPv6 address"):
        ping6(net.hosts[0], "10.0.0.2")
    with pytest.raises(UsageError, match="IPv6 is not enabled on h1"):
        ping6(net.hosts[0], "2001:db8::2")


def test_cli_ping_6(netsim_cli: Callable[..., CompletedProcess[str]]) -> None:
    proc = netsim_cli("ping", "-6", "-c", "2", "--hops", "1", "--delay", "1ms", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["destination"], out["received"], out["hops"]) == ("2001:db8:1::2", 2, 1)
    assert [r["ttl"] for r in out["replies"]] == [63, 63]


def test_a_router_answers_too_big_packets_with_packet_too_big() -> None:
    world = World(1)
    net = chain(world, 1, LinkConfig(delay=0.001))
    net.routers[0].stack.interfaces["eth1"].mtu = 1280  # the far link is narrower
    enable_ipv6_chain(net)
    lines: list[str] = []
    proc = world.env.process(ping6(net.hosts[0], "2001:db8:1::2", count=1, size=1400,
                                   out=lines.append))
    world.env.run(until=proc)
    # RFC 4443 §3.2: routers do not fragment; the error names the next-hop MTU
    assert lines[1] == "From 2001:db8::2 icmp_seq=1 Packet too big: mtu=1280"
    assert net.routers[0].stack.counters["ipv6"]["drop.too_big"] == 1


def test_a_router_does_not_forward_link_local_sources() -> None:
    from netsim.wire import icmpv6 as i6
    from netsim.wire.ipv6 import NH_ICMPV6

    world = World(1)
    net = chain(world, 1, LinkConfig(delay=0.001))
    enable_ipv6_chain(net)
    h1 = net.hosts[0]
    layer = h1.stack.ipv6
    got: list[tuple[int, int]] = []
    layer.handlers.append(lambda pkt, msg, now: got.append((msg.type, msg.code)))
    world.run(until=3.0)  # DAD done
    ll = layer.addresses("eth0")[0]
    far = IPv6Address("2001:db8:1::2")
    layer.send(far, NH_ICMPV6, i6.echo(128, 1, 1).build(ll, far), world.env.now, src=ll)
    world.run(until=4.0)
    # RFC 4291 §2.5.6, RFC 4443 §3.1: beyond the scope of the source address (code 2)
    assert got == [(i6.DEST_UNREACHABLE, i6.UNREACH_BEYOND_SCOPE)]
