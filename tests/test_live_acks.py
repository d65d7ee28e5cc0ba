"""ACK coalescing on the live path (netsim.live.acks): of the plain ACKs one batch of reads
produced, each that a later ACK of the same connection acknowledges past is not written;
everything else (data, SYN/FIN/RST, SACK blocks, duplicate ACKs, other connections) is."""

from __future__ import annotations

import socket

from netsim.live.acks import coalesce, plain_ack_key
from netsim.live.env import LiveEnvironment
from netsim.live.tap import TapPort
from netsim.wire.ethernet import ETHERTYPE_IPV4, build_ethernet
from netsim.wire.ipv4 import build_ipv4, intern_ip
from netsim.wire.tcp import ACK, FIN, PSH, RST, SYN, build_tcp

US, PEER = intern_ip("10.0.0.2"), intern_ip("10.0.0.1")
MAC, PEER_MAC = b"\x02\x00\x0a\x00\x00\x02", b"\x02\x00\x0a\x00\x00\x01"
TS = b"\x01\x01\x08\x0a" + bytes(8)
SACK = b"\x01\x01\x05\x0a" + bytes(8)


def seg(ack: int, *, flags: int = ACK, payload: bytes = b"", opts: bytes = TS,
        sport: int = 9000, seq: int = 1) -> bytes:
    tcp = build_tcp(US, PEER, sport, 40000, seq, ack, flags, 500, payload, opts)
    return build_ethernet(PEER_MAC, MAC, ETHERTYPE_IPV4, build_ipv4(US, PEER, 6, tcp, df=True))


def test_a_run_of_cumulative_acks_leaves_as_its_last() -> None:
    frames = [seg(1000), seg(3000), seg(5000)]
    out, dropped = coalesce(frames)
    assert out == [frames[2]] and dropped == 2
    # without timestamps too, and across the 2**32 wrap
    frames = [seg(0xFFFFFF00, opts=b""), seg(0x100, opts=b"")]
    assert coalesce(frames) == ([frames[1]], 1)


def test_what_a_sender_needs_always_leaves() -> None:
    dupacks = [seg(1000), seg(1000), seg(1000)]  # fast retransmit counts them
    assert coalesce(dupacks) == (dupacks, 0)
    sack = [seg(1000, opts=SACK), seg(3000)]  # SACK blocks report holes
    assert coalesce(sack) == (sack, 0)
    for flags, payload in ((ACK | PSH, b"data"), (ACK, b"data"), (ACK | FIN, b""),
                           (ACK | RST, b""), (SYN | ACK, b"")):
        frames = [seg(1000, flags=flags, payload=payload), seg(3000)]
        assert coalesce(frames) == (frames, 0), (flags, payload)
    other = [seg(1000, sport=9001), seg(3000)]  # another connection
    assert coalesce(other) == (other, 0)
    older_last = [seg(3000), seg(1000)]  # (reordered: the later one acknowledges less)
    assert coalesce(older_last) == (older_last, 0)


def test_only_plain_acks_have_a_key() -> None:
    assert plain_ack_key(seg(1)) == US.packed + PEER.packed + bytes.fromhex("23289c40")
    assert plain_ack_key(seg(1, opts=b"\x01\x01\x01\x01")) is None  # unknown options
    assert plain_ack_key(seg(1)[:50]) is None
    assert plain_ack_key(build_ethernet(PEER_MAC, MAC, 0x0806, bytes(28))) is None


def test_the_tap_writes_one_ack_per_batch_and_counts_the_rest() -> None:
    """Through a TapPort: frames read together are answered with ACKs that the port holds
    and thins; a frame sent outside a batch leaves at once; ack_batch bounds the hold."""
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    kernel.setblocking(False)
    env = LiveEnvironment()
    tap = TapPort("fake0", fd=ours.detach(), ack_batch=4)
    acks = iter(range(1000, 100000, 1000))
    tap.attach(lambda _frame: tap.send(seg(next(acks))))  # an ACK for every frame read
    tap.register(env)

    def written() -> list[bytes]:
        out = []
        while True:
            try:
                out.append(kernel.recv(65536))
            except BlockingIOError:
                return out

    try:
        for i in range(6):
            kernel.send(seg(1, sport=1000 + i))  # (any frame that is not a SYN)
        assert tap.poll() == 6
        # flushed after 4 frames (the ACK of the 4th) and at the end (of the 6th)
        got = written()
        assert [int.from_bytes(f[42:46], "big") for f in got] == [4000, 6000]
        assert tap.stats.tx_coalesced == 4 and tap.stats.tx_frames == 2
        tap.send(seg(50000))
        tap.send(seg(60000))  # outside a batch: each leaves
        assert len(written()) == 2
    finally:
        env.close()
        tap.close()
        kernel.close()
