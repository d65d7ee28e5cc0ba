"""Checksum and segmentation offload on the TAP (netsim.live.offload): frames whose
virtio-net header says the kernel checked the checksum (DATA_VALID) or left it to be filled
(NEEDS_CSUM) are not rejected for it; every other frame is checked as before; a malformed
header is a counted drop; a pcap gets every frame with correct checksums.

The first tests drive a `TapPort` over a socket pair (no root needed); the live ones run
Linux `nc` into netsim's sink through a real TAP with offload on."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_helpers import NETSIM_IP, Netns, netns, running_netsim, tshark_fields, tshark_problems

from netsim.live.env import LiveEnvironment
from netsim.live.offload import (
    DATA_VALID,
    NEEDS_CSUM,
    TUN_F_CSUM,
    TUN_F_TSO4,
    VNET_HDR,
    complete_checksum,
    set_offload,
    trusted_tcp_frame,
)
from netsim.live.tap import TapPort
from netsim.node import Node
from netsim.stack.host import Stack
from netsim.wire.checksum import internet_checksum, pseudo_header_sum
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import build_ipv4, intern_ip
from netsim.wire.tcp import ACK, PSH, build_tcp

US, PEER = intern_ip(NETSIM_IP), intern_ip("10.0.0.1")
MAC, PEER_MAC = bytes.fromhex("02000a000002"), bytes.fromhex("02000a000001")
DATA = b"offloaded " * 300  # 3000 bytes: a super-segment's worth at MTU 1500


def frame(payload: bytes = DATA, *, checksum: str = "good") -> bytes:
    """A data segment from the kernel to netsim's port 9000 (nothing listens there): its TCP
    checksum correct ("good"), wrong ("bad") or the pseudo-header's sum ("partial", what
    NEEDS_CSUM leaves in the field)."""
    tcp = bytearray(build_tcp(PEER, US, 40000, 9000, 1000, 1, ACK | PSH, 500, payload))
    if checksum == "bad":
        tcp[16] ^= 0x5A
    elif checksum == "partial":
        partial = pseudo_header_sum(PEER, US, 6, len(tcp)) % 0xFFFF
        tcp[16:18] = partial.to_bytes(2, "big")
    return build_ethernet(MAC, PEER_MAC, ETHERTYPE_IPV4,
                          build_ipv4(PEER, US, 6, bytes(tcp), df=True), mtu=65535)


def vnet(flags: int = 0, gso: int = 0, start: int = 0, offset: int = 0) -> bytes:
    return VNET_HDR.pack(flags, gso, 54 if gso else 0, 1448 if gso else 0, start, offset)


class Rig:
    """A stack on a TapPort whose descriptor is one end of a socket pair that carries
    virtio-net headers; the test writes the kernel's side."""

    def __init__(self) -> None:
        ours, self.kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        self.env = LiveEnvironment()
        self.tap = TapPort("fake0", fd=ours.detach(), vnet_hdr=True)
        self.stack = Stack("live")
        iface = self.stack.add_interface("fake0", MAC, f"{NETSIM_IP}/24")
        Node(self.env, self.stack).attach(iface, self.tap, announce=False)
        self.tap.trusted = lambda f: trusted_tcp_frame(f, MAC, US.packed)
        self.captured: list[bytes] = []
        self.tap.add_tap(lambda _t, direction, f: self.captured.append(f)
                         if direction == "rx" else None)

    def feed(self, *frames: bytes) -> None:
        for f in frames:
            self.kernel.send(f)
        self.tap.poll()

    def close(self) -> None:
        self.env.close()
        self.tap.close()
        self.kernel.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    try:
        yield r
    finally:
        r.close()


def test_a_bad_checksum_without_an_offload_flag_is_dropped_and_counted(rig: Rig) -> None:
    rig.feed(vnet() + frame(checksum="bad"))
    assert rig.stack.counters.drops() == {"tcp.checksum": 1}
    assert rig.stack.tcp_counts["rx"] == 0
    assert rig.tap.stats.rx_offloaded == 0
    rig.feed(vnet() + frame())  # the same segment intact: TCP takes it
    assert rig.stack.tcp_counts["rx"] == 1


def test_a_segment_the_kernel_vouches_for_is_not_rejected_for_its_checksum(rig: Rig) -> None:
    # DATA_VALID: the kernel checked it (a checksum "wrong" here is not netsim's to judge)
    rig.feed(vnet(DATA_VALID) + frame(checksum="bad"))
    # NEEDS_CSUM: the field holds the pseudo-header's sum, the rest is left to the reader;
    # the header names where the checksum starts (the TCP header) and where it goes (16)
    rig.feed(vnet(NEEDS_CSUM, start=34, offset=16) + frame(checksum="partial"))
    # both reached TCP (and no listener on the port): none was dropped for its checksum
    assert rig.stack.counters.drops() == {"tcp.closed_port": 2}
    assert rig.stack.tcp_counts["rx"] == 2
    assert rig.tap.stats.rx_offloaded == 2


def test_the_capture_gets_the_checksum_the_kernel_left_to_netsim(rig: Rig) -> None:
    partial = frame(checksum="partial")
    rig.feed(vnet(NEEDS_CSUM, start=34, offset=16) + partial)
    (seen,) = rig.captured
    assert seen == frame()  # the checksum filled in: the bytes a wire would carry
    assert seen[:50] + seen[52:] == partial[:50] + partial[52:]
    ip_len = (seen[16] << 8) | seen[17]
    assert internet_checksum(seen[34:14 + ip_len],
                             pseudo_header_sum(PEER, US, 6, ip_len - 20)) == 0


def test_a_malformed_offload_header_is_a_counted_drop(rig: Rig) -> None:
    good = frame(checksum="partial")
    rig.feed(vnet(NEEDS_CSUM, start=34, offset=len(good)) + good,  # checksum beyond the end
             vnet(NEEDS_CSUM, start=4, offset=16) + good,  # inside the Ethernet header
             vnet(DATA_VALID, gso=3) + frame(),  # UDP fragmentation offload: never asked for
             vnet(0x40) + frame())  # an unknown flag
    assert rig.tap.stats.rx_offload_errors == 4
    assert rig.stack.tcp_counts["rx"] == 0 and rig.stack.counters.drops() == {}


def test_a_super_segment_larger_than_the_mss_is_one_segment_to_tcp(rig: Rig) -> None:
    big = frame(b"x" * 60000)
    lazy = trusted_tcp_frame(big, MAC, US.packed)
    assert lazy is not None and lazy.seg.payload == b"x" * 60000 and lazy.raw() == big
    # not for this host, or not the plainest IPv4: the ordinary path decides
    assert trusted_tcp_frame(big, PEER_MAC, US.packed) is None
    assert trusted_tcp_frame(big, MAC, PEER.packed) is None
    broken = bytearray(big)
    broken[24] ^= 1  # the IPv4 header checksum
    assert trusted_tcp_frame(bytes(broken), MAC, US.packed) is None
    # the kernel's half-done checksum of a super-segment, completed, is the full one
    assert complete_checksum(frame(b"x" * 60000, checksum="partial"), 34, 16) == big


def test_offload_falls_back_to_none_where_the_kernel_refuses_it() -> None:
    r, w = os.pipe()  # not a TAP: every TUNSETOFFLOAD fails (ENOTTY)
    try:
        assert set_offload(r) == 0
        assert set_offload(r, tso=False) == 0
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------------- live
live = pytest.mark.live


@pytest.fixture
def ns() -> Iterator[Netns]:
    with netns() as created:
        yield created


@pytest.fixture
def tools(require_tool: Callable[[str], str]) -> None:
    for tool in ("nc", "tshark"):
        require_tool(tool)


@live
def test_a_pcap_of_an_offloaded_transfer_has_correct_checksums(ns: Netns, tools: None,
                                                               tmp_path: Path) -> None:
    pcap, stats = tmp_path / "offload.pcap", tmp_path / "stats.json"
    data = bytes(range(256)) * 16 * 1024  # 4 MiB
    with running_netsim(ns, "sink", "--port", "9000", "--count", "1", "--pcap", str(pcap),
                        "--stats", str(stats)) as sim:
        assert ns.run("nc", "-N", NETSIM_IP, "9000", input=data, timeout=60).returncode == 0
        assert sim.wait(timeout=30) == 0, sim.stderr
    assert f"{len(data)} bytes" in sim.output
    tap = json.loads(stats.read_text())["tap"]
    assert tap["offload_flags"] & TUN_F_CSUM, tap
    assert tap["rx_offloaded"] > 0 and tap["rx_offload_errors"] == 0, tap
    # every frame, the kernel's super-segments among them, with correct checksums
    assert tshark_problems(pcap) == []
    status = tshark_fields(pcap, "tcp.len > 0", "tcp.checksum.status", "frame.len")
    assert {row[0] for row in status} == {"1"}, "tshark verified each data segment's checksum"
    if tap["offload_flags"] & TUN_F_TSO4:
        assert tap["rx_gso"] > 0, tap
        assert max(int(row[1]) for row in status) > 1514, "super-segments are in the capture"


@live
def test_live_a_bad_checksum_without_an_offload_flag_is_dropped_and_counted(
        ns: Netns, tools: None, tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    with running_netsim(ns, "up", "--stats", str(stats)) as sim:
        # a packet socket's frame: the kernel leaves its checksum alone and sets no flag
        ns.run(sys.executable, "-c", (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
            f"s.bind(({ns.tap!r},0))\n"
            "s.send(bytes.fromhex(sys.argv[1]))\n"),
               frame(b"not for netsim's TCP", checksum="bad").hex())
        assert len(ns.helper("ping", NETSIM_IP, "3").split()) == 3  # (after the bad frame)
        assert sim.stop() == 0, sim.stderr
    summary = json.loads(stats.read_text())
    assert summary["tap"]["offload_flags"] & TUN_F_CSUM, summary["tap"]
    assert summary["drops"].get("tcp.checksum") == 1, summary["drops"]


@live
def test_no_offload_turns_it_off_and_the_transfer_still_works(ns: Netns, tools: None,
                                                               tmp_path: Path) -> None:
    pcap, stats = tmp_path / "plain.pcap", tmp_path / "stats.json"
    data = bytes(range(256)) * 4 * 1024  # 1 MiB
    for extra in (["--no-offload"], []):  # and after it, offload back on
        with running_netsim(ns, "sink", "--port", "9000", "--count", "1", "--pcap", str(pcap),
                            "--stats", str(stats), *extra) as sim:
            assert ns.run("nc", "-N", NETSIM_IP, "9000", input=data,
                          timeout=60).returncode == 0
            assert sim.wait(timeout=30) == 0, sim.stderr
        assert f"{len(data)} bytes" in sim.output
        tap = json.loads(stats.read_text())["tap"]
        if extra:
            assert tap["offload_flags"] == 0 and tap["rx_offloaded"] == 0, tap
            frames = tshark_fields(pcap, "tcp.len > 0", "frame.len")
            assert max(int(row[0]) for row in frames) <= 1514, "MTU-sized frames only"
        else:
            assert tap["offload_flags"] & TUN_F_CSUM, tap
        assert tshark_problems(pcap) == []
