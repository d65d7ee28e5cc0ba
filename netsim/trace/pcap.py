"""Trace records from a pcap: the TCP segments of any capture (netsim's, tcpdump's, Wireshark's)
as `SegmentRecord`s, so that the plots work on traffic netsim did not trace itself — Linux
talking to netsim in live mode, or Linux talking to Linux.

    rec = records_from_pcap("run.pcap", hosts={"10.0.0.1": "linux", "10.0.0.2": "netsim"})
    plot_ladder(rec); plot_time_sequence(rec)

Each TCP frame becomes two records: a "tx" record at its source and an "rx" record at its
destination, both at the capture time (a capture sees one point of the path). Sequence numbers
are made relative to each side's SYN (or, without one, to the first byte seen), as Wireshark
does; a segment that repeats bytes already seen from its sender is marked as a retransmission.
Frames that are not IPv4/TCP, or do not parse, are skipped and counted in `skipped`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from netsim import argcheck
from netsim.errors import UsageError
from netsim.stack.events import SegmentRecord
from netsim.trace.recorder import Recorder
from netsim.wire.errors import WireError
from netsim.wire.ipv4 import PROTO_TCP, parse_ipv4
from netsim.wire.pcap import read_pcap
from netsim.wire.tcp import ACK, FIN, OPT_SACK, SYN, flags_str, format_options, parse_tcp

__all__ = ["PcapTrace", "records_from_pcap"]

MASK = 0xFFFFFFFF
_ETH_IPV4 = b"\x08\x00"


class PcapTrace(Recorder):
    """A `Recorder` filled from a pcap; `skipped` counts the frames that were not TCP."""

    skipped: int = 0


def records_from_pcap(path: str | Path, hosts: Mapping[str, str] | None = None,
                      relative_time: bool = True) -> PcapTrace:
    """The TCP segments of the pcap at `path` as trace records.

    hosts: names for addresses (``{"10.0.0.1": "linux"}``); other hosts are named by their
    address. relative_time: times in seconds since the first frame (else as captured).
    """
    src = Path(argcheck.path("path", path))
    if not src.is_file():
        raise UsageError(f"pcap: {str(src)!r} is not a file")
    names = dict(hosts or {})
    out = PcapTrace()
    isn: dict[str, int] = {}  # end name ("ip:port>ip:port") -> its initial sequence number
    highest: dict[str, int] = {}  # end name -> highest relative sequence number sent + 1
    t0: float | None = None
    for record in read_pcap(src):
        frame = record.frame
        if t0 is None:
            t0 = record.timestamp if relative_time else 0.0
        if frame[12:14] != _ETH_IPV4:
            out.skipped += 1
            continue
        try:
            pkt = parse_ipv4(frame[14:], False)
            if pkt.protocol != PROTO_TCP or pkt.fragment_offset or pkt.mf:
                out.skipped += 1
                continue
            seg = parse_tcp(pkt.payload)
        except WireError:
            out.skipped += 1
            continue
        a, b = f"{pkt.src}:{seg.src_port}", f"{pkt.dst}:{seg.dst_port}"
        tx_name, rx_name = f"{a}>{b}", f"{b}>{a}"
        flags = seg.flags
        length = len(seg.payload)
        if flags & SYN:
            isn[tx_name] = seg.seq
        elif tx_name not in isn:
            isn[tx_name] = (seg.seq - 1) & MASK  # no SYN seen: the first byte seen is 1
        seq_rel = (seg.seq - isn[tx_name]) & MASK
        peer_isn = isn.get(rx_name)
        ack_rel = (seg.ack - peer_isn) & MASK if flags & ACK and peer_isn is not None else 0
        end = seq_rel + length + (1 if flags & (SYN | FIN) else 0)
        retransmit = end <= highest.get(tx_name, 0) and (length > 0 or bool(flags & (SYN | FIN)))
        highest[tx_name] = max(highest.get(tx_name, 0), end)
        sack: tuple[tuple[int, int], ...] = ()
        for opt in seg.options:
            if opt.kind == OPT_SACK:
                sack = opt.blocks  # type: ignore[union-attr]
        t = record.timestamp - t0
        letters = flags_str(flags)
        options = format_options(seg.options)
        src_host = names.get(str(pkt.src), str(pkt.src))
        dst_host = names.get(str(pkt.dst), str(pkt.dst))
        out.records.append(SegmentRecord(t, src_host, tx_name, "tx", seg.seq, seg.ack, length,
                                         letters, seg.window, options, retransmit, sack,
                                         seq_rel, ack_rel))
        out.records.append(SegmentRecord(t, dst_host, rx_name, "rx", seg.seq, seg.ack, length,
                                         letters, seg.window, options, False, sack, seq_rel,
                                         ack_rel))
    return out
