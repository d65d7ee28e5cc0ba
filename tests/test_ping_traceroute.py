"""The ping and traceroute applications and their `netsim ping` / `netsim traceroute` commands.

Round-trip times are checked exactly against the sum of propagation and serialization delays
computed from the frame sizes and the link rate."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from netsim.apps.ping import PingStats, format_rtt, ping
from netsim.apps.traceroute import TracerouteResult, traceroute
from netsim.cli import main
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import chain, two_hosts
from netsim.sim.world import World
from netsim.stack.icmp import TokenBucket
from netsim.wire.pcap import read_pcap

DELAY = 0.003
RATE = 2e6
ETH, IP, ICMP, UDP = 14, 20, 8, 8
ARP_FRAME = ETH + 28


def hop_time(frame_bytes: int) -> float:
    """One link traversal of an idle link: serialization plus propagation."""
    return frame_bytes * 8 / RATE + DELAY


def run_ping(routers: int, start: float = 0.0, **kw: Any) -> tuple[PingStats, list[str]]:
    world = World(1)
    net = chain(world, routers, LinkConfig(delay=DELAY, rate_bps=RATE))
    lines: list[str] = []

    def later() -> Generator[Any, Any, PingStats]:
        yield world.env.timeout(start)
        stats = yield from ping(net.hosts[0], net.hosts[1].ip, out=lines.append, **kw)
        return stats

    proc = world.env.process(later())
    world.env.run(until=proc)
    return proc.value, lines


@pytest.mark.parametrize("routers", [1, 3])
@pytest.mark.parametrize("size", [56, 1000])
def test_ping_rtt_is_exactly_propagation_plus_serialization(routers: int, size: int) -> None:
    stats, _ = run_ping(routers, start=1.0, count=4, interval=0.5, size=size)
    links = routers + 1
    frame = ETH + IP + ICMP + size  # request and reply are the same size
    rtt = 2 * links * hop_time(frame)
    # the first request also waits, at every hop, for an ARP request and its reply (the
    # return path is resolved already: each node learned its asker)
    first = rtt + links * 2 * hop_time(ARP_FRAME)
    assert stats.received == 4
    assert stats.rtts[0] == pytest.approx(first, rel=1e-12)
    for sample in stats.rtts[1:]:
        assert sample == pytest.approx(rtt, rel=1e-12)
    assert [r.ttl for r in stats.replies] == [64 - routers] * 4


def test_ping_prints_lines_and_statistics_like_linux() -> None:
    stats, lines = run_ping(3, count=3, interval=1.0)
    assert lines[0] == "PING 10.0.3.2 (10.0.3.2) 56(84) bytes of data."
    replies = lines[1:4]
    for n, (line, rtt) in enumerate(zip(replies, stats.rtts, strict=True), start=1):
        assert line == f"64 bytes from 10.0.3.2: icmp_seq={n} ttl=61 time={format_rtt(rtt)} ms"
        assert re.fullmatch(r"64 bytes from 10\.0\.3\.2: icmp_seq=\d ttl=61 time=\d+\.\d+ ms",
                            line)
    assert lines[4] == ""
    assert lines[5] == "--- 10.0.3.2 ping statistics ---"
    elapsed_ms = int((2.0 + stats.rtts[-1]) * 1000)  # first request to the last reply
    assert lines[6] == (f"3 packets transmitted, 3 received, 0% packet loss, "
                        f"time {elapsed_ms}ms")
    lo, hi = min(stats.rtts), max(stats.rtts)
    avg = sum(stats.rtts) / 3
    mdev = math.sqrt(sum(r * r for r in stats.rtts) / 3 - avg * avg)
    assert lines[7] == (f"rtt min/avg/max/mdev = {lo * 1e3:.3f}/{avg * 1e3:.3f}/"
                        f"{hi * 1e3:.3f}/{mdev * 1e3:.3f} ms")
    assert len(lines) == 8


@pytest.mark.parametrize(("ms", "text"), [(0.1234, "0.123"), (8.2449, "8.24"), (15.86, "15.9"),
                                          (123.4, "123")])
def test_rtt_is_printed_with_three_significant_digits(ms: float, text: str) -> None:
    assert format_rtt(ms / 1000) == text


def test_lost_replies_show_in_the_summary() -> None:
    world = World(4)
    net = two_hosts(world, LinkConfig(delay=0.001, loss=Bernoulli(0.3)))
    lines: list[str] = []
    proc = world.env.process(ping(net.hosts[0], "10.0.0.2", count=40, interval=0.1,
                                  out=lines.append))
    world.env.run(until=proc)
    stats = proc.value
    assert 0 < stats.received < 40
    assert len([line for line in lines if " bytes from " in line]) == stats.received
    loss = (40 - stats.received) * 100 / 40
    assert f"40 packets transmitted, {stats.received} received, {loss:g}% packet loss" in lines[-2]


def test_ping_arguments_are_checked_before_it_starts() -> None:
    world = World(1)
    net = two_hosts(world)
    with pytest.raises(UsageError, match="count"):
        ping(net.hosts[0], "10.0.0.2", count=0)
    with pytest.raises(UsageError, match="size"):
        ping(net.hosts[0], "10.0.0.2", size=70000)
    with pytest.raises(UsageError, match="destination"):
        ping(net.hosts[0], "10.0.0.300")


def test_two_pings_on_one_host_keep_their_own_replies() -> None:
    world = World(1)
    net = chain(world, 1, LinkConfig(delay=0.001))
    h1 = net.hosts[0]
    a = world.env.process(ping(h1, "10.0.1.2", count=5, interval=0.2))
    b = world.env.process(ping(h1, "10.0.0.2", count=5, interval=0.3))
    world.env.run(until=a & b)
    assert a.value.received == 5 and b.value.received == 5
    assert {r.src for r in a.value.replies} == {net.hosts[1].ip}
    assert a.value.duplicates == b.value.duplicates == 0


def run_trace(routers: int, **kw: Any) -> tuple[TracerouteResult, list[str], Any]:
    world = World(1)
    net = chain(world, routers, LinkConfig(delay=DELAY, rate_bps=RATE))
    for r, bucket in kw.pop("limiters", {}).items():
        net.routers[r].stack.icmp_limiter = bucket
    lines: list[str] = []
    proc = world.env.process(traceroute(net.hosts[0], kw.pop("dst", net.hosts[1].ip),
                                        out=lines.append, **kw))
    world.env.run(until=proc)
    return proc.value, lines, net


def test_traceroute_lists_every_hop_and_stops_at_the_destination() -> None:
    result, lines, _ = run_trace(3)
    assert lines[0] == "traceroute to 10.0.3.2 (10.0.3.2), 30 hops max, 60 byte packets"
    assert [h.addresses for h in result.hops] == [
        [IPv4(a)] for a in ("10.0.0.2", "10.0.1.2", "10.0.2.2", "10.0.3.2")]
    assert result.reached and len(lines) == 5
    probe = ETH + 60
    error = ETH + IP + ICMP + IP + UDP  # ICMP quoting the probe's header and 8 bytes
    for hop, line in zip(result.hops, lines[1:], strict=True):
        rtt = hop.ttl * (hop_time(probe) + hop_time(error))
        # the first probe of a hop may wait for ARP; the others see idle links
        for p in hop.probes[1:]:
            assert p.rtt == pytest.approx(rtt, rel=1e-12)
        times = "".join(f"  {p.rtt * 1000:.3f} ms" for p in hop.probes if p.rtt is not None)
        assert line == f"{hop.ttl:2d}  {hop.addresses[0]}{times}"
    assert [p.port for h in result.hops for p in h.probes] == list(range(33434, 33434 + 12))


def IPv4(text: str) -> Any:
    from ipaddress import IPv4Address

    return IPv4Address(text)


def test_a_silent_router_shows_as_stars() -> None:
    result, lines, _ = run_trace(3, wait=1.0, limiters={1: TokenBucket(0.0, 0)})
    assert lines[2] == " 2  * * *"
    assert result.reached and len(result.hops) == 4


def test_traceroute_stops_at_max_hops_when_the_destination_is_further() -> None:
    result, lines, _ = run_trace(4, max_hops=2)
    assert len(result.hops) == 2 and not result.reached
    assert lines[0].endswith("2 hops max, 60 byte packets")


def test_traceroute_marks_net_unreachable_and_stops() -> None:
    result, lines, _ = run_trace(2, dst="192.0.2.1")
    assert len(result.hops) == 2 and not result.reached
    assert lines[2].startswith(" 2  10.0.0.2  ") and lines[2].count("!N") == 3


def test_traceroute_arguments_are_checked_before_it_starts() -> None:
    world = World(1)
    net = two_hosts(world)
    with pytest.raises(UsageError, match="max_hops"):
        traceroute(net.hosts[0], "10.0.0.2", max_hops=0)
    with pytest.raises(UsageError, match="wait"):
        traceroute(net.hosts[0], "10.0.0.2", wait=0)


# ---------------------------------------------------------------------------------- the CLI


def test_netsim_ping_prints_replies_and_statistics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ping", "--count", "3", "--hops", "3", "--delay", "1ms", "--rate", "10Mbit",
                 "--interval", "200ms"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "PING 10.0.3.2 (10.0.3.2) 56(84) bytes of data."
    assert len([line for line in out if line.startswith("64 bytes from 10.0.3.2: ")]) == 3
    assert "--- 10.0.3.2 ping statistics ---" in out
    assert any(line.startswith("3 packets transmitted, 3 received, 0% packet loss, time ")
               for line in out)
    # 8 link traversals of 98-byte frames at 10 Mbit/s with 1 ms each: 8.6272 ms after ARP
    assert "64 bytes from 10.0.3.2: icmp_seq=3 ttl=61 time=8.63 ms" in out


def test_netsim_ping_json_and_pcap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcap = tmp_path / "ping.pcap"
    assert main(["ping", "-c", "2", "--hops", "2", "--size", "100", "--json",
                 "--pcap", str(pcap)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["transmitted"] == 2 and summary["received"] == 2
    assert summary["hops"] == 2 and summary["loss"] == 0
    assert set(summary["rtt_ms"]) == {"min", "avg", "max", "mdev"}
    records = read_pcap(pcap)
    icmp = [r.frame for r in records if r.frame[12:14] == b"\x08\x00" and r.frame[23] == 1]
    assert len(icmp) == 4  # two requests and two replies at h1's port
    assert {len(f) for f in icmp} == {ETH + IP + ICMP + 100}


def test_netsim_ping_exits_1_when_nothing_comes_back(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ping", "-c", "2", "--loss", "1", "--interval", "10ms"]) == 1
    out = capsys.readouterr().out
    # every frame is lost, ARP included: h1 itself reports the host unreachable, as Linux does
    assert "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable" in out
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in out


def test_netsim_traceroute_prints_each_hop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traceroute", "--hops", "2", "--delay", "1ms"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "traceroute to 10.0.2.2 (10.0.2.2), 30 hops max, 60 byte packets"
    assert [line.split()[:2] for line in out[1:]] == [
        ["1", "10.0.0.2"], ["2", "10.0.1.2"], ["3", "10.0.2.2"]]
    assert all(line.count(" ms") == 3 for line in out[1:])


def test_netsim_traceroute_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traceroute", "--hops", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reached"] is True
    assert [h["probes"][0]["from"] for h in summary["hops"]] == ["10.0.0.2", "10.0.1.2"]


@pytest.mark.parametrize(("args", "flag"), [
    (["ping", "--count", "0"], "--count"),
    (["ping", "--count", "many"], "--count"),
    (["ping", "--hops", "-1"], "--hops"),
    (["ping", "--size", "70000"], "--size"),
    (["ping", "--interval", "soon"], "--interval"),
    (["ping", "--ttl", "0"], "--ttl"),
    (["ping", "--delay", "10xs"], "--delay"),
    (["ping", "--loss", "2"], "--loss"),
    (["ping", "--pcap", "/nonexistent/dir/x.pcap"], "--pcap"),
    (["traceroute", "--hops", "x"], "--hops"),
    (["traceroute", "--max-hops", "0"], "--max-hops"),
    (["traceroute", "--wait", "0"], "--wait"),
    (["traceroute", "--rate", "fast"], "--rate"),
])
def test_bad_values_are_one_line_errors_naming_the_flag(
        args: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("netsim: error: ") and flag in err[0]
    assert captured.out == ""


def test_installed_command_runs(netsim_cli: Callable[..., Any]) -> None:
    proc = netsim_cli("ping", "-c", "1", "--hops", "0")
    assert proc.returncode == 0, proc.stderr
    assert "1 packets transmitted, 1 received, 0% packet loss" in proc.stdout


def test_pinging_ourselves_loops_back_with_no_delay() -> None:
    world = World(1)
    net = two_hosts(world, LinkConfig(delay=0.01))
    proc = world.env.process(ping(net.hosts[0], "10.0.0.1", count=2, interval=0.1))
    world.env.run(until=proc)
    assert proc.value.rtts == [0.0, 0.0]
    assert net.links[0].a.stats.offered == 1  # only the gratuitous ARP went on the wire
