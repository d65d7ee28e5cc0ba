"""Selective acknowledgments: the receiver's SACK blocks (RFC 2018 §3-§4) and the sender's
SACK-based loss recovery (RFC 6675), as segment-level scripts (netsim.testing.script)."""

from __future__ import annotations

import pytest

from netsim.stack.tcp.config import TcpConfig
from netsim.stack.tcp.connection import TcpConnection
from netsim.testing.script import TcpScript
from netsim.wire.tcp import SackOption, TCPSegment

PEER_ISS = 5000
MSS = 1000


def p(n: int) -> int:
    """The peer's sequence number of its stream byte n."""
    return PEER_ISS + 1 + n


def sack_blocks(seg: TCPSegment) -> list[tuple[int, int]]:
    for opt in seg.options:
        if isinstance(opt, SackOption):
            return list(opt.blocks)
    return []


# ====================================================================== receiver
def receiver(peer_options: dict[str, object], cfg: TcpConfig | None = None
             ) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(cfg or TcpConfig(delayed_ack=0))
    conn = h.establish_passive(80, peer_iss=PEER_ISS, options=peer_options)
    return h, conn


def deliver(h: TcpScript, start: int, end: int, ts: int | None = None) -> TCPSegment:
    """The peer sends its stream bytes [start, end); returns the stack's ACK."""
    opts: dict[str, object] = {"ts": (ts, 0)} if ts is not None else {}
    h.inject(flags="A", seq=p(start), payload=b"d" * (end - start), options=opts)
    return h.expect(flags="A")


def test_out_of_order_segment_is_reported_in_a_sack_block() -> None:
    h, conn = receiver({"mss": MSS, "sackOK": True})
    assert conn.sack_ok
    ack = deliver(h, 0, 1000)
    assert ack.ack == p(1000) and sack_blocks(ack) == []
    ack = deliver(h, 2000, 3000)  # 1000..2000 missing
    assert ack.ack == p(1000)
    # RFC 2018 §3: left edge = first byte held, right edge = the byte after the last one
    assert sack_blocks(ack) == [(p(2000), p(3000))]
    ack = deliver(h, 3000, 3500)  # extends the block
    assert sack_blocks(ack) == [(p(2000), p(3500))]
    ack = deliver(h, 1000, 2000)  # fills the hole: no SACK option any more
    assert ack.ack == p(3500) and sack_blocks(ack) == []


def test_block_with_the_latest_segment_comes_first_then_the_recent_ones() -> None:
    # RFC 2018 §4: the first block holds the segment that triggered this ACK; the others
    # repeat the most recently reported blocks
    h, _ = receiver({"mss": MSS, "sackOK": True})
    deliver(h, 0, 1000)
    assert sack_blocks(deliver(h, 2000, 3000)) == [(p(2000), p(3000))]
    assert sack_blocks(deliver(h, 4000, 5000)) == [(p(4000), p(5000)), (p(2000), p(3000))]
    assert sack_blocks(deliver(h, 6000, 7000)) == [(p(6000), p(7000)), (p(4000), p(5000)),
                                                   (p(2000), p(3000))]
    # a segment that extends the oldest block brings that block to the front
    assert sack_blocks(deliver(h, 3000, 3500)) == [(p(2000), p(3500)), (p(6000), p(7000)),
                                                   (p(4000), p(5000))]
    # one that fills the first hole moves the cumulative ACK; blocks below it vanish
    ack = deliver(h, 1000, 2000)
    assert ack.ack == p(3500)
    assert sack_blocks(ack) == [(p(6000), p(7000)), (p(4000), p(5000))]


@pytest.mark.parametrize(("timestamps", "most"), [(True, 3), (False, 4)])
def test_at_most_three_blocks_with_timestamps_four_without(timestamps: bool,
                                                           most: int) -> None:
    # RFC 2018 §3: 40 option bytes hold 4 blocks, 3 next to the 12-byte timestamp option
    opts: dict[str, object] = {"mss": MSS, "sackOK": True}
    if timestamps:
        opts["ts"] = (1, 0)
    h, conn = receiver(opts)
    assert conn.ts_ok is timestamps
    ts = 2 if timestamps else None
    deliver(h, 0, 1000, ts)
    holes = [(k * 2000, k * 2000 + 1000) for k in range(1, 7)]  # six isolated blocks
    for start, end in holes:
        ack = deliver(h, start, end, ts)
    blocks = sack_blocks(ack)
    assert len(blocks) == most
    # the newest first, then the ones sent most recently
    assert blocks == [(p(s), p(e)) for s, e in reversed(holes)][:most]


def test_no_sack_blocks_unless_sack_permitted_was_negotiated() -> None:
    h, conn = receiver({"mss": MSS})  # the peer did not send SACK-permitted
    assert not conn.sack_ok
    deliver(h, 0, 1000)
    assert sack_blocks(deliver(h, 2000, 3000)) == []
    # and with SACK turned off here, the SYN-ACK does not offer it even if the peer does
    h2 = TcpScript(TcpConfig(sack=False, delayed_ack=0))
    h2.listen(80)
    h2.inject(flags="S", seq=PEER_ISS, options={"mss": MSS, "sackOK": True})
    h2.expect(flags="SA", options={"sackOK": None})
    h2.inject(flags="A", seq=p(0), ack=h2.rel(1))
    conn2 = h2.accept()
    assert conn2 is not None and not conn2.sack_ok
    deliver(h2, 0, 1000)
    assert sack_blocks(deliver(h2, 2000, 3000)) == []


def test_sack_permitted_offered_and_accepted_in_the_handshake() -> None:
    h = TcpScript(TcpConfig())
    conn = h.connect(80)
    h.expect(flags="S", options={"sackOK": True})
    h.inject(flags="SA", seq=PEER_ISS, ack=h.rel(1), options={"mss": MSS, "sackOK": True})
    assert conn.sack_ok
    h3 = TcpScript(TcpConfig())
    h3.listen(80)
    h3.inject(flags="S", seq=PEER_ISS, options={"mss": MSS, "sackOK": True})
    h3.expect(flags="SA", options={"sackOK": True})


# ====================================================================== sender
class Peer:
    """A receiver for scripts: holds what arrives, loses the first transmission of chosen
    segments, and answers every data segment with an ACK carrying SACK blocks (the block
    with the segment just received first, then the others, newest first)."""

    def __init__(self, h: TcpScript, lose: set[int], max_blocks: int = 4) -> None:
        self.h = h
        self.lose = set(lose)  # segment numbers whose first transmission is lost
        self.max_blocks = max_blocks
        self.have: list[tuple[int, int]] = []  # byte ranges held above the cumulative ACK
        self.ack = 0  # stream bytes received in order
        self.recent: list[int] = []  # stream offsets of recent arrivals, newest first
        self.arrivals: list[int] = []  # every data segment the stack sent (segment numbers)

    def _add(self, start: int, end: int) -> None:
        ranges = sorted([*self.have, (start, end)])
        merged: list[tuple[int, int]] = []
        for a, b in ranges:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        while merged and merged[0][0] <= self.ack:
            self.ack = max(self.ack, merged.pop(0)[1])
        self.have = merged

    def _blocks(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for off in self.recent:
            for blk in self.have:
                if blk[0] <= off < blk[1] and blk not in out:
                    out.append(blk)
        return out[:self.max_blocks]

    def run(self, until_acked: int, step: float = 0.002, limit: int = 2000) -> None:
        h = self.h
        base = h.rel(1)
        for _ in range(limit):
            sent = h.drain()
            if not sent:
                if self.ack >= until_acked:
                    return
                h.advance(step)  # nothing to answer: let timers run
                continue
            for seg in sent:
                if not seg.payload:
                    continue
                off = (seg.seq - base) & 0xFFFFFFFF
                k = off // MSS
                self.arrivals.append(k)
                h.advance(step)
                if k in self.lose:
                    self.lose.discard(k)
                    continue
                self._add(off, off + len(seg.payload))
                self.recent.insert(0, off)
                blocks = [(base + a, base + b) for a, b in self._blocks()]
                h.inject(flags="A", ack=base + self.ack,
                         options={"sack": blocks} if blocks else {})
        raise AssertionError(f"transfer did not finish: acked {self.ack} of {until_acked}")


def sack_sender(cwnd_segments: int, total_segments: int, cc: str = "newreno"
                ) -> tuple[TcpScript, TcpConnection]:
    h = TcpScript(TcpConfig(cc=cc, delayed_ack=0))
    conn = h.establish_passive(80, options={"mss": MSS, "sackOK": True})
    assert conn.sack_ok and not conn.ts_ok
    conn.cc.cwnd = cwnd_segments * MSS
    h.app_send(bytes(total_segments * MSS))
    return h, conn


@pytest.mark.parametrize("lost", [{1, 4, 7}, {2, 3, 4}, {0, 5, 9}, {1, 3, 5, 7, 9}])
def test_several_losses_in_one_window_retransmit_exactly_the_holes(lost: set[int]) -> None:
    h, conn = sack_sender(10, 30)
    peer = Peer(h, lost)
    peer.run(until_acked=30 * MSS)
    retransmitted = [k for i, k in enumerate(peer.arrivals) if k in peer.arrivals[:i]]
    # RFC 6675: only the holes go again, each once: no go-back-N, nothing SACKed is resent
    assert sorted(retransmitted) == sorted(lost)
    assert conn.retransmissions == len(lost)
    # one recovery episode, led by the scoreboard, and no timeout
    assert conn.timeouts == 0
    assert conn.fast_retransmits == 1 and conn.sack_recoveries == 1
    assert not conn.in_recovery and not conn.sack_recovery
    assert conn.snd_una == h.rel(1 + 30 * MSS)


def test_without_sack_newreno_repairs_the_same_losses_one_partial_ack_at_a_time() -> None:
    lost = {1, 3, 5, 7, 9, 11, 13}
    h = TcpScript(TcpConfig(delayed_ack=0, sack=False))
    conn = h.establish_passive(80, options={"mss": MSS, "sackOK": True})
    assert not conn.sack_ok
    conn.cc.cwnd = 16 * MSS
    h.app_send(bytes(40 * MSS))
    peer = Peer(h, lost)
    peer.run(until_acked=40 * MSS)
    assert conn.timeouts == 0 and conn.sack_recoveries == 0 and conn.fast_retransmits == 1
    assert sorted(k for i, k in enumerate(peer.arrivals) if k in peer.arrivals[:i]) == \
        sorted(lost)


def test_sack_recovery_sends_no_more_than_cwnd_allows() -> None:
    # RFC 6675 §5 (C): a segment goes out only while cwnd - pipe >= 1 SMSS
    h, conn = sack_sender(10, 40)
    peer = Peer(h, {0, 1, 2})
    peer.run(until_acked=40 * MSS)
    assert conn.cc.ssthresh == 5 * MSS  # half of 10 segments (no limited transmit data)
    assert conn.timeouts == 0 and conn.sack_recoveries == 1
    assert sorted(k for i, k in enumerate(peer.arrivals) if k in peer.arrivals[:i]) == [0, 1, 2]


def test_sacked_bytes_above_a_hole_start_recovery_before_three_dup_acks() -> None:
    # RFC 6675 §5: IsLost(HighACK + 1) — more than (DupThresh - 1) * SMSS SACKed above it —
    # starts loss recovery even when fewer than three dup ACKs have arrived
    h, conn = sack_sender(10, 10)
    h.drain()
    base = h.rel(1)
    h.inject(flags="A", ack=base, options={"sack": [(base + MSS, base + 4 * MSS)]})
    assert conn.in_recovery and conn.sack_recovery and conn.sack_recoveries == 1
    assert base in [s.seq for s in h.drain()]


def test_dup_acks_without_sack_blocks_use_the_dup_ack_count() -> None:
    # a SACK-capable connection still retransmits after three plain dup ACKs
    h, conn = sack_sender(10, 10)
    h.drain()
    for _ in range(2):
        h.inject(flags="A", ack=h.rel(1))
    assert not conn.in_recovery
    h.inject(flags="A", ack=h.rel(1))
    assert conn.in_recovery and conn.fast_retransmits == 1
    assert h.rel(1) in [s.seq for s in h.drain()]
