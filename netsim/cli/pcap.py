"""`netsim pcap FILE`: print a capture one line per frame, the way ``tcpdump -nn -S -tt`` does.

Each line is the capture timestamp (seconds with 6 decimals, or 9 for a nanosecond file) and the
frame's summary. ``-v`` adds every header field under each line and notes bad checksums. A frame
that does not parse is a line naming the problem and the listing goes on; a file that is
missing, is not a pcap or is cut short ends with a one-line ``netsim: error: ...`` and exit
status 2 (after the frames that could be read).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from netsim.errors import UsageError
from netsim.wire.errors import PcapError
from netsim.wire.pcap import LINKTYPE_ETHERNET, PcapReader, PcapRecord
from netsim.wire.summary import describe, summarize

_NS_PER_S = 1_000_000_000


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "pcap",
        help="print a pcap capture one line per frame, like tcpdump -nn -S -tt",
        description="Print each frame of a classic pcap file (Ethernet link type) as "
                    "'TIMESTAMP SUMMARY', the way `tcpdump -nn -S -tt -r FILE` prints it.",
    )
    parser.add_argument("file", metavar="FILE", help="the pcap file to read ('-' for stdin)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show every header field under each line and flag bad checksums")
    parser.add_argument("-c", "--count", type=int, metavar="N", default=None,
                        help="stop after N frames")
    parser.set_defaults(func=run)


def format_timestamp(timestamp_ns: int, nanosecond: bool) -> str:
    """Seconds since the epoch like ``tcpdump -tt``: 6 decimals, or 9 for nanosecond files."""
    seconds, fraction = divmod(timestamp_ns, _NS_PER_S)
    if nanosecond:
        return f"{seconds}.{fraction:09d}"
    return f"{seconds}.{fraction // 1000:06d}"


def format_record(record: PcapRecord, nanosecond: bool, verbose: bool = False) -> str:
    """The line(s) `netsim pcap` prints for one record."""
    line = (f"{format_timestamp(record.timestamp_ns, nanosecond)} "
            f"{summarize(record.frame, verbose=verbose)}")
    if record.truncated:
        line += f" [captured {len(record.frame)} of {record.orig_len} bytes]"
    if verbose:
        line += "\n" + "\n".join("    " + text for text in describe(record.frame).split("\n"))
    return line


def _open(path: str) -> PcapReader:
    source: str | BinaryIO = sys.stdin.buffer if path == "-" else path
    try:
        return PcapReader(source)
    except FileNotFoundError:
        raise UsageError(f"FILE: {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"FILE: {path}: is a directory, not a pcap file") from None
    except OSError as exc:
        raise UsageError(f"FILE: {path}: cannot read it ({exc.strerror or exc})") from None
    except PcapError as exc:
        raise UsageError(str(exc)) from None


def _records(reader: PcapReader, count: int | None) -> Iterator[PcapRecord]:
    for n, record in enumerate(reader, start=1):
        yield record
        if count is not None and n >= count:
            return


def run(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise UsageError(f"--count: must be a positive number of frames, got {args.count}")
    with _open(args.file) as reader:
        if reader.linktype != LINKTYPE_ETHERNET:
            raise UsageError(f"{reader.name}: link type {reader.linktype} is not Ethernet "
                             f"({LINKTYPE_ETHERNET}); netsim pcap reads Ethernet captures only")
        out = sys.stdout
        try:
            for record in _records(reader, args.count):
                out.write(format_record(record, reader.nanosecond, args.verbose) + "\n")
        except PcapError as exc:
            out.flush()
            raise UsageError(str(exc)) from None
        except BrokenPipeError:
            # `netsim pcap big.pcap | head`: stop quietly, as tcpdump does.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
            return 0
    return 0
