"""Differential check of assignment 03: the reassembler against `SegmentReassembler`.

Sequences are cut from one stream (every copy of a byte is the same, as in real TCP: which
copy of conflicting data wins is not part of the assignment), with the window edge, the FIN
at the edge, empty and duplicate segments, segments reaching back into delivered data, and
combs of one-byte segments leaving five to eight holes (every held range is listed, not only
as many as fit in a segment's SACK option).
After each ``insert`` it compares what was returned, ``next_index``, ``pending_bytes``,
``finished`` and ``blocks()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.grading.differential.spec import (
    Call,
    DiffOutcome,
    Example,
    Mismatch,
    Observation,
    Spec,
    more,
    pick,
)
from netsim.grading.differential.values import held, plain
from netsim.stack.tcp.reassembly import SegmentReassembler

STREAM = bytes(range(65, 65 + 26)) * 4  # distinct neighbours, so a shifted byte shows

RULES = {
    "returned": "insert() returns exactly the bytes that became contiguous, each byte once",
    "next_index": "next_index is the first byte not yet returned",
    "pending_bytes": "pending_bytes counts each distinct held byte once, only bytes inside "
                     "[next_index, window_end)",
    "finished": "finished once the last byte of a segment inserted with is_last (that fit "
                "the window) has been assembled",
    "blocks()": "blocks() lists the held ranges [start, end), sorted, touching or "
                "overlapping ranges merged (SACK blocks, RFC 2018)",
}


def examples() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Example:
        length = pick(draw, [8, 0, 1, 2, 5, 13, 30, 60], 0, 100)
        ref = SegmentReassembler()
        calls: list[Call] = []
        while more(draw, len(calls), 16, least=5):
            nxt = ref.next_index
            window_end = nxt + pick(draw, [1 << 20, length - nxt, 0, 1, 2, 3, 4, 7, 16,
                                           1 << 20], 0, 40)
            how = pick(draw, ["any", "ahead", "touch", "gap1", "at_next", "to_edge",
                              "past_edge", "old", "tail", "empty", "comb"])
            if how == "comb":  # many holes at once: blocks() lists every held range
                for k in range(pick(draw, [5, 6, 8])):
                    start = nxt + 1 + 2 * k
                    if start >= length:
                        break
                    data = STREAM[start:start + 1]
                    ref.insert(start, data, False, nxt + (1 << 20))
                    calls.append(Call("insert", (("index", start), ("data", data),
                                                 ("is_last", False),
                                                 ("window_end", nxt + (1 << 20)))))
                continue
            spans = ref.blocks()
            if how in ("touch", "gap1") and spans:
                s, e = pick(draw, spans)
                gap = 0 if how == "touch" else 1
                size = pick(draw, [1, 2, 3])
                if pick(draw, [True, False]):
                    start, end = e + gap, e + gap + size
                else:
                    start, end = s - gap - size, s - gap
                start, end = max(0, min(start, length)), max(0, min(end, length))
                start = min(start, end)
            elif how == "ahead":  # leave a hole of 1 to 3 bytes
                start = nxt + pick(draw, [1, 2, 3, 5])
            elif how == "at_next":
                start = nxt
            elif how == "old":
                start = max(0, nxt - pick(draw, [0, 1, 2, 3, 6]))
            elif how == "tail":
                start = max(0, length - pick(draw, [0, 1, 2, 3, 6]))
            else:
                start = pick(draw, [0], 0, length)
            start = min(start, length)
            if how in ("touch", "gap1") and spans:
                pass
            elif how == "ahead":
                end = min(length, start + pick(draw, [1, 2, 3]))
            elif how == "to_edge":
                end = min(max(start, window_end), length)
            elif how == "past_edge":
                end = min(max(start, window_end + 1), length)
            elif how in ("tail", "empty"):
                end = length if how == "tail" else start
            else:
                end = min(length, start + pick(draw, [1, 0, 2, 3, 5], 0, 20))
            is_last = end == length and pick(draw, [False, True])
            data = STREAM[start:end]
            ref.insert(start, data, is_last, window_end)
            calls.append(Call("insert", (("index", start), ("data", data),
                                         ("is_last", is_last), ("window_end", window_end))))
        return Example((), tuple(calls))

    return build()


def _covered(blocks: Any) -> set[int]:
    return {i for s, e in blocks for i in range(int(s), int(e))}


def diagnose(m: Mismatch) -> str | None:
    """Held ranges right as a set but not in the promised form."""
    want, got = dict(m.want).get("blocks()"), dict(m.got).get("blocks()")
    if "blocks()" in m.differs and isinstance(got, list | tuple) and \
            _covered(want) == _covered(got):
        return ("the same bytes, in another form: blocks() must be sorted, with touching "
                "ranges merged into one")
    return None


def observe(r: Any, call: Call) -> Observation:
    out = r.insert(*call.values())
    blocks = r.blocks()
    return [("returned", plain(out)), ("next_index", plain(r.next_index)),
            ("pending_bytes", plain(r.pending_bytes)), ("finished", plain(r.finished)),
            ("blocks()", [plain(tuple(b)) for b in blocks] if isinstance(blocks, list | tuple)
             else plain(blocks))]


def resource_probe(candidate: Callable[[], Any], size: Callable[[Any], int] = held,
                   total: int = 65536, seg: int = 512, window: int = 4096) -> DiffOutcome | None:
    """A `total`-byte stream in `seg`-byte segments, each pair swapped so every other one is
    held, inside a `window`-byte window; once all is delivered, what the object still holds
    must be about a window, not the stream."""
    r = candidate()
    calls = 0
    order = []
    for k in range(0, total // seg, 2):
        order += [k + 1, k]
    for k in order:
        start = k * seg
        r.insert(start, bytes(seg), start + seg >= total, r.next_index + window)
        calls += 2
    amount = size(r)
    calls += 1
    bound = 2 * window + 1024
    if amount <= bound:
        return None
    script = "\n".join([
        "the resource probe (after the random sequences all agreed):",
        "  r = Reassembler()",
        f"  {total} bytes in {seg}-byte segments, every pair swapped (1, 0, 3, 2 ...), "
        f"window_end = next_index + {window}: all delivered",
        f"      held after delivery: reference 0 bytes, yours about {amount} (more than "
        f"{bound}: delivered bytes are never released)"])
    message = ("differential check: held after delivery differs from netsim's reference "
               f"({amount} bytes or entries still held once the whole stream was delivered; "
               "release what was returned)")
    return DiffOutcome(False, message + "\n\n" + script, 1, calls, 0.0, None, 0, message,
                       f"held after delivery <= {bound}", f"held after delivery = {amount}",
                       script)


SPEC = Spec("03-reassembler", "r", "Reassembler", examples, observe, RULES,
            construct=lambda factory, params: factory(), diagnose=diagnose,
            references=[SegmentReassembler], max_examples=100, seed=3, probe=resource_probe)
