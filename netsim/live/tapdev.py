"""Opening a Linux TAP device: attach to an existing TAP interface, read its MTU and MAC.

`open_tap` opens ``/dev/net/tun`` and attaches to an *existing* TAP interface with
``TUNSETIFF(IFF_TAP | IFF_NO_PI)`` (no packet-information header: each read or write is exactly
one Ethernet frame), non-blocking; with `vnet_hdr` also with ``IFF_VNET_HDR`` (a virtio-net
header before each frame: netsim.live.offload), when the kernel offers it. The device is
expected to exist already (see ``scripts/netns_setup.sh``): netsim refuses to create
interfaces so that it never changes the host's network configuration by accident.

Every failure to open is a `LiveSetupError` (a `UsageError`: exit status 2 from the CLI) with a
one-line message saying what to do.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct

from netsim.errors import UsageError
from netsim.live.offload import IFF_VNET_HDR, TUNSETVNETHDRSZ, VNET_HDR_LEN, supports_vnet_hdr

__all__ = ["LiveSetupError", "check_tap_name", "has_vnet_hdr", "interface_mac", "interface_mtu",
           "open_tap"]

TUN_DEVICE = "/dev/net/tun"
TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2  # _IOR('T', 210, unsigned int)
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
SIOCGIFMTU = 0x8921
SIOCGIFHWADDR = 0x8927
IFNAMSIZ = 16
_IFREQ_FLAGS = struct.Struct("16sH22x")  # struct ifreq with ifr_flags
_IFREQ_INT = struct.Struct("16si20x")  # struct ifreq with ifr_mtu


class LiveSetupError(UsageError):
    """Live mode cannot start: not root, no TUN support, no such TAP, TAP busy, bad address."""


def check_tap_name(name: str) -> bytes:
    """`name` as the bytes of an interface name (a `LiveSetupError` if it cannot be one);
    called before anything opens a device or a file."""
    if not isinstance(name, str):
        raise LiveSetupError(f"--tap: {name!r:.60} is not an interface name; use e.g. 'tap0'")
    raw = name.encode("ascii", "replace")
    if not name or len(raw) >= IFNAMSIZ or "/" in name or any(c.isspace() for c in name):
        raise LiveSetupError(f"--tap: {name!r} is not an interface name (1..15 characters)")
    return raw


def interface_mtu(name: str) -> int:
    """The MTU of interface `name` in the current network namespace."""
    raw = check_tap_name(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        out = fcntl.ioctl(s, SIOCGIFMTU, _IFREQ_INT.pack(raw, 0))
    return int(_IFREQ_INT.unpack(out)[1])


def interface_mac(name: str) -> bytes:
    """The MAC address of interface `name` (for a TAP: the kernel side's address)."""
    raw = check_tap_name(name)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        out = fcntl.ioctl(s, SIOCGIFHWADDR, raw + bytes(40 - len(raw)))
    return bytes(out[18:24])


def open_tap(name: str, vnet_hdr: bool = False) -> int:
    """Attach to the existing TAP interface `name`; returns a non-blocking file descriptor.
    `vnet_hdr`: with IFF_VNET_HDR if the kernel offers it (`has_vnet_hdr` tells)."""
    raw = check_tap_name(name)
    if not os.path.exists(TUN_DEVICE):
        raise LiveSetupError(f"{TUN_DEVICE} is missing: this kernel or container has no TUN/TAP "
                             "support (try `modprobe tun`)")
    if os.geteuid() != 0:
        raise LiveSetupError("live mode needs root (CAP_NET_ADMIN) to attach to a TAP device; "
                             "run it with sudo / `ip netns exec`")
    try:
        socket.if_nametoindex(name)
    except OSError:
        raise LiveSetupError(
            f"--tap: no interface {name!r} in this network namespace; create it with "
            f"`scripts/netns_setup.sh up --tap {name}` and run netsim under `ip netns exec NS`"
        ) from None
    try:
        fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise LiveSetupError(f"{TUN_DEVICE}: cannot open: {exc.strerror}") from None
    flags = IFF_TAP | IFF_NO_PI
    if vnet_hdr and supports_vnet_hdr(fd):
        flags |= IFF_VNET_HDR
    try:
        fcntl.ioctl(fd, TUNSETIFF, _IFREQ_FLAGS.pack(raw, flags))
    except OSError as exc:
        os.close(fd)
        if exc.errno == errno.EBUSY:
            raise LiveSetupError(f"--tap: {name!r} is busy: another process has it open "
                                 "(is another netsim running?)") from None
        if exc.errno == errno.EPERM:
            raise LiveSetupError(f"--tap: not allowed to attach to {name!r} (needs root or the "
                                 "TAP's owner)") from None
        if exc.errno == errno.EINVAL:
            raise LiveSetupError(f"--tap: {name!r} is not a TAP device (a TUN device or an "
                                 "ordinary interface?)") from None
        raise LiveSetupError(f"--tap: cannot attach to {name!r}: {exc.strerror}") from None
    if flags & IFF_VNET_HDR:
        try:  # the header netsim.live.offload reads and writes (the default size, made sure)
            fcntl.ioctl(fd, TUNSETVNETHDRSZ, struct.pack("i", VNET_HDR_LEN))
        except OSError:
            _reattach_plain(fd, raw)
    return fd


def _reattach_plain(fd: int, raw: bytes) -> None:
    """Back to frames without a virtio-net header (the header's size cannot be set)."""
    fcntl.ioctl(fd, TUNSETIFF, _IFREQ_FLAGS.pack(raw, IFF_TAP | IFF_NO_PI))


def has_vnet_hdr(fd: int) -> bool:
    """Whether the TAP on `fd` puts a virtio-net header before each frame (TUNGETIFF)."""
    try:
        out = fcntl.ioctl(fd, TUNGETIFF, _IFREQ_FLAGS.pack(b"", 0))
    except OSError:
        return False
    return bool(_IFREQ_FLAGS.unpack(out)[1] & IFF_VNET_HDR)
