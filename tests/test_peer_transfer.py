"""Assignment 10's simulation (netsim.sim.peer_transfer): netsim's reference peer (`LabPeer`)
and netsim's own TCP exchange 1 MB each way over a link that loses, reorders and duplicates,
as the passive and as the active side; and a broken peer is told apart from a working one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netsim.sim.peer_transfer import transfer
from netsim.stack.tcp.lab_peer import LabPeer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("active", [False, True], ids=["peer-passive", "peer-active"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_labpeer_moves_a_megabyte_each_way_and_closes_cleanly(seed: int, active: bool) -> None:
    res = transfer(LabPeer, seed, active=active)
    assert res.error == ""
    assert res.to_peer_intact and res.from_peer_intact
    assert res.peer_closed and res.netsim_closed and not res.reset
    # 1 MB in segments of at most 1000 bytes, some of them sent again after losses
    assert res.segments >= 1000 and 0 < res.retransmissions < res.segments // 5
    assert 0 < res.seconds < 120


@pytest.mark.parametrize(("nbytes", "seed", "active"), [(30_000, 5, False),
                                                     (20_000, 2, True)])
def test_a_rst_that_ends_the_linger_after_both_streams_is_a_clean_end(
        nbytes: int, seed: int, active: bool) -> None:
    # In these runs a late duplicate of the peer's reaches netsim's TCP after it closed; its
    # RST ends the peer's linger, as a RST ends TIME-WAIT (RFC 9293 §3.10.7.4): both streams
    # had arrived, so the transfer still ended cleanly
    res = transfer(LabPeer, seed=seed, nbytes=nbytes, active=active)
    assert res.to_peer_intact and res.from_peer_intact
    assert res.peer_closed and res.netsim_closed and not res.reset and not res.error


def test_a_lossless_link_needs_no_retransmission() -> None:
    res = transfer(LabPeer, 5, loss=0.0, reorder=0.0, duplicate=0.0, nbytes=200_000)
    assert res.to_peer_intact and res.from_peer_intact and res.peer_closed
    assert res.retransmissions == 0


class _Corrupting(LabPeer):
    """Reads back one wrong byte: the transfer must notice."""

    def read(self) -> bytes:
        data = super().read()
        return bytes([data[0] ^ 1]) + data[1:] if data else data


class _NeverCloses(LabPeer):
    def close(self) -> list[Any]:
        return []


def test_corrupted_data_is_not_called_intact() -> None:
    res = transfer(_Corrupting, 1, nbytes=50_000)
    assert not res.to_peer_intact and res.from_peer_intact


def test_a_peer_that_never_sends_its_fin_stops_at_the_time_limit() -> None:
    res = transfer(_NeverCloses, 1, nbytes=20_000, time_limit=30.0)
    assert not res.from_peer_intact and not res.peer_closed
    assert "time limit of 30 simulated seconds" in res.error


def test_a_factory_that_raises_is_an_error_not_a_crash() -> None:
    def factory(**_kw: Any) -> Any:
        raise RuntimeError("no peer today")

    for active in (False, True):
        res = transfer(factory, 1, nbytes=1000, active=active, time_limit=20.0)
        assert not res.to_peer_intact and not res.from_peer_intact and res.segments == 0
        assert res.error.startswith("making the peer raised RuntimeError: 'no peer today'"), \
            res.error


GLUE = '''
from sender import Sender  # the 07b model solution, next to this file

from netsim.stack.tcp.lab_peer import LabPeer


class TcpPeer(LabPeer):
    """LabPeer's glue around the sender of the file next to it."""

    def __init__(self, isn=0, initial_rto=1.0, max_payload=1000, capacity=64000):
        super().__init__(isn, initial_rto, max_payload, capacity)
        self._sender = Sender(isn, initial_rto, max_payload)
'''


def test_students_run_the_simulation_on_their_file_which_imports_its_neighbours(
        tmp_path: Path) -> None:
    shutil.copy(ROOT / "lessons" / "teachers" / "solutions" / "sender.py", tmp_path)
    (tmp_path / "tcp_peer.py").write_text(GLUE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # this checkout's netsim
    plot = tmp_path / "out.png"
    proc = subprocess.run([sys.executable, "-m", "netsim.labrun", "peer-sim", "tcp_peer.py",
                           "--seed", "2", "--active", "--plot", str(plot)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("1000000 bytes, intact=True") == 2, proc.stdout
    assert "clean close: yours=True, netsim's=True" in proc.stdout
    assert plot.stat().st_size > 10_000
    bad = subprocess.run([sys.executable, "-m", "netsim.labrun", "peer-sim", "tcp_peer.py",
                          "--loss", "1"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "--loss: 1.0 is not allowed" in bad.stderr
    (tmp_path / "sender.py").unlink()
    gone = subprocess.run([sys.executable, "-m", "netsim.labrun", "peer-sim", "tcp_peer.py"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert gone.returncode == 2
    assert "ModuleNotFoundError: No module named 'sender'" in gone.stderr, gone.stderr


def test_the_benchmark_prints_a_row_per_mode_with_the_transfers_ok() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_peer.py"),
                           "--seeds", "1", "--repeat", "1", "--bytes", "100000"],
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["passive", "active"] and all(r[-1] == "yes" for r in rows)


def test_the_teachers_model_solution_moves_a_megabyte_each_way_too() -> None:
    from netsim.userclass import import_user_class

    folder = ROOT / "lessons" / "teachers" / "solutions"
    sys.path.insert(0, str(folder))  # its `from sender import Sender`, as labrun does
    try:
        model = import_user_class(f"{folder / 'tcp_peer.py'}:TcpPeer", "FILE", "test_peer")
    finally:
        sys.path.remove(str(folder))
        for name in ("sender", "tcp_receiver"):  # not left for other tests to find
            sys.modules.pop(name, None)
    for seed, active in ((1, False), (2, True)):
        res = transfer(model, seed, active=active)
        assert res.to_peer_intact and res.from_peer_intact, res
        assert res.peer_closed and res.netsim_closed and not res.reset and res.error == ""


class _Unwritten(LabPeer):
    """As the starter: every method raises."""

    def connect(self) -> list[Any]:
        raise NotImplementedError("TODO: TcpPeer.connect")

    def receive(self, seg: Any) -> list[Any]:
        raise NotImplementedError("TODO: TcpPeer.receive")


@pytest.mark.parametrize(("active", "call"), [(False, "receive"), (True, "connect")])
def test_a_peer_that_fails_before_its_syn_ends_the_run_at_once(active: bool, call: str) -> None:
    res = transfer(_Unwritten, 1, active=active)
    assert res.error == f"{call}() raised NotImplementedError: 'TODO: TcpPeer.{call}'"
    assert res.seconds < 1 and not res.peer_closed and not res.netsim_closed
    # passive: the SYN is answered with a RST (refused), so netsim's TCP stops too
    assert res.segments == (0 if active else 1) and res.reset is not active
