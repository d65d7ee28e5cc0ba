"""The sender's SACK scoreboard (netsim.stack.tcp.sack) against a set of SACKed offsets: after
any sequence of blocks and cumulative ACKs it holds exactly the maximal runs of that set, and
its answers (bytes newly SACKed, SACKed above an offset, is an offset SACKed) are the set's.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.stack.tcp.sack import SackScoreboard, bisect_left, bisect_right

# (start, length) of a SACK block, or ("ack", offset) for a cumulative ACK
_blocks = st.tuples(st.integers(0, 120), st.integers(0, 30))
_steps = st.lists(st.one_of(_blocks, st.tuples(st.just("ack"), st.integers(0, 150))),
                  max_size=40)


def _runs(offsets: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for off in sorted(offsets):
        if out and out[-1][1] == off:
            out[-1] = (out[-1][0], off + 1)
        else:
            out.append((off, off + 1))
    return out


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_scoreboard_holds_the_runs_of_what_was_sacked(steps: list[tuple[object, int]]) -> None:
    board = SackScoreboard()
    sacked: set[int] = set()
    una = 0
    for first, second in steps:
        if first == "ack":
            una = max(una, second)
            board.advance(una)
            sacked = {off for off in sacked if off >= una}
        else:
            assert isinstance(first, int)
            start, end = max(first, una), max(first, una) + second
            new = set(range(start, end)) - sacked
            assert board.add(start, end) == len(new)
            sacked |= new
        assert list(zip(board.starts, board.ends, strict=True)) == _runs(sacked)
        for off in range(0, 160, 7):
            assert board.sacked_above(off) == sum(1 for s in sacked if s >= off)
            assert board.is_sacked(off) == (off in sacked)


@given(st.lists(st.integers(-5, 50)).map(sorted), st.integers(-10, 60))
def test_the_searches_are_the_bisect_modules(values: list[int], x: int) -> None:
    import bisect

    assert bisect_left(values, x) == bisect.bisect_left(values, x)
    assert bisect_right(values, x) == bisect.bisect_right(values, x)
