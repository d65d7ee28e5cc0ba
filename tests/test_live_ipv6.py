"""Live IPv6: netsim on a TAP in a namespace this test creates answers the Linux kernel's
ICMPv6 echo (what ``ping -6`` sends) to its link-local address and to a configured global
address. The kernel resolves netsim with neighbour discovery; tshark checks every frame."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv6Address
from pathlib import Path

import pytest
from live_helpers import (
    REPO,
    Netns,
    capture,
    netns,
    running_netsim,
    start_netsim,
    tshark_fields,
    tshark_problems,
)

from netsim.wire.ipv6 import link_local
from netsim.wire.mac import MacAddress

live = pytest.mark.live
NODE = Path(__file__).resolve().parent / "ipv6_live_node.py"
NETSIM_MAC = MacAddress("02:00:0a:00:00:02")  # netsim live's default for 10.0.0.2
KERNEL_G, NETSIM_G = "2001:db8:0:1::1", "2001:db8:0:1::2"


@pytest.fixture
def ns(require_tool: Callable[[str], str]) -> Iterator[Netns]:
    require_tool("tshark")
    require_tool("tcpdump")
    with netns() as created:
        yield created


def _wait_kernel_addresses(ns: Netns, timeout: float = 10.0) -> None:
    """Until the kernel's own addresses on the TAP have finished DAD."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = ns.run("ip", "-6", "addr", "show", "dev", ns.tap).stdout.decode()
        if "inet6 fe80" in out and "tentative" not in out:
            return
        time.sleep(0.1)
    raise AssertionError(f"the kernel's IPv6 addresses stayed tentative: {out}")


@live
def test_kernel_ping6_to_link_local_and_global(ns: Netns, tmp_path: Path) -> None:
    ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0")
    ns.run("sysctl", "-qw", f"net.ipv6.conf.{ns.tap}.disable_ipv6=0")
    ns.run("ip", "-6", "addr", "add", f"{KERNEL_G}/64", "dev", ns.tap)
    pcap = tmp_path / "ping6.pcap"
    proc = ns.popen(sys.executable, str(NODE), "node", ns.tap, "10.0.0.2/24",
                    f"{NETSIM_G}/64", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    cwd=str(REPO))
    try:
        with capture(ns, pcap):
            assert proc.stdout is not None
            ready = proc.stdout.readline().decode()
            if not ready.startswith("ipv6 ready"):
                proc.kill()
                raise AssertionError(f"netsim did not get ready: {ready}{proc.communicate()}")
            lla = str(link_local(NETSIM_MAC))
            assert ready.split()[2:] == [lla, NETSIM_G]
            _wait_kernel_addresses(ns)
            via_ll = ns.run(sys.executable, str(NODE), "ping6", lla, "10", ns.tap,
                            timeout=60).stdout.decode().split()
            via_global = ns.run(sys.executable, str(NODE), "ping6", NETSIM_G, "10",
                                timeout=60).stdout.decode().split()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert len(via_ll) == 10, f"replies from {lla}: {via_ll}"
    assert len(via_global) == 10, f"replies from {NETSIM_G}: {via_global}"
    counters = json.loads(out.decode().strip().splitlines()[-1])
    assert counters["icmp6.tx_echo_reply"] == 20
    assert counters["icmp6.tx_na"] >= 2  # netsim answered the kernel's solicitations
    replies = tshark_fields(pcap, "icmpv6.type == 129", "ipv6.src", "icmpv6.checksum.status")
    assert sorted({r[0] for r in replies}) == sorted({lla, NETSIM_G})
    assert len(replies) == 20 and all(r[1] == "1" for r in replies), replies
    na = tshark_fields(pcap, f"icmpv6.type == 136 && eth.src == {NETSIM_MAC}",
                       "icmpv6.nd.na.target_address", "icmpv6.opt.linkaddr")
    assert {r[0] for r in na} >= {lla, NETSIM_G} and {r[1] for r in na} == {str(NETSIM_MAC)}
    assert tshark_problems(pcap, "ipv6") == [], err.decode()
    print("RTT ms link-local:", " ".join(via_ll), "\nRTT ms global:", " ".join(via_global))


@live
def test_the_kernel_configures_itself_from_netsim_s_router_advertisements(
        ns: Netns, tmp_path: Path) -> None:
    """netsim as a router (RFC 4861 §6.2) advertises 2001:db8:5::/64 on the TAP: the Linux
    kernel (a host: forwarding off, accept_ra on) forms its SLAAC address in that prefix
    (RFC 4862 §5.5.3) and makes netsim's link-local address its default router."""
    for knob in ("all.disable_ipv6=0", f"{ns.tap}.disable_ipv6=0", f"{ns.tap}.forwarding=0",
                 f"{ns.tap}.accept_ra=1", f"{ns.tap}.autoconf=1"):
        ns.run("sysctl", "-qw", f"net.ipv6.conf.{knob}")
    pcap = tmp_path / "ra.pcap"
    proc = ns.popen(sys.executable, str(NODE), "router", ns.tap, "10.0.0.2/24",
                    "2001:db8:5::/64", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    cwd=str(REPO))
    lla = str(link_local(NETSIM_MAC))
    try:
        with capture(ns, pcap):
            assert proc.stdout is not None
            ready = proc.stdout.readline().decode()
            if not ready.startswith("ipv6 ready"):
                proc.kill()
                raise AssertionError(f"netsim did not get ready: {ready}{proc.communicate()}")
            deadline = time.monotonic() + 30
            addr = route = ""
            while time.monotonic() < deadline:
                addr = ns.run("ip", "-6", "addr", "show", "dev", ns.tap).stdout.decode()
                route = ns.run("ip", "-6", "route", "show", "default").stdout.decode()
                if re.search(r"inet6 2001:db8:5:0:\S+/64 scope global dynamic", addr) \
                        and "tentative" not in addr.split("2001:db8:5:")[1].split("\n")[0] \
                        and lla in route:
                    break
                time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert re.search(r"inet6 2001:db8:5:0:\S+/64 scope global dynamic", addr), addr
    assert f"default via {lla} dev {ns.tap}" in route, route
    counters = json.loads(out.decode().strip().splitlines()[-1])
    assert counters["icmp6.tx_ra"] >= 1
    ras = tshark_fields(pcap, f"icmpv6.type == 134 && eth.src == {NETSIM_MAC}", "ipv6.src",
                        "ipv6.hlim", "icmpv6.opt.prefix", "icmpv6.nd.ra.router_lifetime",
                        "icmpv6.checksum.status")
    assert ras and all(r == [lla, "255", "2001:db8:5::", "12", "1"] for r in ras), ras
    assert tshark_problems(pcap, "icmpv6") == [], err.decode()


KERNEL_ULA, NETSIM_ULA = "fd00::1", "fd00::2"  # a unique local prefix, inside the namespace


@live
def test_nc6_and_netsim_tcp_over_ipv6_both_directions_byte_exact(
        ns: Netns, tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    """Linux `nc -6` talks to netsim's TCP echo server over IPv6, and netsim connects to
    `nc -6 -l`: the bytes arrive exactly, the kernel resolved netsim with neighbour discovery,
    and tshark checks every TCP checksum over the IPv6 pseudo-header."""
    require_tool("nc")
    ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0")
    ns.run("sysctl", "-qw", f"net.ipv6.conf.{ns.tap}.disable_ipv6=0")
    ns.run("ip", "-6", "addr", "add", f"{KERNEL_ULA}/64", "dev", ns.tap, "nodad")
    to_netsim = tmp_path / "to_netsim.bin"
    to_netsim.write_bytes(os.urandom(300_000))
    to_linux = tmp_path / "to_linux.bin"
    to_linux.write_bytes(os.urandom(200_000))
    echoed, received = tmp_path / "echoed.bin", tmp_path / "received.bin"
    pcap = tmp_path / "tcp6.pcap"
    proc: subprocess.Popen[bytes] | None = None
    with received.open("wb") as sink, capture(ns, pcap):
        listener = ns.popen("nc", "-6", "-l", KERNEL_ULA, "9001", stdout=sink,
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ns.wait_listening(9001)
            proc = ns.popen(sys.executable, str(NODE), "tcp", ns.tap, "10.0.0.2/24",
                            f"{NETSIM_ULA}/64", "7", KERNEL_ULA, "9001", str(to_linux),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO))
            assert proc.stdout is not None
            ready = proc.stdout.readline().decode()
            assert ready.startswith("ipv6 ready") and NETSIM_ULA in ready.split(), \
                f"netsim did not get ready: {ready}"
            with to_netsim.open("rb") as src, echoed.open("wb") as dst:
                nc = subprocess.run(["ip", "netns", "exec", ns.name, "nc", "-6", "-N",
                                     NETSIM_ULA, "7"], stdin=src, stdout=dst,
                                    stderr=subprocess.PIPE, timeout=60, check=False)
            assert nc.returncode == 0, nc.stderr.decode(errors="replace")
            assert listener.wait(timeout=30) == 0
            sent = proc.stdout.readline().decode().split()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            for p in (listener, proc):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait(timeout=10)
    assert echoed.read_bytes() == to_netsim.read_bytes()
    assert received.read_bytes() == to_linux.read_bytes()
    assert sent == ["sent", "200000", NETSIM_ULA]
    counters = json.loads(out.decode().strip().splitlines()[-1])
    assert counters.get("tcp.drop.checksum", 0) == 0
    # netsim resolved the kernel's address (or answered its solicitation): neighbour discovery
    assert counters.get("icmp6.tx_ns", 0) + counters.get("icmp6.tx_na", 0) >= 1
    rows = tshark_fields(pcap, "tcp", "ipv6.src", "tcp.checksum.status", "tcp.options.mss_val")
    assert {r[0] for r in rows} == {KERNEL_ULA, NETSIM_ULA}
    # every checksum netsim computed is good (1); the kernel's, with checksum offload on
    # (netsim.live.offload), are filled in after the capture point: netsim checked or
    # completed them (no checksum drop above), and tshark_problems leaves them out
    assert {r[1] for r in rows if r[0] == NETSIM_ULA} == {"1"}
    # netsim's SYNs announce its TAP's MTU less 60 (RFC 8200 §8.3)
    assert {r[2] for r in rows if r[0] == NETSIM_ULA and r[2]} == {"1440"}
    assert tshark_problems(pcap, "ipv6", kernel_side=True) == [], err.decode()


@live
def test_cli_live_dash_6_echo_server_and_send_talk_to_nc6(
        ns: Netns, tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    """`netsim live echo-server -6` answers Linux `nc -6`, and `netsim live send -6 --connect
    [fd00::1]:9001` delivers to `nc -6 -l` what its SHA-256 says."""
    require_tool("nc")
    ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0")
    ns.run("sysctl", "-qw", f"net.ipv6.conf.{ns.tap}.disable_ipv6=0")
    ns.run("ip", "-6", "addr", "add", f"{KERNEL_ULA}/64", "dev", ns.tap, "nodad")
    data = os.urandom(100_000)
    with running_netsim(ns, "echo-server", "-6", "--ip6", f"{NETSIM_ULA}/64", "--count", "1",
                        "--port", "8080") as sim:
        assert f"[{NETSIM_ULA}]:8080" in sim.wait_for("echo server listening").string
        echoed = ns.run("nc", "-6", "-N", NETSIM_ULA, "8080", input=data, timeout=60).stdout
        assert sim.wait(timeout=30) == 0, sim.stderr
    assert echoed == data
    assert "1 connections, 1 finished, 0 errors, 100000 bytes echoed" in sim.output
    received = tmp_path / "received.bin"
    with received.open("wb") as sink:
        listener = ns.popen("nc", "-6", "-l", KERNEL_ULA, "9001", stdout=sink,
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ns.wait_listening(9001)
            sim = start_netsim(ns, "send", "-6", "--ip6", f"{NETSIM_ULA}/64", "--connect",
                               f"[{KERNEL_ULA}]:9001", "--bytes", "300000")
            assert sim.wait(timeout=60) == 0, sim.stderr
            assert listener.wait(timeout=30) == 0
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait(timeout=10)
    m = re.search(r"send: 300000 bytes to \[fd00::1\]:9001 .* sha256 ([0-9a-f]{64})",
                  sim.output)
    assert m, sim.output
    assert hashlib.sha256(received.read_bytes()).hexdigest() == m.group(1)


def test_cli_live_connect_takes_a_bracketed_ipv6_address_only_with_dash_6(
        capsys: pytest.CaptureFixture[str]) -> None:
    from netsim.cli import main
    from netsim.cli.live import parse_endpoint

    assert parse_endpoint("[fd00::1]:9001", ipv6=True) == (IPv6Address("fd00::1"), 9001)
    assert main(["live", "send", "--tap", "nosuch-tap0", "--bytes", "1", "--connect",
                 "[fd00::1]:9001"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "[IPv6]:PORT with -6" in err, err
    assert main(["live", "send", "-6", "--tap", "nosuch-tap0", "--bytes", "1", "--connect",
                 "[fd00::zz]:9001"]) == 2
    assert "--connect: '[fd00::zz]:9001'" in capsys.readouterr().err
