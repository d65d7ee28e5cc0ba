"""Whether this machine can run live mode (root, a TUN device, iproute2): the one answer that
the live tests (tests/conftest.py) and the live blocks of the docs (scripts/docs_live.py) share,
so a machine that runs one runs the other."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TUN_DEVICE = Path("/dev/net/tun")


def in_ci() -> bool:
    """True when the environment variable CI is set to something other than a false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def is_root() -> bool:
    return os.geteuid() == 0


def live_host_capable() -> bool:
    """Root with a TUN device: a machine on which live tests are able to run."""
    return is_root() and TUN_DEVICE.exists()


def live_unavailable_reason() -> str | None:
    """Why live mode cannot run here, or None if it can."""
    if not is_root():
        return "needs root (network namespaces and TAP devices)"
    if not TUN_DEVICE.exists():
        return f"{TUN_DEVICE} is missing (no TUN/TAP support)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not on PATH"
    return None


def live_must_run() -> bool:
    """In CI on a root machine with /dev/net/tun, live tests (and live doc blocks) may not
    skip."""
    return in_ci() and live_host_capable()
