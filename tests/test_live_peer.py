"""Assignment 10 live: ``python -m netsim.labrun peer-live`` runs a TcpPeer as an echo server on
a TAP in a namespace it makes (``netsim-peer-PID``, the kernel's side 10.0.0.1), Linux's ``nc``
sends it 1 MB, and the echo must come back byte-exact; the namespace is gone afterwards, also
when the peer fails. Root only (the ``live`` mark); the timeouts are generous, so a loaded
machine slows the test down but does not fail it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SETUP = REPO / "scripts" / "netns_setup.sh"

live = pytest.mark.live


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30,
                          check=False).stdout


def peer_live(spec: str, *extra: str) -> tuple[int, str, str]:
    """Run peer-live on `spec`; (exit status, stdout, stderr). Its namespace must be gone
    afterwards (the test removes it if the command did not, then fails)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "netsim.labrun", "peer-live", spec, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)
    ns = f"netsim-peer-{proc.pid}"
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        left = ns in _namespaces().split()
        if left:
            subprocess.run([str(SETUP), "down", "--ns", ns], capture_output=True, timeout=60,
                           check=False)
    assert not left, f"peer-live left its namespace {ns} behind"
    return proc.returncode, out, err


@live
@pytest.mark.parametrize("spec", [
    "netsim/stack/tcp/lab_peer.py:LabPeer",
    # the teachers' model solution, with the 07b and 06 model solutions next to it, as a
    # student runs theirs
    "lessons/teachers/solutions/tcp_peer.py",
], ids=["LabPeer", "model-solution"])
def test_linux_nc_gets_a_megabyte_back_byte_exact_from_the_peer(
        spec: str, require_tool: Callable[[str], str], tmp_path: Path) -> None:
    require_tool("nc")
    plot = tmp_path / "peer.png"
    status, out, err = peer_live(str(REPO / spec), "--plot", str(plot))
    assert status == 0, out + err
    assert "1000000 of the 1000000 bytes nc sent came back, byte-exact" in out, out
    assert "closed cleanly=True" in out and "error" not in out, out
    assert plot.stat().st_size > 10_000  # the time-sequence graph of the peer's connection


BROKEN = '''
from netsim.stack.tcp.lab_peer import LabPeer


class TcpPeer(LabPeer):
    calls = 0

    def receive(self, seg):
        TcpPeer.calls += 1
        if TcpPeer.calls > 200:
            return "not a list"
        return super().receive(seg)
'''


@live
def test_a_peer_that_breaks_fails_the_run_and_the_namespace_is_removed(
        require_tool: Callable[[str], str], tmp_path: Path) -> None:
    require_tool("nc")
    path = tmp_path / "tcp_peer.py"
    path.write_text(BROKEN)
    status, out, err = peer_live(str(path))
    assert status == 1, out + err
    assert "NOT byte-exact" in out, out
    assert "error: receive() returned 'not a list'; it must return a list of segments" in out


@live
def test_the_starter_is_refused_at_once(require_tool: Callable[[str], str],
                                        tmp_path: Path) -> None:
    """The starter raises on its first receive(): the adapter answers the SYN with a RST, so
    nc is refused at once instead of waiting for its SYN retransmissions to give up."""
    require_tool("nc")
    for name in ("sender.py", "tcp_receiver.py"):
        shutil.copy(REPO / "lessons" / "teachers" / "solutions" / name, tmp_path)
    shutil.copy(REPO / "lessons" / "assignments" / "10-tcp-peer" / "tcp_peer.py", tmp_path)
    status, out, err = peer_live(str(tmp_path / "tcp_peer.py"))
    assert status == 1, out + err
    assert "0 of the 1000000 bytes nc sent came back, NOT byte-exact" in out, out
    assert "error: receive() raised NotImplementedError: 'TODO: TcpPeer.receive'" in out
    seconds = float(re.search(r"in ([0-9.]+) s;", out).group(1))  # type: ignore[union-attr]
    assert seconds < 30, out
