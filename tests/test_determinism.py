"""Reproducibility and independent checking of simulated captures: the same seed gives a
byte-identical pcap (lossy ping and lossy TCP runs), another seed another one; and tshark reads
our captures with no malformed packet and no bad checksum."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from netsim.apps.ping import ping
from netsim.apps.traceroute import traceroute
from netsim.cli import main
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli
from netsim.sim.topology import capture, chain, two_hosts
from netsim.sim.world import World
from netsim.wire.pcap import read_pcap


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ping_pcap(tmp_path: Path, seed: int, name: str,
              capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / name
    main(["ping", "-c", "30", "-i", "50ms", "--hops", "2", "--loss", "0.15", "--jitter", "2ms",
          "--duplicate", "0.05", "--reorder", "0.05", "--seed", str(seed), "--pcap", str(path)])
    capsys.readouterr()
    return path


def test_same_seed_same_ping_capture_byte_for_byte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = ping_pcap(tmp_path, 7, "a.pcap", capsys)
    b = ping_pcap(tmp_path, 7, "b.pcap", capsys)
    c = ping_pcap(tmp_path, 8, "c.pcap", capsys)
    assert a.read_bytes() == b.read_bytes()
    assert digest(a) != digest(c)
    assert len(read_pcap(a)) > 30  # requests, replies, ARP: something to compare


def tcp_pcap(path: Path, seed: int) -> tuple[Path, int]:
    """A 200 kB transfer over a link losing 3% of frames, captured at the sender."""
    world = World(seed)
    net = two_hosts(world, LinkConfig(delay=0.005, rate_bps=20e6, loss=Bernoulli(0.03)))
    h1, h2 = net.hosts
    data = bytes(i % 251 for i in range(200_000))

    def server() -> Generator[Any, Any, None]:
        lst = h2.listen(9000)
        s = yield lst.accept()
        while (yield s.recv(65536)):
            pass
        yield s.close()

    def client() -> Generator[Any, Any, None]:
        s = yield h1.connect("10.0.0.2", 9000)
        yield s.sendall(data)
        yield s.close()

    world.env.process(server())
    world.env.process(client())
    with capture(net.links[0].a, path):
        world.run(30)
    return path, net.links[0].a.stats.dropped["loss"] + net.links[0].b.stats.dropped["loss"]


def test_same_seed_same_tcp_capture_byte_for_byte(tmp_path: Path) -> None:
    a, lost = tcp_pcap(tmp_path / "a.pcap", 3)
    b, _ = tcp_pcap(tmp_path / "b.pcap", 3)
    c, _ = tcp_pcap(tmp_path / "c.pcap", 4)
    assert lost > 0  # the run really was lossy
    assert sum(1 for r in read_pcap(a) if r.frame[23:24] == b"\x06") > 100
    assert a.read_bytes() == b.read_bytes()
    assert digest(a) != digest(c)


def mixed_pcap(path: Path) -> Path:
    """ARP, ping (with fragments and an ICMP error), traceroute (UDP, time exceeded, port
    unreachable), UDP, all at h1's port."""
    world = World(2)
    net = chain(world, 2, LinkConfig(delay=0.001, rate_bps=10e6))
    h1, h2 = net.hosts

    def scenario() -> Generator[Any, Any, None]:
        yield from ping(h1, h2.ip, count=2, interval=0.1)
        yield from ping(h1, h2.ip, count=2, interval=0.1, size=4000)  # fragmented
        yield from ping(h1, h2.ip, count=1, ttl=1)  # time exceeded
        yield from traceroute(h1, h2.ip, wait=0.5)
        sock = h1.udp()
        sock.sendto(b"odd" * 333, (h2.ip, 7))  # port unreachable

    with capture(net.links[0].a, path):
        world.env.run(until=world.env.process(scenario()))
        world.run(world.now + 1)
    return path


def tshark_rows(tshark: str, path: Path) -> list[list[str]]:
    fields = ["frame.protocols", "_ws.expert.message", "_ws.malformed", "ip.checksum.status",
              "icmp.checksum.status", "udp.checksum.status", "tcp.checksum.status"]
    proc = subprocess.run(
        [tshark, "-r", str(path), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-o", "tcp.check_checksum:TRUE", "-T", "fields",
         *[arg for f in fields for arg in ("-e", f)]],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return [(line.split("\t") + [""] * len(fields))[:len(fields)]
            for line in proc.stdout.splitlines()]


def check_clean(rows: list[list[str]]) -> None:
    good = "1"  # Wireshark checksum status: 0 bad, 1 good, 2 unverified
    for n, row in enumerate(rows, start=1):
        protocols, expert, malformed, *status = row
        where = f"frame {n}: {row}"
        assert "malformed" not in protocols.lower() and not malformed, where
        assert "malformed" not in expert.lower() and "bad checksum" not in expert.lower(), where
        for value in status:
            # an ICMP error quotes a header: tshark checks the inner one too (comma-separated)
            assert all(v in ("", good, "2") for v in value.split(",")), where
        if protocols.startswith("eth:ethertype:ip"):
            assert status[0].split(",")[0] == good, where


def test_tshark_finds_our_ping_traceroute_and_udp_capture_clean(
        tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    rows = tshark_rows(tshark, mixed_pcap(tmp_path / "mixed.pcap"))
    check_clean(rows)
    protocols = {row[0] for row in rows}
    assert "eth:ethertype:arp" in protocols
    assert "eth:ethertype:ip:icmp:data" in protocols
    assert any(p.startswith("eth:ethertype:ip:udp") for p in protocols)
    assert any(p.startswith("eth:ethertype:ip:icmp:ip:udp") for p in protocols)  # errors
    assert any(row[3] == "1" and row[4] == "1" for row in rows)  # ICMP checksums verified
    assert len([r for r in rows if r[5] == "1"]) >= 3  # UDP checksums verified


def test_tshark_finds_our_tcp_capture_clean(tmp_path: Path,
                                            require_tool: Callable[[str], str]) -> None:
    tshark = require_tool("tshark")
    path, _ = tcp_pcap(tmp_path / "tcp.pcap", 5)
    rows = tshark_rows(tshark, path)
    check_clean(rows)
    assert sum(1 for r in rows if r[6] == "1") > 100  # TCP checksums verified good
