"""The bulk apps' pseudo-random byte stream (netsim.apps.bulk.PseudoRandomBytes): reproducible
from the seed alone, whatever the read sizes, and never equal to itself at an offset a faulty
receiver could plausibly shift data by, so that the SHA-256 of a transfer catches the fault."""

from __future__ import annotations

import gc
import hashlib
import random
import tracemalloc

import pytest

from netsim.apps.bulk import _STARTS, BLOCK, KEEP, PseudoRandomBytes, expected_sha256

MB = 1 << 20
MSS = 1448
# Offsets a receiver's bug could plausibly shift data by: a byte, a segment (common MSSs, a
# jumbo frame's), a page, a block of the generator, powers of two around 2**16 (the window
# field) and a few segments or megabytes more.
OFFSETS = (1, 2, 7, 536, 1220, MSS, 1460, 2 * MSS, 4096, 8948, 32_768, BLOCK - 1, BLOCK,
           BLOCK + 1, BLOCK + MSS, 2 * BLOCK, 3 * BLOCK - MSS, 100_000, MB, MB + 1, 3 * MB)


def agreeing_run(a: bytes, b: bytes, run: int = 8) -> int:
    """Where ``a`` and ``b`` (of one length) first agree on ``run`` bytes in a row; -1: nowhere.

    For random bytes a run of 8 agreeing bytes occurs with a chance of 2**-64 per position."""
    xor = (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(len(a))
    return xor.find(bytes(run))


def test_same_seed_same_bytes_and_other_seeds_other_bytes() -> None:
    first = PseudoRandomBytes(5).read(3 * BLOCK)
    assert PseudoRandomBytes(5).read(3 * BLOCK) == first
    for other in (4, 6, 50, 2**40):
        assert agreeing_run(PseudoRandomBytes(other).read(3 * BLOCK), first) == -1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stream_does_not_depend_on_the_sizes_of_reads(seed: int) -> None:
    nbytes = 5 * BLOCK + 12_345
    whole = PseudoRandomBytes(seed).read(nbytes)
    assert len(whole) == nbytes
    sizes = [1, BLOCK - 1, 1, BLOCK, BLOCK + 1, 0, 2, MSS, 3 * BLOCK]
    rng = random.Random(seed)
    sizes += [rng.choice((rng.randrange(1, 100), rng.randrange(1, 3 * BLOCK)))
              for _ in range(40)]
    gen = PseudoRandomBytes(seed)
    got = b""
    for n in sizes:
        piece = gen.read(min(n, nbytes - len(got)))
        assert len(piece) == min(n, nbytes - len(got))
        got += piece
        if len(got) == nbytes:
            break
    got += gen.read(nbytes - len(got))
    assert got == whole
    assert expected_sha256(nbytes, seed) == hashlib.sha256(whole).hexdigest()
    assert expected_sha256(nbytes - 1, seed) == hashlib.sha256(whole[:-1]).hexdigest()


def test_reads_of_nothing_are_empty_and_do_not_move_the_stream() -> None:
    gen = PseudoRandomBytes(1)
    assert gen.read(0) == b"" and gen.read(-5) == b""
    assert gen.read(100) == PseudoRandomBytes(1).read(100)


@pytest.mark.parametrize("seed", [1, 7])
def test_the_stream_never_repeats_itself_at_a_plausible_wrong_offset(seed: int) -> None:
    """Data shifted by any of OFFSETS (a segment placed off by one byte, by one MSS, by 2**16,
    by a block; a duplicated or skipped segment shifts what follows by its length) differs
    from the data that belongs there: over the first 8 MB no 8 bytes in a row agree."""
    stream = PseudoRandomBytes(seed).read(8 * MB)
    for d in OFFSETS:
        assert agreeing_run(stream[d:], stream[:-d]) == -1, d


def test_misplacing_one_segment_changes_the_sha256() -> None:
    """What a receiver elsewhere sees: one segment written at a wrong offset, and the SHA-256 of
    what it holds is no longer `expected_sha256`, wherever the segment was in the stream."""
    nbytes = 2 * MB
    stream = PseudoRandomBytes(3).read(nbytes)
    want = expected_sha256(nbytes, 3)
    assert hashlib.sha256(stream).hexdigest() == want
    for p in (0, 5 * MSS, BLOCK - 700, 7 * BLOCK, nbytes // 2 + 3):
        for d in (1, MSS, BLOCK, -MSS, -BLOCK):
            if not 0 <= p + d <= nbytes - MSS:
                continue
            held = bytearray(stream)
            held[p + d:p + d + MSS] = stream[p:p + MSS]
            assert hashlib.sha256(held).hexdigest() != want, (p, d)


@pytest.mark.parametrize("seed", [1, 2])
def test_no_two_blocks_of_the_first_64_mb_are_equal(seed: int) -> None:
    """Data shifted by a whole number of blocks (2**16 bytes: the window field's range) is
    caught too, over a longer stretch than above: among the first 1024 blocks no two are equal.
    (Were each block the pool only rotated, about 8 pairs of them would be: 1024**2 / 2 pairs,
    each with a chance of 2**-16; with a random byte added to each block it is 2**-24 a pair.)"""
    gen = PseudoRandomBytes(seed)
    heads = [gen.read(BLOCK)[:16] for _ in range(1024)]  # equal heads: equal blocks
    assert len(set(heads)) == len(heads)


@pytest.mark.slow
def test_the_stream_does_not_repeat_after_2_to_the_31_or_32_bytes() -> None:
    """Sequence numbers wrap at 2**32 (RFC 9293 §3.4, sequence numbers); a receiver that
    compares them wrongly (as signed 32-bit numbers, or modulo 2**32 without unwrapping) puts
    data 2**31 or 2**32 bytes away from where it belongs."""
    gen = PseudoRandomBytes(1)
    head = gen.read(MB + MSS)
    windows = {}
    at = len(head)
    for mark in (1 << 31, 1 << 32):
        while at < mark - MSS:
            at += len(gen.read(min(BLOCK, mark - MSS - at)))
        windows[mark] = gen.read(MB + 2 * MSS)
        at += len(windows[mark])
    for mark, window in windows.items():  # window: the stream from mark - MSS on
        for d in (-MSS, -1, 0, 1, MSS):
            there = window[MSS + d:MSS + d + MB]
            assert agreeing_run(there, head[:MB]) == -1, (mark, d)


def test_a_generator_holds_about_one_block() -> None:
    """Many flows each have a sender: a generator keeps one block of bytes, not one per read."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        gens = [PseudoRandomBytes(seed) for seed in range(20)]
        for gen in gens:
            for n in (1, BLOCK, 3 * BLOCK + 5, 700):
                gen.read(n)
        held = (tracemalloc.get_traced_memory()[0] - before) / len(gens)
    finally:
        tracemalloc.stop()
    assert BLOCK <= held < BLOCK + 8 * 1024, held


def test_a_sender_and_its_checking_sink_share_one_block() -> None:
    """A sink told the seed makes the sender's stream too: the two generators of a seed hold
    one pool between them, so checking flows by comparison costs no memory per flow."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pairs = [(PseudoRandomBytes(seed), PseudoRandomBytes(seed)) for seed in range(20)]
        heads = []
        for sender, sink in pairs:
            heads.append(sender.read(3 * BLOCK + 5))
            assert heads[-1] == sink.read(BLOCK) + sink.read(2 * BLOCK + 5)
        held = (tracemalloc.get_traced_memory()[0] - before - sum(map(len, heads))) / len(pairs)
    finally:
        tracemalloc.stop()
    assert BLOCK <= held < BLOCK + 16 * 1024, held  # (two pools would be 2 * BLOCK)
    # Alone again (the others gone), a generator of a seed makes the same stream
    del pairs, sender, sink
    gc.collect()
    assert PseudoRandomBytes(0).read(3 * BLOCK + 5) == heads[0]
    assert PseudoRandomBytes(19).read(3 * BLOCK + 5) == heads[19]


def test_a_sink_takes_the_blocks_its_sender_made_and_gets_the_same_stream() -> None:
    """A sender reads a block at a time; the sink of the same seed, reading any sizes, gets
    those very blocks handed over (slices of them, no second translate) and the same bytes a
    generator alone makes; a sink far behind finds at most KEEP blocks kept."""
    n = 90 * BLOCK + 77
    alone = PseudoRandomBytes(11).read(n)
    gc.collect()
    sender, sink = PseudoRandomBytes(11), PseudoRandomBytes(11)
    sent = [sender.read(BLOCK) for _ in range(5)]
    got = [sink.read(BLOCK) for _ in range(5)]
    assert all(g is s for g, s in zip(got, sent, strict=True))  # handed over, not remade
    rnd = random.Random(5)
    while sum(map(len, got)) < n:
        if rnd.random() < 0.4 and sum(map(len, sent)) < n:
            sent.append(sender.read(BLOCK))
        else:
            got.append(sink.read(min(rnd.choice((1, 700, MSS, 16384, BLOCK, 100_000)),
                                     n - sum(map(len, got)))))
    assert b"".join(got) == alone
    while sum(map(len, sent)) < n:
        sent.append(sender.read(BLOCK))
    assert b"".join(sent)[:n] == alone
    # A sink far behind: the sender's blocks are kept up to KEEP, the rest remade
    ahead = [sender.read(BLOCK) for _ in range(KEEP + 10)]
    assert len(_STARTS[11].blocks) <= KEEP
    start = sum(map(len, sent))
    assert sink.read(start - n) + sink.read(len(ahead) * BLOCK) == \
        PseudoRandomBytes(11).read(start + len(ahead) * BLOCK)[n:]
    assert b"".join(ahead) == PseudoRandomBytes(11).read(start + len(ahead) * BLOCK)[start:]
