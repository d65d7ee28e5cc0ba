"""What a TcpPeer (assignment 10) may return, checked before the adapter
(netsim.stack.tcp.peer_adapter) sends anything: the peer may be a student's, so every value
is untrusted. A bad one is a one-line `PeerError` naming the call, the segment and the field;
the values it quotes are short and escaped.
"""

from __future__ import annotations

from typing import Any

from netsim.errors import NetsimError

__all__ = ["MASK", "PeerError", "Seg", "check_bool", "check_segments", "is_int", "raised", "shown"]

MASK = 0xFFFFFFFF
#: (seqno, ackno, window, syn, fin, rst, payload): one segment, as netsim.stack.tcp.lab_peer
Seg = tuple[int, int | None, int, bool, bool, bool, bytes]


class PeerError(NetsimError):
    """What a peer returned (or raised) that the adapter cannot send."""


def shown(value: Any, limit: int = 60) -> str:
    """A short, printable picture of a value a peer returned (it may be anything)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    text = text.encode("ascii", "backslashreplace").decode()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def raised(exc: BaseException) -> str:
    """An exception a peer raised, in one short escaped line."""
    return f"{type(exc).__name__}: {shown(str(exc), 160)}"


def is_int(v: Any, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def check_segments(value: Any, call: str, max_payload: int) -> list[Seg]:
    """`value` (what `call` returned) as a list of segments; PeerError naming the first thing
    wrong with it otherwise."""
    if not isinstance(value, list):
        raise PeerError(f"{call} returned {shown(value)}; it must return a list of segments")
    out: list[Seg] = []
    for i, seg in enumerate(value):
        where = f"{call}, segment {i}"
        if not isinstance(seg, tuple) or len(seg) != 7:
            raise PeerError(f"{where}: {shown(seg)} is not a 7-tuple (seqno, ackno, window, "
                            "syn, fin, rst, payload)")
        seqno, ackno, window, syn, fin, rst, payload = seg
        if not is_int(seqno, 0, MASK):
            raise PeerError(f"{where}: seqno {shown(seqno)} is not an int in [0, 2**32)")
        if ackno is not None and not is_int(ackno, 0, MASK):
            raise PeerError(f"{where}: ackno {shown(ackno)} is neither None nor an int in "
                            "[0, 2**32)")
        if not is_int(window, 0, 0xFFFF):
            raise PeerError(f"{where}: window {shown(window)} is not an int in [0, 65535]")
        for name, flag in (("syn", syn), ("fin", fin), ("rst", rst)):
            if not isinstance(flag, bool):
                raise PeerError(f"{where}: {name} {shown(flag)} is not a bool")
        if not isinstance(payload, bytes):
            raise PeerError(f"{where}: payload {shown(payload)} is not bytes")
        if len(payload) > max_payload:
            raise PeerError(f"{where}: {len(payload)} bytes of payload; at most max_payload = "
                            f"{max_payload}")
        if rst and (syn or fin or payload):
            raise PeerError(f"{where}: a RST with SYN, FIN or payload")
        out.append((seqno, ackno, window, syn, fin, rst, payload))
    return out


def check_bool(value: Any, call: str) -> bool:
    if not isinstance(value, bool):
        raise PeerError(f"{call} returned {shown(value)}; it must return a bool")
    return value
