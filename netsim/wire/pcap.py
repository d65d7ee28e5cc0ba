"""The classic libpcap capture file format (not pcapng), for Ethernet captures.

Layout (https://www.tcpdump.org/manpages/pcap-savefile.5.html, and the IETF draft
"PCAP Capture File Format", draft-ietf-opsawg-pcap):

- a 24-byte global header: magic, version 2.4, reserved fields, snapshot length, link type;
- then per record a 16-byte header — seconds, fraction (µs or ns), captured length,
  original length — followed by the captured bytes.

The magic number 0xa1b2c3d4 means microsecond fractions, 0xa1b23c4d nanoseconds; read in
the wrong byte order it says the file was written on a machine of the other endianness, so
both byte orders are read. Files are written little-endian (what tcpdump writes on x86), so
equal inputs always give equal bytes.

Timestamps are kept as integer nanoseconds internally. A float timestamp is converted through
its shortest decimal representation (``repr``), i.e. the number the caller wrote, rounded half
to even: ``1795628022.483908`` becomes exactly 1795628022 s + 483908 µs.

This module does file I/O only through the builtin ``open`` (or a file object given by the
caller), so netsim.wire keeps clear of ``os``.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import TracebackType
from typing import BinaryIO, NamedTuple, Protocol

from netsim.errors import UsageError
from netsim.wire.errors import PcapError

LINKTYPE_ETHERNET = 1
DEFAULT_SNAPLEN = 262144  # what tcpdump uses by default

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D
_MAGIC_PCAPNG = 0x0A0D0D0A  # the pcapng Section Header Block type, same in both byte orders
VERSION_MAJOR = 2
VERSION_MINOR = 4

GLOBAL_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
_MAX_SECONDS = 0xFFFFFFFF

_GLOBAL_LE = struct.Struct("<IHHiIII")
_GLOBAL_BE = struct.Struct(">IHHiIII")
_RECORD_LE = struct.Struct("<IIII")
_RECORD_BE = struct.Struct(">IIII")

_NS_PER_S = 1_000_000_000


class _PathLike(Protocol):
    def __fspath__(self) -> str: ...


PathOrFile = str | _PathLike | BinaryIO


class PcapRecord(NamedTuple):
    """One captured frame. `timestamp` is `timestamp_ns` / 1e9, correctly rounded."""

    timestamp: float
    timestamp_ns: int
    frame: bytes
    orig_len: int

    @property
    def truncated(self) -> bool:
        """True when the capture kept fewer bytes than were on the wire (snapshot length)."""
        return len(self.frame) < self.orig_len


def seconds_to_ns(timestamp: float | int) -> int:
    """Integer nanoseconds for a timestamp in seconds, via its shortest decimal form.

    Equal inputs give equal outputs; ``0.1 + 0.2`` gives 300000000 ns.
    """
    if isinstance(timestamp, int):
        return timestamp * _NS_PER_S
    try:
        value = Decimal(repr(float(timestamp)))
        ns = int((value * _NS_PER_S).to_integral_value(ROUND_HALF_EVEN))
    except (InvalidOperation, ValueError, OverflowError):
        raise PcapError(f"pcap: timestamp {timestamp!r} is not a finite number of seconds") \
            from None
    return ns


def _check_path(target: object, or_file: str) -> None:
    """A path for open(); an int would be taken as a file descriptor (and closed after)."""
    # (os.PathLike by its method: netsim.wire keeps clear of os)
    if not isinstance(target, str | bytes) and not hasattr(target, "__fspath__"):
        raise UsageError(f"file_or_path: {target!r:.60} is not a file path or a file; use a "
                         f"path such as 'run.pcap' or {or_file}")


def _name(target: object) -> str:
    name = getattr(target, "name", None)
    if isinstance(name, str):
        return name
    fspath = getattr(target, "__fspath__", None)
    if callable(fspath):
        return str(fspath())
    return str(target) if isinstance(target, str) else "pcap"


class PcapWriter:
    """Writes Ethernet frames to a pcap file.

    ``PcapWriter("out.pcap")`` creates (truncates) the file; a binary file object given
    instead is written to and flushed, but closed only if ``close_file=True``. Use as a
    context manager or call `close`. ``nanosecond=True`` writes the nanosecond variant.
    """

    def __init__(self, file_or_path: PathOrFile, *, nanosecond: bool = False,
                 snaplen: int = DEFAULT_SNAPLEN, linktype: int = LINKTYPE_ETHERNET,
                 close_file: bool | None = None) -> None:
        if isinstance(snaplen, bool) or not hasattr(snaplen, "__index__"):
            raise UsageError(f"snaplen: {snaplen!r:.60} is not a snapshot length; use an int in "
                             "1..2147483647")
        snaplen = operator.index(snaplen)
        if not 0 < snaplen <= 0x7FFFFFFF:
            raise PcapError(f"pcap: snapshot length {snaplen} is not in 1..2147483647")
        if isinstance(linktype, bool) or not hasattr(linktype, "__index__"):
            raise UsageError(f"linktype: {linktype!r:.60} is not a link type; use an int in "
                             "0..4294967295 (1: Ethernet)")
        linktype = operator.index(linktype)
        if not 0 <= linktype <= 0xFFFFFFFF:
            raise UsageError(f"linktype: {linktype} is not in 0..4294967295")
        if hasattr(file_or_path, "write"):
            self._file: BinaryIO = file_or_path  # type: ignore[assignment]
            self._owns = bool(close_file)
        else:
            _check_path(file_or_path, "a binary file open for writing")
            self._file = open(file_or_path, "wb")  # noqa: SIM115 - closed in close()
            self._owns = True if close_file is None else close_file
        self.name = _name(file_or_path)
        self.nanosecond = nanosecond
        self.snaplen = snaplen
        self.linktype = linktype
        self.count = 0
        self._closed = False
        magic = MAGIC_NANO if nanosecond else MAGIC_MICRO
        self._file.write(_GLOBAL_LE.pack(magic, VERSION_MAJOR, VERSION_MINOR, 0, 0, snaplen,
                                         linktype))

    def write(self, timestamp: float, frame: bytes) -> None:
        """Append one frame captured at `timestamp` seconds (simulated or wall-clock time)."""
        self.write_ns(seconds_to_ns(timestamp), frame)

    def write_ns(self, timestamp_ns: int, frame: bytes) -> None:
        """Append one frame captured at `timestamp_ns` integer nanoseconds."""
        if self._closed:
            raise PcapError(f"{self.name}: write after close")
        if self.nanosecond:
            seconds, fraction = divmod(timestamp_ns, _NS_PER_S)
        else:
            # Round to the nearest microsecond, halves up (the input is already an integer).
            seconds, fraction = divmod((timestamp_ns + 500) // 1000, 1_000_000)
        if not 0 <= seconds <= _MAX_SECONDS:
            raise PcapError(f"{self.name}: timestamp {timestamp_ns} ns is outside the "
                            "32-bit seconds range of pcap (1970..2106)")
        orig_len = len(frame)
        captured = frame if orig_len <= self.snaplen else frame[:self.snaplen]
        self._file.write(_RECORD_LE.pack(seconds, fraction, len(captured), orig_len))
        self._file.write(captured)
        self.count += 1

    def flush(self) -> None:
        if not self._closed:
            self._file.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._file.flush()
        if self._owns:
            self._file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class PcapReader:
    """Reads a pcap file: iterate to get `PcapRecord`s, in file order.

    The global header is read (and checked) on construction; `linktype`, `nanosecond`,
    `snaplen`, `byte_order` ("little"/"big") and `version` describe the file. Any damage —
    not a pcap, pcapng, a truncated header or record — raises `PcapError` whose message names
    the file, the record number (1-based, as tcpdump and Wireshark count) and its byte offset.
    Records before the damage are yielded first.
    """

    def __init__(self, file_or_path: PathOrFile) -> None:
        if hasattr(file_or_path, "read"):
            self._file: BinaryIO = file_or_path  # type: ignore[assignment]
            self._owns = False
        else:
            _check_path(file_or_path, "a binary file open for reading")
            self._file = open(file_or_path, "rb")  # noqa: SIM115 - closed in close()
            self._owns = True
        self.name = _name(file_or_path)
        try:
            self._read_global_header()
        except BaseException:
            self.close()
            raise

    def _read_exact(self, n: int) -> bytes:
        """Up to `n` bytes; fewer only at end of file (pipes may return short reads)."""
        data = self._file.read(n)
        if data is None:  # a non-blocking raw stream with nothing available
            data = b""
        while len(data) < n:
            more = self._file.read(n - len(data))
            if not more:
                break
            data += more
        return bytes(data)

    def _read_global_header(self) -> None:
        head = self._read_exact(GLOBAL_HEADER_LEN)
        if len(head) < 4:
            raise PcapError(f"{self.name}: not a pcap file: {len(head)} bytes, too short "
                            "for the 4-byte magic number")
        magic_le = int.from_bytes(head[:4], "little")
        if magic_le == _MAGIC_PCAPNG:
            raise PcapError(f"{self.name}: this is a pcapng file; only classic pcap is read "
                            "(convert with: editcap -F pcap IN OUT)")
        if magic_le in (MAGIC_MICRO, MAGIC_NANO):
            header, record, order = _GLOBAL_LE, _RECORD_LE, "little"
        elif int.from_bytes(head[:4], "big") in (MAGIC_MICRO, MAGIC_NANO):
            header, record, order = _GLOBAL_BE, _RECORD_BE, "big"
        else:
            raise PcapError(f"{self.name}: not a pcap file: magic number 0x{head[:4].hex()} "
                            "is none of a1b2c3d4/a1b23c4d in either byte order")
        if len(head) < GLOBAL_HEADER_LEN:
            raise PcapError(f"{self.name}: truncated pcap global header: {len(head)} of "
                            f"{GLOBAL_HEADER_LEN} bytes")
        magic, major, minor, _zone, _sigfigs, snaplen, network = header.unpack(head)
        if major != VERSION_MAJOR:
            raise PcapError(f"{self.name}: pcap version {major}.{minor} is not supported "
                            "(only 2.x)")
        self._record = record
        self.byte_order = order
        self.version = (major, minor)
        self.nanosecond = magic == MAGIC_NANO
        self.snaplen = snaplen
        # The upper bits of the link-type field may carry FCS information (draft-ietf-opsawg-pcap
        # §4 "LinkType and additional information"); the link type is the low 16 bits.
        self.linktype = network & 0xFFFF
        self._offset = GLOBAL_HEADER_LEN
        self.count = 0

    def __iter__(self) -> Iterator[PcapRecord]:
        unit = 1 if self.nanosecond else 1000
        max_len = max(self.snaplen, DEFAULT_SNAPLEN)
        while True:
            number = self.count + 1
            offset = self._offset
            head = self._read_exact(RECORD_HEADER_LEN)
            if not head:
                return
            where = f"{self.name}: record {number} at offset {offset}"
            if len(head) < RECORD_HEADER_LEN:
                raise PcapError(f"{where}: truncated record header ({len(head)} of "
                                f"{RECORD_HEADER_LEN} bytes)")
            seconds, fraction, incl_len, orig_len = self._record.unpack(head)
            if incl_len > max_len:
                raise PcapError(f"{where}: captured length {incl_len} exceeds the snapshot "
                                f"length {self.snaplen}: the file is corrupt")
            frame = self._read_exact(incl_len)
            if len(frame) < incl_len:
                raise PcapError(f"{where}: truncated record: {len(frame)} of {incl_len} "
                                "captured bytes present")
            self._offset = offset + RECORD_HEADER_LEN + incl_len
            self.count = number
            ns = seconds * _NS_PER_S + fraction * unit
            yield PcapRecord(ns / _NS_PER_S, ns, frame, orig_len)

    def close(self) -> None:
        if self._owns:
            self._file.close()

    def __enter__(self) -> PcapReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def read_pcap(file_or_path: PathOrFile) -> list[PcapRecord]:
    """Every record of a pcap file (see `PcapReader` for the errors raised)."""
    with PcapReader(file_or_path) as reader:
        return list(reader)


def write_pcap(file_or_path: PathOrFile, records: Iterable[tuple[float, bytes]], *,
               nanosecond: bool = False) -> int:
    """Write (timestamp seconds, frame) pairs to a new pcap file; returns the count."""
    with PcapWriter(file_or_path, nanosecond=nanosecond) as writer:
        for timestamp, frame in records:
            writer.write(timestamp, frame)
        return writer.count
