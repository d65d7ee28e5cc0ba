"""traceroute -6 across a dual-stack chain: one line per router from its ICMPv6 time exceeded
(RFC 4443 §3.3), the end at the destination's port unreachable (§3.1), Linux's marks for the
other unreachables, silent routers as stars, and `netsim traceroute -6` on the command line;
the capture's probes and answers decode in tshark."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from netsim.apps.traceroute import TracerouteResult
from netsim.apps.traceroute6 import traceroute6
from netsim.cli import main
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.topology import capture, chain
from netsim.sim.topology6 import enable_ipv6_chain
from netsim.sim.world import World
from netsim.stack.icmp import TokenBucket

DELAY = 0.003
RATE = 2e6
ETH, IP6, ICMP6, UDP = 14, 40, 8, 8


def hop_time(frame_bytes: int) -> float:
    """One traversal of an idle link: serialization plus propagation."""
    return frame_bytes * 8 / RATE + DELAY


def run_trace(routers: int, *, pcap: Path | None = None, silent: tuple[int, ...] = (),
              **kw: Any) -> tuple[TracerouteResult, list[str]]:
    world = World(1)
    net = chain(world, routers, LinkConfig(delay=DELAY, rate_bps=RATE))
    enable_ipv6_chain(net, dad=False)
    for r in silent:  # a router that never sends ICMPv6 errors
        net.routers[r].stack.ipv6.limiter = TokenBucket(0.0, 0)
    lines: list[str] = []
    dst = kw.pop("dst", f"2001:db8:{routers:x}::2")
    proc = world.env.process(traceroute6(net.hosts[0], dst, out=lines.append, **kw))
    if pcap is None:
        world.env.run(until=proc)
    else:
        with capture(net.links[0].a, pcap):
            world.env.run(until=proc)
    return proc.value, lines


def test_every_router_answers_with_its_address_and_the_trace_ends_at_the_destination(
        ) -> None:
    result, lines = run_trace(3)
    assert lines[0] == ("traceroute to 2001:db8:3::2 (2001:db8:3::2), 30 hops max, "
                        "80 byte packets")
    assert [h.addresses for h in result.hops] == [
        [IPv6Address(a)] for a in ("2001:db8::2", "2001:db8:1::2", "2001:db8:2::2",
                                   "2001:db8:3::2")]
    assert result.reached and len(lines) == 5
    probe = ETH + 80
    error = ETH + IP6 + ICMP6 + 80  # the whole probe quoted (RFC 4443 §3.3: as much as fits)
    for hop, line in zip(result.hops, lines[1:], strict=True):
        # the first probe of a hop may wait for neighbour discovery; the others see idle links
        for p in hop.probes[1:]:
            assert p.rtt == pytest.approx(hop.ttl * (hop_time(probe) + hop_time(error)),
                                          rel=1e-12)
        times = "".join(f"  {p.rtt * 1000:.3f} ms" for p in hop.probes if p.rtt is not None)
        assert line == f"{hop.ttl:2d}  {hop.addresses[0]}{times}"
        assert all(p.mark == "" for p in hop.probes)
    assert [p.port for h in result.hops for p in h.probes] == list(range(33434, 33434 + 12))


def test_a_silent_router_shows_as_stars_and_the_trace_goes_on() -> None:
    result, lines = run_trace(3, silent=(1,), wait=1.0)
    assert lines[2] == " 2  * * *"
    assert result.reached and len(result.hops) == 4


def test_no_route_is_marked_n_and_ends_the_trace() -> None:
    # r2 has no route to 2001:db8:99::/64 and answers no route (RFC 4443 §3.1 code 0)
    result, lines = run_trace(2, dst="2001:db8:99::1")
    assert not result.reached
    last = result.hops[-1]
    assert all(p.mark == "!N" and p.final for p in last.probes)
    assert lines[-1].count("!N") == 3


def test_max_hops_stops_a_trace_short_of_the_destination() -> None:
    result, lines = run_trace(4, max_hops=2)
    assert len(result.hops) == 2 and not result.reached
    assert lines[0].endswith("2 hops max, 80 byte packets")


@pytest.mark.parametrize(("kw", "word"), [
    ({"destination": "10.0.0.2"}, "not an IPv6 address"),
    ({"destination": "ff02::1"}, "not a unicast address"),
    ({"destination": "2001:db8::2", "max_hops": 0}, "max_hops"),
    ({"destination": "2001:db8::2", "packet_size": 47}, "packet_size"),
    ({"destination": "2001:db8::2", "wait": 0}, "wait"),
])
def test_arguments_are_checked_before_it_starts(kw: dict[str, Any], word: str) -> None:
    world = World(1)
    net = chain(world, 1, LinkConfig())
    with pytest.raises(UsageError, match=word):
        traceroute6(net.hosts[0], **kw)


def test_netsim_traceroute_6_prints_each_hop_and_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traceroute", "-6", "--hops", "2", "--delay", "1ms"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("traceroute to 2001:db8:2::2 (2001:db8:2::2), 30 hops max, "
                      "80 byte packets")
    assert [line.split()[:2] for line in out[1:]] == [
        ["1", "2001:db8::2"], ["2", "2001:db8:1::2"], ["3", "2001:db8:2::2"]]
    assert all(line.count(" ms") == 3 for line in out[1:])
    assert main(["traceroute", "-6", "--hops", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reached"] is True
    assert [h["probes"][0]["from"] for h in summary["hops"]] == ["2001:db8::2",
                                                                 "2001:db8:1::2"]


def test_netsim_traceroute_6_refuses_an_mtu_ipv6_cannot_use(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traceroute", "-6", "--mtu", "1000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--mtu: 1000 is below IPv6's minimum link MTU" in err


def test_the_capture_decodes_in_tshark(tmp_path: Path,
                                       require_tool: Callable[[str], str]) -> None:
    path = tmp_path / "trace6.pcap"
    result, _ = run_trace(2, pcap=path)
    assert result.reached
    tshark = require_tool("tshark")
    proc = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "frame.protocols",
         "-e", "_ws.expert.message", "-e", "_ws.malformed", "-e", "icmpv6.type",
         "-e", "icmpv6.code", "-e", "ipv6.hlim"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [(line.split("\t") + [""] * 6)[:6] for line in proc.stdout.splitlines()]
    for protocols, expert, malformed, *_ in rows:
        assert "malformed" not in protocols.lower() and not malformed
        assert "malformed" not in expert.lower() and "bad" not in expert.lower(), expert
    answers = {(r[3].split(",")[0], r[4].split(",")[0]) for r in rows if r[3]}
    assert ("3", "0") in answers  # time exceeded in transit
    assert ("1", "4") in answers  # port unreachable from h2
    # probes leave h1 with hop limits 1, 2, 3 (the first of each field: the outer header)
    probes = [r[5].split(",")[0] for r in rows if "udp" in r[0] and "icmpv6" not in r[0]]
    assert sorted(set(probes)) == ["1", "2", "3"]
