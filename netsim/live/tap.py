"""A Linux TAP device as a netsim port: ``send(frame)`` writes a frame, received frames go to the
attached receiver.

The device is opened by netsim.live.tapdev (`open_tap`), by default with a virtio-net header
and checksum and segmentation offload when the kernel offers them (netsim.live.offload).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Container

from netsim.live.acks import coalesce
from netsim.live.offload import (
    DATA_VALID,
    GSO_ECN,
    GSO_NONE,
    GSO_TCPV4,
    GSO_TCPV6,
    NEEDS_CSUM,
    PLAIN,
    VNET_HDR,
    VNET_HDR_LEN,
    complete_checksum,
    set_offload,
)
from netsim.live.synqueue import SynQueue, is_pure_syn
from netsim.live.tapdev import (
    LiveSetupError,
    check_tap_name,
    has_vnet_hdr,
    interface_mac,
    interface_mtu,
    open_tap,
)
from netsim.wire.lazyframe import LazyFrame

__all__ = [
    "LiveSetupError",
    "TapPort",
    "TapStats",
    "interface_mac",
    "interface_mtu",
    "open_tap",
]

#: Largest frame read from the device: the 16-bit IPv4 total length plus an Ethernet header.
READ_SIZE = 65536 + 14
#: ... with a virtio-net header, and room for an IPv6 super-segment (payload length up to
#: 65535 after the 40-byte header).
READ_SIZE_VNET = VNET_HDR_LEN + 65536 + 40 + 14

Receiver = Callable[[bytes], None]
Tap = Callable[[float, str, bytes], None]


class TapStats:
    """Counters of one TAP port (frames and bytes each way, and what went wrong)."""

    __slots__ = ("rx_frames", "rx_bytes", "tx_frames", "tx_bytes", "tx_dropped", "tx_errors",
                 "rx_errors", "reads", "tx_coalesced", "rx_offloaded", "rx_gso",
                 "rx_gso_size_max", "rx_offload_errors")

    def __init__(self) -> None:
        self.rx_frames = 0
        self.rx_bytes = 0
        self.tx_frames = 0
        self.tx_bytes = 0
        self.tx_dropped = 0  # the kernel's queue was full (EAGAIN/ENOBUFS)
        self.tx_errors = 0  # any other write error (e.g. EIO while the device is down)
        self.rx_errors = 0
        self.reads = 0  # wake-ups that read at least one frame
        self.tx_coalesced = 0  # ACKs not written: a later ACK of the batch covers them
        self.rx_offloaded = 0  # frames whose checksum the kernel checked or left to us
        self.rx_gso = 0  # of them, super-segments (TSO: several segments' worth)
        self.rx_gso_size_max = 0  # the largest segment size the kernel gave them (gso_size)
        self.rx_offload_errors = 0  # dropped: a malformed virtio-net header

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class TapPort:
    """A netsim port on a TAP device (see netsim.node.Port).

    `poll()` reads every pending frame (up to `batch`) and hands each to the receiver, pure
    SYNs through a `SynQueue` (netsim.live.synqueue); a `LiveEnvironment` calls it when the
    descriptor is readable (`register(env)`).
    ``add_tap(fn)`` sees every frame as ``fn(wall_time, "rx"|"tx", frame)`` (for pcap), with
    its checksums filled in.

    `offload` (when netsim opens the device): with a virtio-net header and checksum and (if
    `tso`) segmentation offload if the kernel accepts them (netsim.live.offload);
    `offload_flags` says which TUN_F_* flags are set, `vnet_hdr` whether frames carry the
    header. For a
    descriptor `fd` handed over, `vnet_hdr` says whether its frames carry one.
    """

    def __init__(self, name: str, fd: int | None = None, batch: int = 1024,
                 syn_max_age: float | None = 1.0, coalesce_acks: bool = True,
                 ack_batch: int = 32, offload: bool = True, vnet_hdr: bool = False,
                 tso: bool = True) -> None:
        if fd is None:
            check_tap_name(name)  # before the device is opened
        self.name = name
        self.offload_flags = 0
        if fd is None:
            self.fd = open_tap(name, vnet_hdr=offload)
            self.vnet_hdr = has_vnet_hdr(self.fd)
            try:
                # without the header: none (a netsim that stopped abruptly may have left them)
                self.offload_flags = set_offload(self.fd, csum=self.vnet_hdr, tso=tso)
            except OSError as exc:
                os.close(self.fd)
                raise LiveSetupError(f"--tap: cannot set offloads on {name!r}: "
                                     f"{exc.strerror}") from None
        else:
            self.fd = fd
            self.vnet_hdr = vnet_hdr
        #: Tried on each frame whose TCP checksum the kernel vouches for: a `LazyFrame` for
        #: the stack, or None (netsim.live.offload.trusted_tcp_frame; set by LiveHost).
        self.trusted: Callable[[bytes], LazyFrame | None] | None = None
        self.batch = batch
        self.stats = TapStats()
        self._receiver: Receiver | None = None
        self._taps: list[Tap] = []
        self._closed = False
        self._touch: Callable[[], float] | None = None
        #: Tried first on each frame read: True means it took the frame (see
        #: netsim.stack.tcp.cookie_fastpath); the receiver gets the others.
        self.shortcut: Callable[[bytes], bool] | None = None
        self.syn_max_age = syn_max_age
        self.syns: SynQueue | None = None
        #: The senders (IPv4 addresses, 4 bytes each) whose SYNs can be answered at once
        #: (their MAC is known), asked once per batch read: their SYNs are answered ahead
        #: of the others while SYNs wait (netsim.live.synqueue).
        self.answerable: Callable[[], Container[bytes]] | None = None
        self._call_soon: Callable[[Callable[[], None]], None] | None = None
        self._resume_pending = False
        #: While `poll` delivers frames, what the stack sends waits here and leaves when
        #: `ack_batch` frames were read or the batch ends, thinned by netsim.live.acks.
        self.coalesce_acks = coalesce_acks
        self.ack_batch = ack_batch
        self._held: list[bytes] | None = None

    def fileno(self) -> int:
        return self.fd

    @property
    def mtu(self) -> int:
        return interface_mtu(self.name)

    @property
    def kernel_mac(self) -> bytes:
        """The MAC address of the kernel's side of the TAP."""
        return interface_mac(self.name)

    def attach(self, receiver: Receiver) -> None:
        self._receiver = receiver

    def add_tap(self, tap: Tap) -> None:
        self._taps.append(tap)

    def send(self, frame: bytes) -> None:
        """Write one frame to the kernel (held until the end of the batch while `poll` is
        delivering frames). Never blocks: a full queue drops (and counts) it."""
        held = self._held
        if held is not None:
            held.append(frame)
            return
        self._write(frame)

    def _flush(self) -> None:
        held = self._held
        if not held:
            return
        self._held = []
        if len(held) > 1:
            held, dropped = coalesce(held)
            self.stats.tx_coalesced += dropped
        for frame in held:
            self._write(frame)

    def _write(self, frame: bytes) -> None:
        stats = self.stats
        if self._taps:
            now = time.time()
            for tap in self._taps:
                tap(now, "tx", frame)
        try:
            if self.vnet_hdr:
                os.writev(self.fd, (PLAIN, frame))  # checksums computed, not a GSO frame
            else:
                os.write(self.fd, frame)
        except (BlockingIOError, InterruptedError):
            stats.tx_dropped += 1
            return
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:
                stats.tx_dropped += 1
            else:
                stats.tx_errors += 1
            return
        stats.tx_frames += 1
        stats.tx_bytes += len(frame)

    def poll(self) -> int:
        """Read up to `batch` pending frames and deliver them, pure SYNs through the SYN queue
        (after `register`); then let the queue answer its budget. Returns how many were read.
        What the stack sends meanwhile is held and written every `ack_batch` frames and at
        the end, the ACKs thinned (netsim.live.acks), unless `coalesce_acks` is off."""
        stats = self.stats
        syns = self.syns
        hold = self.coalesce_acks and self._held is None
        if hold:
            self._held = []
        try:
            n, nbytes = self._read_batch()
        finally:
            if hold:
                self._flush()
                self._held = None
        if n:
            stats.rx_frames += n
            stats.rx_bytes += nbytes
        # while a read returns a whole batch, more frames wait in the kernel's queue: reading
        # them comes before answering SYNs that cannot be answered at once (synqueue)
        if syns is not None and len(syns) and syns.run(n >= self.batch) \
                and not self._resume_pending \
                and self._call_soon is not None:
            # SYNs still wait: come back after the events due now, and read again first
            self._resume_pending = True
            self._call_soon(self._resume)
        return n

    def _read_batch(self) -> tuple[int, int]:
        """Read and deliver up to `batch` frames; (frames, bytes)."""
        fd = self.fd
        taps = self._taps
        read = os.read
        stats = self.stats
        touch = self._touch
        syns = self.syns
        deliver = self._deliver
        receiver = self._receiver
        known: Container[bytes] | None = None  # asked at the batch's first SYN
        read_at = 0.0
        flush_every = self.ack_batch if self._held is not None else 0
        vnet = self.vnet_hdr
        size = READ_SIZE_VNET if vnet else READ_SIZE
        n = 0
        nbytes = 0
        while n < self.batch:
            try:
                frame = read(fd, size)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                stats.rx_errors += 1
                break
            if not frame:
                break
            n += 1
            if vnet:
                if frame[0] or frame[1]:
                    got = self._offloaded(frame)
                    if got is None:
                        continue  # a malformed header: counted
                    frame, lazy = got
                    if lazy is not None:
                        nbytes += len(frame)
                        if taps:
                            now = time.time()
                            for tap in taps:
                                tap(now, "rx", frame)
                        if n > 1 and touch is not None:
                            touch()
                        if receiver is not None:
                            receiver(lazy)  # type: ignore[arg-type]  # the stack takes both
                        if flush_every and n % flush_every == 0:
                            self._flush()
                        continue
                else:
                    frame = frame[VNET_HDR_LEN:]
            nbytes += len(frame)
            if taps:
                now = time.time()
                for tap in taps:
                    tap(now, "rx", frame)
            is_syn = is_pure_syn(frame)
            if n > 1 and touch is not None and not (syns is not None and is_syn):
                touch()  # a later frame of the batch arrived later (e.g. an answer to ours)
            if is_syn:
                if syns is not None:
                    if known is None:
                        known = () if self.answerable is None else self.answerable()
                        read_at = syns.clock()  # (real time: the queue ages SYNs by it)
                    syns.add(frame, read_at, frame[26:30] in known)
                else:
                    deliver(frame)
            elif receiver is not None:
                receiver(frame)  # (the shortcut takes only SYNs)
            if flush_every and n % flush_every == 0:
                self._flush()
        if n:
            stats.reads += 1
        return n, nbytes

    def _offloaded(self, frame: bytes) -> tuple[bytes, LazyFrame | None] | None:
        """A frame read with a virtio-net header that is not all zeros (netsim.live.offload):
        (its bytes, checksums filled in when a pcap needs them or the ordinary path checks
        them; the `LazyFrame` the stack takes at once, or None). None: a malformed header,
        counted and dropped."""
        stats = self.stats
        flags, gso, _hdr_len, gso_size, start, offset = VNET_HDR.unpack_from(frame)
        frame = frame[VNET_HDR_LEN:]
        if flags & ~(NEEDS_CSUM | DATA_VALID) \
                or gso & ~GSO_ECN not in (GSO_NONE, GSO_TCPV4, GSO_TCPV6):
            stats.rx_offload_errors += 1  # a flag or GSO type never asked for (no UFO)
            return None
        stats.rx_offloaded += 1
        if gso:
            stats.rx_gso += 1
            if gso_size > stats.rx_gso_size_max:
                stats.rx_gso_size_max = gso_size
        partial = flags & NEEDS_CSUM
        if partial and self._taps:
            done = complete_checksum(frame, start, offset)  # the pcap gets valid bytes
            if done is None:
                stats.rx_offload_errors += 1
                return None
            frame, partial = done, 0
        trusted = self.trusted
        if trusted is not None and not is_pure_syn(frame):  # (SYNs: netsim.live.synqueue)
            lazy = trusted(frame)
            if lazy is not None:
                return frame, lazy
        if partial:
            done = complete_checksum(frame, start, offset)  # the ordinary path checks it
            if done is None:
                stats.rx_offload_errors += 1
                return None
            frame = done
        return frame, None

    def _deliver(self, frame: bytes) -> None:
        shortcut = self.shortcut
        if shortcut is not None and shortcut(frame):
            return
        if self._receiver is not None:
            self._receiver(frame)

    def _deliver_late(self, frame: bytes) -> None:
        if self._touch is not None:
            self._touch()  # env.now moves on to the time the SYN is taken up
        self._deliver(frame)

    def _resume(self) -> None:
        self._resume_pending = False
        if not self._closed:
            self.poll()

    def register(self, env: object) -> None:
        """Have a `LiveEnvironment` call `poll()` whenever the device is readable, and hold
        SYNs in a `SynQueue` while netsim is behind (unless `syn_max_age` is None)."""
        env.add_reader(self.fd, self.poll)  # type: ignore[attr-defined]
        self._touch = getattr(env, "touch", None)
        self._call_soon = getattr(env, "call_soon", None)
        real_now = getattr(env, "real_now", None)
        if self.syn_max_age is not None and real_now is not None:
            # ages in real time (env.now may lag behind while events are due)
            self.syns = SynQueue(self._deliver_late, real_now, max_age=self.syn_max_age)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.offload_flags:
                # the device (persistent) would keep them: whoever opens it next without a
                # virtio-net header must get whole frames with their checksums
                with contextlib.suppress(OSError):
                    set_offload(self.fd, csum=False)
            os.close(self.fd)

    def __repr__(self) -> str:
        return f"<TapPort {self.name} fd {self.fd}>"
