"""The ladder (message sequence) diagram: the first or last N segments between the two ends of
a connection, each an arrow from the sender's line at the time it left to the receiver's line
at the time it arrived, labelled like "SYN+ACK seq=0 ack=1". Lost segments stop half-way at a
cross. Retransmissions are red.

Matching sends to arrivals needs both ends in the trace. A segment is matched to an arrival
with the same header (sequence, ack, flags, length, window and options — timestamps make that
nearly unique); of several, the latest send before the arrival wins, so a lost segment and
its retransmission are told apart.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from netsim.errors import UsageError
from netsim.stack.events import SegmentRecord
from netsim.trace.plots._common import MASK, as_recorder, isn_of, pick_conn
from netsim.trace.recorder import ConnLike, Recorder, peer_of

__all__ = ["LadderMessage", "flag_names", "ladder_data", "message_label", "plot_ladder"]

_FLAG_NAMES = (("S", "SYN"), ("F", "FIN"), ("R", "RST"), ("P", "PSH"), ("U", "URG"),
               ("E", "ECE"), ("W", "CWR"), (".", "ACK"))
_COLOR = {0: "#1f4e9c", 1: "#2a7f3f"}
_RETX = "#d62728"


def flag_names(flags: str) -> str:
    """tcpdump letters to names: "S." -> "SYN+ACK", "FP." -> "FIN+PSH+ACK"."""
    names = [name for letter, name in _FLAG_NAMES if letter in flags]
    return "+".join(names) if names else "none"


@dataclass
class LadderMessage:
    """One segment: sent by end `side` (0 = left, 1 = right) at `t_tx`, arrived at `t_rx`
    (None if it never arrived)."""

    side: int
    t_tx: float
    t_rx: float | None
    seg: SegmentRecord
    label: str
    retransmit: bool


def message_label(seg: SegmentRecord, relative: bool = True, sack_base: int = 0) -> str:
    """ "SYN seq=0", "SYN+ACK seq=0 ack=1", "ACK seq=1 ack=1 len=1448 SACK 2897-4345"."""
    seq = seg.seq_rel if relative else seg.seq
    parts = [flag_names(seg.flags), f"seq={seq}"]
    if "." in seg.flags:
        parts.append(f"ack={seg.ack_rel if relative else seg.ack}")
    if seg.length:
        parts.append(f"len={seg.length}")
    if seg.sack:
        blocks = [((a - sack_base) & MASK, (b - sack_base) & MASK) if relative else (a, b)
                  for a, b in seg.sack]
        parts.append("SACK " + ",".join(f"{a}-{b}" for a, b in blocks))
    return " ".join(parts)


def _key(s: SegmentRecord) -> tuple[Any, ...]:
    return (s.seq, s.ack, s.flags, s.length, s.window, s.options)


def _match(tx: list[SegmentRecord], rx: list[SegmentRecord],
           syn_arrival: float | None) -> list[float | None]:
    """For each send in `tx`, the time it arrived (None: lost)."""
    by_key: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(tx):
        by_key[_key(s)].append(i)
    arrival: list[float | None] = [None] * len(tx)
    used = [False] * len(tx)
    for r in rx:
        cands = by_key.get(_key(r), [])
        best = None
        for i in cands:  # the latest unmatched send no later than the arrival
            if not used[i] and tx[i].time <= r.time:
                best = i
        if best is not None:
            used[best] = True
            arrival[best] = r.time
    if syn_arrival is not None:  # the listener did not trace the SYN it received
        syns = [i for i, s in enumerate(tx) if s.flags == "S" and s.time <= syn_arrival
                and arrival[i] is None]
        if syns:
            arrival[syns[-1]] = syn_arrival
    # Identical segments: pair sends and arrivals in order, so their arrows never cross.
    for idxs in by_key.values():
        got = [i for i in idxs if arrival[i] is not None]
        if len(got) > 1:
            times = sorted(t for t in (arrival[i] for i in got) if t is not None)
            for i, t in zip(got, times, strict=True):
                arrival[i] = t
    return arrival


def _listener_syn_time(rec: Recorder, end: str) -> float | None:
    """When `end` (a passive opener) got the SYN, if it traced the transition but not the
    segment."""
    if any(s.flags == "S" for s in rec.segments(end, "rx")):
        return None
    for st in rec.states(end):
        if st.old == "LISTEN" and st.new == "SYN-RECEIVED":
            return st.time
    return None


def ladder_data(source: Any, conn: ConnLike = None, *, first: int | None = 20,
                last: int | None = None, relative: bool = True) -> tuple[list[str],
                                                                         list[LadderMessage]]:
    """The two ends (left first: the one that sent the first SYN) and the messages drawn."""
    rec = as_recorder(source)
    name = pick_conn(rec, conn)
    ends = [name, peer_of(name)]
    if not rec.segments(ends[1]):
        raise UsageError(f"conn: the trace has only one end of {name}; a ladder diagram needs "
                         "both (record both hosts)")
    # The active opener on the left.
    firsts = [next((s for s in rec.segments(e, "tx") if s.flags == "S"), None) for e in ends]
    if firsts[0] is None and firsts[1] is not None:
        ends.reverse()
    msgs: list[LadderMessage] = []
    for side, end in enumerate(ends):
        other = ends[1 - side]
        tx = rec.segments(end, "tx")
        arrivals = _match(tx, rec.segments(other, "rx"), _listener_syn_time(rec, other))
        base = isn_of(rec.segments(other, "tx")) or 0  # SACK blocks are in the peer's space
        for seg, t_rx in zip(tx, arrivals, strict=True):
            msgs.append(LadderMessage(side, seg.time, t_rx, seg,
                                      message_label(seg, relative, base), seg.retransmit))
    msgs.sort(key=lambda m: (m.t_tx, m.side))
    if last is not None:
        if last < 1:
            raise UsageError(f"last: {last} is not a positive number of segments")
        msgs = msgs[-last:]
    elif first is not None:
        if first < 1:
            raise UsageError(f"first: {first} is not a positive number of segments")
        msgs = msgs[:first]
    return ends, msgs


def _rows(msgs: list[LadderMessage]) -> dict[tuple[int, int], float]:
    """Even spacing: every send and every arrival gets its own row, in time order (at the same
    instant an arrival comes first: the sends are its consequence). Keys: (message, 0 = send
    or 1 = arrival)."""
    events: list[tuple[float, int, int, int]] = []  # (time, order, message, which)
    for i, m in enumerate(msgs):
        events.append((m.t_tx, 1, i, 0))
        if m.t_rx is not None:
            # A capture sees a segment leave and arrive at the same instant: then the
            # arrival goes after the send.
            events.append((m.t_rx, 0 if m.t_rx > m.t_tx else 2, i, 1))
    events.sort()
    return {(i, which): float(row) for row, (_t, _o, i, which) in enumerate(events)}


def _clock(t: float, span: float) -> str:
    """A time beside a host line: in ms, or in µs when everything shown is that fast."""
    if span < 0.005:
        return f"{t * 1e6:.0f} µs"
    return f"{t * 1000:.1f} ms"


def _would_arrive(msgs: list[LadderMessage], rows: dict[tuple[int, int], float],
                  i: int) -> float:
    """Where lost message i would have arrived: between the arrivals of its neighbours."""
    side = msgs[i].side
    before = [rows[(j, 1)] for j in range(i - 1, -1, -1)
              if msgs[j].side == side and msgs[j].t_rx is not None][:1]
    after = [rows[(j, 1)] for j in range(i + 1, len(msgs))
             if msgs[j].side == side and msgs[j].t_rx is not None][:1]
    y0 = rows[(i, 0)]
    if before and after:
        return max((before[0] + after[0]) / 2.0, y0 + 1.0)
    if after:
        return max(after[0] - 0.5, y0 + 1.0)
    if before:
        return max(before[0] + 0.5, y0 + 1.0)
    return y0 + 2.0


def plot_ladder(source: Any, conn: ConnLike = None, *, first: int | None = 20,
                last: int | None = None, relative: bool = True, spacing: str = "even",
                ax: Axes | None = None, title: str | None = None) -> Figure:
    """A ladder diagram of the first (or, with `last`, the last) N segments of a connection.

    relative: sequence numbers relative to each side's ISN (as Wireshark shows them), or
    absolute. spacing: "even" gives every send and arrival its own row (readable even for a
    burst of back-to-back segments; the times are written beside the lines), "time" puts
    them at their true times (slopes show the delay).

    The arrows are annotations with gid "message" (xytext = the send, xy = the arrival, in
    data coordinates: x 0 = left end, 1 = right end; y = row, or ms since the first send);
    lost segments are lines with gid "lost" ending at a cross; labels are texts with gid
    "label".
    """
    if spacing not in ("even", "time"):
        raise UsageError(f"spacing: {spacing!r} is not 'even' or 'time'")
    rec = as_recorder(source)
    ends, msgs = ladder_data(rec, conn, first=first, last=last, relative=relative)
    if not msgs:
        raise UsageError("trace: no segments to draw")
    t0 = min(m.t_tx for m in msgs)
    span = max(max(m.t_tx, m.t_rx or 0.0) for m in msgs) - t0
    rows = _rows(msgs) if spacing == "even" else {}

    def y_of(i: int, which: int, t: float) -> float:
        if spacing == "even":
            return rows[(i, which)]
        return (t - t0) * 1000.0

    nrows = len(rows) if spacing == "even" else 0
    if ax is None:
        height = max(4.0, 0.8 + 0.24 * nrows) if spacing == "even" else 7.0
        fig = Figure(figsize=(9.0, height))
        fig.subplots_adjust(left=0.1, right=0.9, top=1 - 0.75 / height, bottom=0.35 / height)
        ax = fig.add_subplot()
    else:
        f = ax.figure
        assert isinstance(f, Figure)
        fig = f
    ys: list[float] = []
    placed: list[tuple[LadderMessage, float, float, float, float]] = []
    durations = [m.t_rx - m.t_tx for m in msgs if m.t_rx is not None]
    typical = sorted(durations)[len(durations) // 2] if durations else 0.0
    for i, m in enumerate(msgs):
        x0, x1 = float(m.side), float(1 - m.side)
        y0 = y_of(i, 0, m.t_tx)
        if m.t_rx is not None:
            y1 = y_of(i, 1, m.t_rx)
        elif spacing == "even":
            y1 = _would_arrive(msgs, rows, i)
        else:
            y1 = (m.t_tx + typical - t0) * 1000.0
        ys += [y0, y1]
        placed.append((m, x0, y0, x1, y1))
    lo, hi = min(ys), max(ys)
    pad = 0.8 if spacing == "even" else max((hi - lo) * 0.04, 0.5)
    ax.set_xlim(-0.32, 1.32)
    ax.set_ylim(hi + pad, lo - pad)  # time runs down
    for x in (0.0, 1.0):
        ax.axvline(x, color="#444444", lw=2.2, zorder=1, gid="host")
    # Host names above the lines.
    for side, end in enumerate(ends):
        host = rec.host_of(end) or "?"
        ax.text(float(side), 1.0, f"{host}\n{end.split('>')[0]}",
                transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize="medium", fontweight="bold", gid="host")
    ax.set_xticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if spacing == "time":
        ax.set_ylabel("time (ms since the first segment shown)")
    else:
        ax.set_yticks([])
    fig.canvas.draw_without_rendering() if hasattr(fig.canvas, "draw_without_rendering") else None
    to_px = ax.transData.transform
    for m, x0, y0, x1, y1 in placed:
        color = _RETX if m.retransmit else _COLOR[m.side]
        if m.t_rx is None:
            xm = 0.5
            ym = y0 + (y1 - y0) * 0.5
            ax.plot([x0, xm], [y0, ym], color=_RETX, lw=1.3, ls="--", gid="lost")
            ax.plot([xm], [ym], marker="x", ms=10, mew=2.5, color=_RETX, gid="lost", zorder=6)
            end_x, end_y = xm, ym
        else:
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), gid="message",
                        arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.3,
                                    "shrinkA": 0, "shrinkB": 0, "mutation_scale": 12})
            end_x, end_y = x1, y1
        (px0, py0), (px1, py1) = to_px([(x0, y0), (end_x, end_y)])
        angle = math.degrees(math.atan2(py1 - py0, px1 - px0))
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        text = m.label + ("  (retransmission)" if m.retransmit else "")
        if m.t_rx is None:
            text += "  (lost)"
        # Just above the arrow, starting near the sender's line: labels of a burst of
        # parallel arrows then stack one row apart, and arrows from the other side cross
        # only their ends.
        frac = 0.06 / abs(end_x - x0)
        lx, ly = x0 + (end_x - x0) * frac, y0 + (end_y - y0) * frac
        ha = "left" if m.side == 0 else "right"
        ax.annotate(text, xy=(lx, ly), xytext=(0, 2.5), textcoords="offset points",
                    rotation=angle, rotation_mode="anchor", ha=ha, va="bottom", fontsize=8,
                    color=color, gid="label", annotation_clip=False,
                    bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none",
                          "alpha": 0.75})
        if spacing == "even":  # the times beside the lines (the y axis shows them otherwise)
            for x, y, t in ((x0, y0, m.t_tx), (x1, y1, m.t_rx)):
                if t is None:
                    continue
                side_x = x - 0.03 if x == 0.0 else x + 0.03
                ax.text(side_x, y, _clock(t - t0, span),
                        ha="right" if x == 0.0 else "left", va="center", fontsize=7,
                        color="#666666", gid="time")
    ax.set_title(title if title is not None else
                 f"{ends[0]}: {'last' if last is not None else 'first'} {len(msgs)} segments"
                 f" ({'relative' if relative else 'absolute'} sequence numbers)",
                 fontsize="medium", pad=34)
    return fig
