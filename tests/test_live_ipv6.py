"""Live IPv6: netsim on a TAP in a namespace this test creates answers the Linux kernel's
ICMPv6 echo (what ``ping -6`` sends) to its link-local address and to a configured global
address. The kernel resolves netsim with neighbour discovery; tshark checks every frame."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_helpers import REPO, Netns, capture, netns, tshark_fields, tshark_problems

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
