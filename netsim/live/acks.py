"""Fewer ACKs to the kernel from a batch of frames read together (issue 20: the live path).

A TAP delivers frames in batches: while netsim handled one frame, the kernel queued more. The
stack answers each as if it had arrived alone: an ACK for every second full-sized segment
(RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2, RFC 5681 §4.2). Each ACK is a `write` to the TAP, and
on the kernel's side a run of its TCP input; the ACKs of one batch leave at the same moment
anyway, and of a run of cumulative ACKs of one connection only the last tells the sender
anything the others do not. `coalesce` keeps that one, as a receiver whose network card
merges the segments of a burst (Linux's GRO) acknowledges the burst once.

What it takes out is narrow, so that nothing a sender relies on is lost:

- only plain ACKs: IPv4 without options, TCP with exactly the ACK flag, no data, and no
  options but the timestamp option (RFC 7323) laid out as Linux and netsim send it. A
  segment with data, SYN, FIN, RST, URG or PSH, or with SACK blocks (RFC 2018: they report
  holes, each one counts), always leaves;
- only one followed, in the same batch, by a plain ACK of the same connection whose
  acknowledgment number is *higher* (modulo 2**32). A duplicate ACK (the same number: RFC
  5681 §3.2's fast retransmit counts them) always leaves, and so does the last of the batch,
  so the sender learns everything at the same time it would have;
- the batch is bounded (`netsim.live.tap.TapPort` flushes every `ack_batch` frames read), so
  an ACK is held back by at most the time netsim takes to handle those frames, far below
  RFC 9293's 0.5 s limit on delaying an ACK.

This thins the every-second-segment ACKs of a burst into stretch ACKs: RFC 2525 §2.13
("Stretch ACK violation") names what that costs a sender that counts ACKs rather than bytes
(RFC 3465 byte counting, which Linux uses, does not mind), and RFC 9293's every second
segment is a SHOULD. ``LiveConfig.coalesce_acks = False`` turns it off.
"""

from __future__ import annotations

from typing import Final

__all__ = ["coalesce", "plain_ack_key"]

_ETH_IPV4: Final = b"\x08\x00"
_TS_HEAD: Final = b"\x01\x01\x08\x0a"  # NOP, NOP, timestamps (kind 8, length 10)


def plain_ack_key(frame: bytes) -> bytes | None:
    """The connection (addresses and ports, as bytes) of a plain ACK (see the module
    docstring), or None for any other frame."""
    # Ethernet II, IPv4 with a 20-byte header, TCP; flags (byte 47) exactly ACK, no AE/NS
    if len(frame) < 54 or frame[14] != 0x45 or frame[23] != 6 or frame[47] != 0x10 \
            or frame[12:14] != _ETH_IPV4:
        return None
    hlen = (frame[46] >> 4) << 2
    total = (frame[16] << 8) | frame[17]
    if frame[46] & 0x0F or total != 20 + hlen:
        return None  # reserved bits or AE set, or data
    if hlen == 32:
        if frame[54:58] != _TS_HEAD:
            return None
    elif hlen != 20:
        return None  # other options (SACK blocks among them)
    return frame[26:38]


def coalesce(frames: list[bytes]) -> tuple[list[bytes], int]:
    """`frames` (to be written in this order) without each plain ACK that a later plain ACK
    of the same connection in `frames` acknowledges past; and how many were taken out."""
    higher: dict[bytes, int] = {}  # per connection: the ack number of its next plain ACK
    keep = [True] * len(frames)
    dropped = 0
    for i in range(len(frames) - 1, -1, -1):
        frame = frames[i]
        key = plain_ack_key(frame)
        if key is None:
            continue
        ack = int.from_bytes(frame[42:46], "big")
        later = higher.get(key)
        if later is not None and 0 < ((later - ack) & 0xFFFFFFFF) < 0x80000000:
            keep[i] = False
            dropped += 1
            continue
        higher[key] = ack
    if not dropped:
        return frames, 0
    return [f for f, k in zip(frames, keep, strict=True) if k], dropped
