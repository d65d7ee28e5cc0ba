"""The sender's SACK scoreboard and the loss-recovery rules of RFC 6675.

Offsets are 64-bit stream positions (no wraparound); the connection converts
sequence numbers. Blocks are disjoint, sorted, half-open [start, end).
"""

from __future__ import annotations

from collections.abc import Sequence

from netsim.stack.tcp.seq import seq_ge, seq_le, seq_lt


def is_dsack(blocks: Sequence[tuple[int, int]], ack: int) -> bool:
    """RFC 2883 §5: the first SACK block of an ACK reports a duplicate (a D-SACK block) if
    it starts below that ACK's own cumulative ACK field (never SND.UNA, which a reordered ACK
    would fool), or if it lies within the second block. Blocks are (left, right) sequence
    numbers."""
    if not blocks:
        return False
    left, right = blocks[0]
    if seq_lt(left, ack):
        return True
    if len(blocks) > 1:
        left2, right2 = blocks[1]
        return seq_ge(left, left2) and seq_le(right, right2)
    return False


class SackScoreboard:
    __slots__ = ("starts", "ends")  # one per connection: no instance dict

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def __len__(self) -> int:
        return len(self.starts)

    def clear(self) -> None:
        self.starts.clear()
        self.ends.clear()

    def add(self, start: int, end: int) -> int:
        """Record [start, end) as SACKed; returns how many bytes were newly SACKed."""
        if end <= start:
            return 0
        starts, ends = self.starts, self.ends
        n = len(starts)
        top = n - 1
        if top < 0 or ends[top] < start:
            # a block above all the others (as when a loss opens a hole)
            starts.append(start)
            ends.append(end)
            return end - start
        # the first block that ends at or after start: the highest one when the block below
        # it ends before start (the usual case behind one hole: that block grows)
        i = top if top == 0 or ends[top - 1] < start else bisect_left(ends, start)
        j = i
        new_start, new_end = start, end
        covered = 0
        while j < n and starts[j] <= end:
            s, e = starts[j], ends[j]
            covered += (e if e < end else end) - (s if s > start else start)
            if s < new_start:
                new_start = s
            if e > new_end:
                new_end = e
            j += 1
        if j == i + 1:  # (the usual case: one block grows)
            starts[i] = new_start
            ends[i] = new_end
        elif j == i:
            starts.insert(i, new_start)
            ends.insert(i, new_end)
        else:
            starts[i:j] = [new_start]
            ends[i:j] = [new_end]
        return (end - start) - max(covered, 0)

    def advance(self, una: int) -> None:
        """Forget everything below the cumulative ACK."""
        starts, ends = self.starts, self.ends
        while starts and ends[0] <= una:
            del starts[0]
            del ends[0]
        if starts and starts[0] < una:
            starts[0] = una

    def sacked_above(self, off: int) -> int:
        starts, ends = self.starts, self.ends
        total = 0
        for k in range(len(starts)):
            e = ends[k]
            if e > off:
                s = starts[k]
                total += e - (s if s > off else off)
        return total

    def is_sacked(self, off: int) -> bool:
        i = bisect_right(self.starts, off) - 1
        return i >= 0 and off < self.ends[i]

    def is_lost(self, off: int, mss: int, dupthresh: int = 3) -> bool:
        """RFC 6675 §4 IsLost: DupThresh discontiguous SACKed blocks above `off`, or more
        than (DupThresh - 1) * SMSS bytes SACKed above it."""
        i = bisect_right(self.starts, off)
        if len(self.starts) - i >= dupthresh:
            return True
        return self.sacked_above(off) > (dupthresh - 1) * mss

    def holes(self, una: int, high: int) -> list[tuple[int, int]]:
        """Un-SACKed ranges between the cumulative ACK and the highest byte sent."""
        out = []
        pos = una
        for s, e in zip(self.starts, self.ends, strict=True):
            if e <= pos:
                continue
            if s >= high:
                break
            if s > pos:
                out.append((pos, s))
            pos = max(pos, e)
        if pos < high:
            out.append((pos, high))
        return out

    def pipe(self, una: int, high: int, high_rxt: int, mss: int, dupthresh: int = 3) -> int:
        """RFC 6675 §4 SetPipe: bytes thought to be in the network."""
        pipe = 0
        for a, b in self.holes(una, high):
            if not self.is_lost(a, mss, dupthresh):
                pipe += b - a  # (a) not lost: still in flight
            if high_rxt > a:
                pipe += min(b, high_rxt) - a  # (b) retransmitted
        return pipe

    def next_lost(self, high_rxt: int, una: int, high: int, mss: int,
                  dupthresh: int = 3) -> tuple[int, int] | None:
        """RFC 6675 §4 NextSeg rule (1): the first un-SACKed range above HighRxt that IsLost,
        as (start, length <= mss)."""
        for a, b in self.holes(una, high):
            start = max(a, high_rxt)
            if start >= b:
                continue
            if self.is_lost(start, mss, dupthresh):
                return start, min(mss, b - start)
        return None

    def next_unsacked_below_sack(self, high_rxt: int, una: int, high: int,
                                 mss: int) -> tuple[int, int] | None:
        """NextSeg rule (3): when nothing is lost and there is no new data, the first
        un-SACKed range above HighRxt and below the highest SACKed byte."""
        if not self.ends:
            return None
        top = self.ends[-1]
        for a, b in self.holes(una, min(high, top)):
            start = max(a, high_rxt)
            if start < b:
                return start, min(mss, b - start)
        return None


def uncovered(board: SackScoreboard, lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of [lo, hi) the scoreboard does not hold yet."""
    starts, ends = board.starts, board.ends
    if not starts or starts[-1] <= lo:
        # the usual case: no block above lo's, so only the highest block, if any, can hold
        # part of [lo, hi) (the blocks are disjoint and sorted)
        pos = ends[-1] if starts and ends[-1] > lo else lo
        return [(pos, hi)] if pos < hi else []
    out = []
    pos = lo
    i = max(bisect_right(ends, lo) - 1, 0)
    while i < len(starts) and starts[i] < hi:
        s, e = starts[i], ends[i]
        if e > pos:
            if s > pos:
                out.append((pos, min(s, hi)))
            pos = max(pos, e)
        i += 1
    if pos < hi:
        out.append((pos, hi))
    return out


# bisect's two searches over a sorted list of ints, written out: compiled, a loop on native
# ints costs less than a call into the bisect module with boxed arguments
def bisect_left(a: list[int], x: int) -> int:
    """The first index whose value is >= x (bisect.bisect_left)."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def bisect_right(a: list[int], x: int) -> int:
    """The first index whose value is > x (bisect.bisect_right)."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo
