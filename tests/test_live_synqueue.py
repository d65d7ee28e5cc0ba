"""The live SYN queue (netsim.live.synqueue) and the TAP port that feeds it, without root: a
socket pair stands in for the TAP. Under a flood the frames of connections are not stuck behind
SYNs, the newest SYNs are answered first, old ones are dropped, and the queue stays bounded."""

from __future__ import annotations

import socket

import pytest

from netsim.live.env import LiveEnvironment
from netsim.live.synqueue import SynQueue, is_pure_syn
from netsim.live.tap import TapPort
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import build_ipv4, intern_ip
from netsim.wire.tcp import ACK, CWR, ECE, SYN, build_tcp

SRC, DST = intern_ip("10.0.0.1"), intern_ip("10.0.0.2")
MAC, PEER = b"\x02\x00\x0a\x00\x00\x02", b"\x02\x00\x0a\x00\x00\x01"


def tcp_frame(flags: int, sport: int = 40000, ip_opts: bytes = b"") -> bytes:
    seg = build_tcp(SRC, DST, sport, 80, 1000, 0, flags, 65535)
    return build_ethernet(MAC, PEER, ETHERTYPE_IPV4, build_ipv4(SRC, DST, 6, seg,
                                                                options=ip_opts))


def test_pure_syns_are_told_from_everything_else() -> None:
    assert is_pure_syn(tcp_frame(SYN))
    assert is_pure_syn(tcp_frame(SYN, ip_opts=b"\x01\x01\x01\x01"))  # IP options: TCP moves
    for flags in (SYN | ACK, ACK, SYN | ECE | CWR, 0x100 | SYN):  # 0x100: AE (RFC 9293 §3.1)
        assert not is_pure_syn(tcp_frame(flags)), hex(flags)
    assert not is_pure_syn(tcp_frame(SYN)[:40])
    arp = build_ethernet(MAC, PEER, 0x0806, bytes(28))
    assert not is_pure_syn(arp)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_newest_syns_are_answered_first_a_budget_at_a_time() -> None:
    got: list[bytes] = []
    clock = Clock()
    q = SynQueue(got.append, clock, max_age=1.0, budget=2)
    for i in range(5):
        q.add(bytes([i]), 0.1 * i)
    clock.t = 0.5
    assert q.run() == 3 and got == [b"\x04", b"\x03"]
    assert q.run() == 1 and got[2:] == [b"\x02", b"\x01"]


def test_syns_older_than_max_age_are_dropped_unanswered() -> None:
    got: list[bytes] = []
    clock = Clock()
    q = SynQueue(got.append, clock, max_age=1.0, budget=10)
    q.add(b"old", 8.4)
    q.add(b"new", 9.5)
    clock.t = 10.0
    assert q.run() == 0 and got == [b"new"] and q.stale == 1


def test_the_queue_is_bounded_and_gives_up_its_oldest() -> None:
    got: list[bytes] = []
    q = SynQueue(got.append, Clock(), limit=3, budget=10)
    for i in range(5):
        q.add(bytes([i]), 0.0)
    assert len(q) == 3 and q.overflow == 2
    q.run()
    assert q.peak == 3  # (brought up to date by run, which follows every batch of reads)
    assert got == [b"\x04", b"\x03", b"\x02"]
    with pytest.raises(ValueError, match="max_age"):
        SynQueue(got.append, Clock(), max_age=0)


def test_under_a_syn_flood_a_connection_s_frames_do_not_wait_behind_the_syns() -> None:
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    env = LiveEnvironment()
    tap = TapPort("fake0", fd=ours.detach())
    got: list[bytes] = []
    tap.attach(got.append)
    tap.register(env)
    assert tap.syns is not None
    tap.syns.budget = 2  # (a socket pair queues only a few frames: max_dgram_qlen)
    try:
        syns = [tcp_frame(SYN, sport=1024 + i) for i in range(6)]
        for frame in syns:
            kernel.send(frame)
        ack = tcp_frame(ACK)
        kernel.send(ack)
        assert tap.poll() == 7
        # the ACK went to the stack at once; of the SYNs only a budget, the newest first
        assert len(tap.syns) == 4
        assert got == [ack, syns[-1], syns[-2]]
        env.run(until=0.2)  # the rest follows without another frame arriving
        assert got[1:] == syns[::-1]
    finally:
        env.close()
        tap.close()
        kernel.close()


def test_syns_whose_sender_is_known_are_answered_before_the_others() -> None:
    """A real client's SYN (its sender's MAC known) goes ahead of a flood's, however many of
    the flood's came after it; stale ones of either class are dropped."""
    got: list[bytes] = []
    clock = Clock()
    q = SynQueue(got.append, clock, budget=3, limit_answerable=2)
    q.add(b"client", 0.0, answerable=True)
    for i in range(5):
        q.add(bytes([i]), 0.1)
    assert q.run() == 3 and got == [b"client", b"\x04", b"\x03"] and q.answered_first == 1
    for name in (b"a", b"b", b"c"):  # the answerable class has its own, smaller bound
        q.add(name, 0.2, answerable=True)
    assert q.overflow == 1 and len(q) == 5
    clock.t = 1.15  # the flood's SYNs (from 0.1) are stale now, the others not
    assert q.run() == 0 and got[3:] == [b"c", b"b"] and q.stale == 3


def test_while_behind_in_reading_only_answerable_syns_are_answered() -> None:
    got: list[bytes] = []
    q = SynQueue(got.append, Clock(), budget=4)
    q.add(b"flood", 0.0)
    q.add(b"client", 0.0, answerable=True)
    assert q.run(answerable_only=True) == 1 and got == [b"client"]
    assert q.run() == 0 and got == [b"client", b"flood"]


def test_the_tap_asks_which_syns_are_answerable() -> None:
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    env = LiveEnvironment()
    tap = TapPort("fake0", fd=ours.detach())
    got: list[bytes] = []
    tap.attach(got.append)
    tap.register(env)
    assert tap.syns is not None
    tap.syns.budget = 1
    client = tcp_frame(SYN, sport=5555)  # from 10.0.0.1, whose MAC is known
    asked: list[int] = []

    def known() -> set[bytes]:
        asked.append(1)
        return {SRC.packed}

    tap.answerable = known
    spoofed = intern_ip("10.0.0.77")
    try:
        kernel.send(client)
        for i in range(4):
            seg = build_tcp(spoofed, DST, 1024 + i, 80, 1000, 0, SYN, 65535)
            kernel.send(build_ethernet(MAC, PEER, ETHERTYPE_IPV4,
                                       build_ipv4(spoofed, DST, 6, seg)))
        assert tap.poll() == 5
        assert got == [client]  # first, although four SYNs came after it
        assert asked == [1]  # once per batch read, not per SYN
    finally:
        env.close()
        tap.close()
        kernel.close()
