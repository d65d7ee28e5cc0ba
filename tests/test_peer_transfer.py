"""Assignment 10's simulation (netsim.sim.peer_transfer): netsim's reference peer (`LabPeer`)
and netsim's own TCP exchange 1 MB each way over a link that loses, reorders and duplicates,
as the passive and as the active side; and a broken peer is told apart from a working one."""

from __future__ import annotations

from typing import Any

import pytest

from netsim.sim.peer_transfer import transfer
from netsim.stack.tcp.lab_peer import LabPeer


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
