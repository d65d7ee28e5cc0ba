"""Differential check of assignment 03: the reassembler against `SegmentReassembler`.

Sequences are cut from one stream (every copy of a byte is the same, as in real TCP: which
copy of conflicting data wins is not part of the assignment), with the window edge, the FIN
at the edge, empty and duplicate segments, and segments reaching back into delivered data.
After each ``insert`` it compares what was returned, ``next_index``, ``pending_bytes``,
``finished`` and ``blocks()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.grading.differential.core import (
    Call,
    DiffOutcome,
    Example,
    Observation,
    Spec,
    explore,
    more,
    pick,
    plain,
)
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
        while more(draw, len(calls), 14):
            nxt = ref.next_index
            window_end = nxt + pick(draw, [1 << 20, 0, 1, 2, 3, 4, 7, 16], 0, 40)
            how = pick(draw, ["any", "at_next", "to_edge", "past_edge", "old", "tail",
                              "empty"])
            if how == "at_next":
                start = nxt
            elif how == "old":
                start = max(0, nxt - pick(draw, [0, 1, 2, 3, 6]))
            elif how == "tail":
                start = max(0, length - pick(draw, [0, 1, 2, 3, 6]))
            else:
                start = pick(draw, [0], 0, length)
            start = min(start, length)
            if how == "to_edge":
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


def observe(r: Any, call: Call) -> Observation:
    out = r.insert(*call.values())
    blocks = r.blocks()
    return [("returned", plain(out)), ("next_index", plain(r.next_index)),
            ("pending_bytes", plain(r.pending_bytes)), ("finished", plain(r.finished)),
            ("blocks()", [plain(tuple(b)) for b in blocks] if isinstance(blocks, list | tuple)
             else plain(blocks))]


SPEC = Spec("03-reassembler", "r", "Reassembler", examples, observe, RULES,
            construct=lambda factory, params: factory())


def check(candidate: Callable[[], Any], reference: Callable[[], Any] = SegmentReassembler, *,
          max_examples: int = 300, budget: float = 8.0, seed: int = 3) -> DiffOutcome:
    """Random insert sequences on `candidate()` and `reference()`, compared step by step."""
    return explore(SPEC, candidate, [reference], max_examples=max_examples, budget=budget,
                   seed=seed)
