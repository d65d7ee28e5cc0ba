"""Flows with different round-trip times: ``netsim sim --flows N --flow-delays ...`` and
``BulkScenario(flow_delays=...)`` (netsim.sim.topology.fan_in), and the RTT unfairness a
student measures with them in lesson 12."""

from __future__ import annotations

import json

import pytest

from netsim.cli import main
from netsim.errors import UsageError
from netsim.link.qdisc import parse_qdisc
from netsim.sim.link import LinkConfig
from netsim.sim.scenario import BulkScenario, run_bulk
from netsim.stack.tcp.config import TcpConfig


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--flows", "2", "--flow-delays", "10ms"], "1 delay for --flows 2"),
        (["--flow-delays", "10ms,50ms"], "2 delays for --flows 1"),
        (["--flows", "2", "--flow-delays", "10xs,5ms"], "'10xs' is not a time"),
        (["--flows", "2", "--flow-delays", "10,5ms"], "has no unit"),
        (["--flows", "2", "--flow-delays=-5ms,5ms"], "'-5ms'"),
        (["--flows", "2", "--flow-delays", "1min,5ms"], "'1min'"),
        (["--flows", "2", "--flow-delays", "20s,5ms"], "from 0 to 10s"),
        (["--flows", "2", "--flow-delays", "10ms,,5ms"], "--flow-delays"),
        (["--flows", "2", "--flow-delays", "10ms,50ms", "-6"], "not with -6"),
    ],
)
def test_a_bad_flow_delays_is_one_line_naming_the_option(
        capsys: pytest.CaptureFixture[str], args: list[str], says: str) -> None:
    assert main(["sim", "--bytes", "10kB", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("netsim: error: --flow-delays: ")
    assert says in captured.err


@pytest.mark.parametrize("delays", ["10ms", [0.01], [0.01, -0.02], [0.01, float("nan")],
                                    [0.01, True], [0.01, 11.0]])
def test_run_bulk_refuses_bad_flow_delays(delays: object) -> None:
    with pytest.raises(UsageError, match="--flow-delays"):
        run_bulk(BulkScenario(bytes=1000, flows=2, flow_delays=delays))  # type: ignore[arg-type]


def test_each_flow_gets_its_own_delay(capsys: pytest.CaptureFixture[str]) -> None:
    # Bottleneck 5 ms each way; extra 10 and 50 ms: base RTTs 2 * (5 + 10) = 30 ms and
    # 2 * (5 + 50) = 110 ms, what each flow's handshake takes (the ARP caches start filled)
    assert main(["sim", "--json", "--bytes", "200kB", "--rate", "10Mbit", "--delay", "5ms",
                 "--flows", "2", "--flow-delays", "10ms,50ms"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["intact"] is True and doc["bytes_delivered"] == 400_000
    assert doc["flow_delays"] == [0.01, 0.05]
    short, long = doc["handshake_rtts"]
    assert short == pytest.approx(0.030, abs=0.002)
    assert long == pytest.approx(0.110, abs=0.002)
    # the same flows from one host: one RTT for both, and no per-flow fields
    assert main(["sim", "--json", "--bytes", "200kB", "--rate", "10Mbit", "--delay", "5ms",
                 "--flows", "2"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "flow_delays" not in plain and "handshake_rtts" not in plain
    # the readable summary names each sender with its delay and handshake
    assert main(["sim", "--bytes", "20kB", "--delay", "5ms", "--flows", "2",
                 "--flow-delays", "0ms,20ms"]) == 0
    out = capsys.readouterr().out
    assert "s1 +0 ms (handshake RTT 10 ms), s2 +20 ms (handshake RTT 50 ms)" in out


def test_the_bottleneck_settings_apply_where_the_flows_meet() -> None:
    # a marking queue at the shared bottleneck, ECN on: the marks are counted there
    result = run_bulk(BulkScenario(bytes=1_000_000, flows=2, flow_delays=[0.0, 0.02], ecn=True,
                                   link=LinkConfig(delay=0.005, rate_bps=10e6,
                                                   qdisc=parse_qdisc("codel ecn"))))
    assert result.intact and result.ecn is not None and result.ecn["ce_marks"] > 0
    assert result.link_drops["aqm"] == 0 and result.link["rate_bps"] == 10e6


def rtt_unfairness(qdisc: str) -> float:
    """Jain's index of two CUBIC flows, 10 and 50 ms of extra delay, over 10 s through a
    10 Mbit/s bottleneck (10 ms each way) with ``qdisc``: lesson 12's experiment, shorter."""
    result = run_bulk(BulkScenario(
        bytes=100_000_000, cc="cubic", flows=2, flow_delays=[0.01, 0.05], time_limit=10.0,
        tcp=TcpConfig(rcvbuf=4 << 20, sndbuf=4 << 20),
        link=LinkConfig(delay=0.01, rate_bps=10e6, qdisc=parse_qdisc(qdisc))))
    assert result.completed is False and result.error == "time limit of 10 s reached"
    assert 7.5e6 < sum(result.flow_goodputs_bps) <= 10e6  # both backlogged: a busy link
    assert len(result.flow_timeouts) == 2 and sum(result.flow_timeouts) == result.timeouts
    return result.jain_fairness


def test_fq_codel_shares_the_link_between_rtts_that_drop_tail_does_not() -> None:
    # drop-tail: the short-RTT flow takes nearly everything (index near 1/2); FQ-CoDel's
    # round robin gives the two nearly equal shares (measured: 0.52 against 0.99)
    drop_tail = rtt_unfairness("droptail limit 1000")
    fq = rtt_unfairness("fq_codel")
    assert drop_tail < 0.7 and fq > 0.95
