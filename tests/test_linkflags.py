"""The shared link flags (netsim.cli.linkflags): defaults, parsing and one-line errors."""

from __future__ import annotations

import argparse

import pytest

from netsim.cli import main
from netsim.cli.linkflags import add_link_arguments, link_config_from_args
from netsim.errors import UsageError
from netsim.sim.link import LinkConfig
from netsim.sim.loss import Bernoulli, GilbertElliott, NoLoss, Periodic


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="netsim test")
    add_link_arguments(parser)
    return parser.parse_args(list(argv))


def config(*argv: str) -> LinkConfig:
    return link_config_from_args(parse(*argv))


def test_defaults() -> None:
    args = parse()
    cfg = link_config_from_args(args)
    assert cfg.delay == pytest.approx(0.010)
    assert cfg.jitter == 0
    assert cfg.rate_bps == pytest.approx(100e6)
    assert (cfg.queue_packets, cfg.queue_bytes) == (1000, None)
    assert cfg.mtu == 1500
    assert isinstance(cfg.loss, NoLoss)
    assert (cfg.reorder, cfg.duplicate, cfg.corrupt) == (0, 0, 0)
    assert args.seed == 1
    assert args.pcap is None
    assert args.json is False


def test_every_flag_reaches_the_config() -> None:
    args = parse(
        "--delay", "25ms", "--jitter", "1ms", "--rate", "1.5GBIT", "--queue", "100",
        "--mtu", "9000", "--loss", "0.01", "--loss-model", "bernoulli", "--reorder", "0.05",
        "--duplicate", "0.01", "--corrupt", "0.001", "--seed", "7", "--pcap", "out.pcap",
        "--json",
    )
    cfg = link_config_from_args(args)
    assert cfg.delay == pytest.approx(0.025)
    assert cfg.jitter == pytest.approx(0.001)
    assert cfg.rate_bps == pytest.approx(1.5e9)
    assert cfg.queue_packets == 100
    assert cfg.mtu == 9000
    assert isinstance(cfg.loss, Bernoulli) and cfg.loss.p == 0.01
    assert (cfg.reorder, cfg.duplicate, cfg.corrupt) == (0.05, 0.01, 0.001)
    assert (args.seed, args.pcap, args.json) == (7, "out.pcap", True)


def test_loss_models_by_name() -> None:
    gilbert = config("--loss", "0.05", "--loss-model", "gilbert", "--loss-burst", "4").loss
    assert isinstance(gilbert, GilbertElliott)
    assert gilbert.mean_loss == pytest.approx(0.05)
    assert gilbert.p_bad_to_good == pytest.approx(0.25)
    periodic = config("--loss", "0.1", "--loss-model", "periodic").loss
    assert isinstance(periodic, Periodic) and periodic.every_n == 10


def test_queue_accepts_bytes_with_a_unit_and_none() -> None:
    cfg = config("--queue", "64kB")
    assert (cfg.queue_packets, cfg.queue_bytes) == (None, 64_000)
    cfg = config("--queue", "none")
    assert (cfg.queue_packets, cfg.queue_bytes) == (None, None)


def test_rate_none_means_infinitely_fast() -> None:
    assert config("--rate", "none").rate_bps is None


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--delay", "-5ms"),
        ("--delay", "10xs"),
        ("--jitter", "lots"),
        ("--rate", "100Mbitz"),
        ("--rate", "0"),
        ("--queue", "-3"),
        ("--queue", "1.5"),
        ("--queue", "10zB"),
        ("--mtu", "60"),
        ("--mtu", "1500B"),
        ("--loss", "1.5"),
        ("--loss", "-0.1"),
        ("--loss", "nan"),
        ("--loss-model", "uniform"),
        ("--loss-burst", "0.5"),
        ("--reorder", "2"),
        ("--duplicate", "x"),
        ("--corrupt", "-1"),
        ("--qdisc", "sfq"),
        ("--qdisc", "pfifo_fast"),
    ],
)
def test_bad_value_raises_one_line_error_naming_the_flag(flag: str, value: str) -> None:
    with pytest.raises(UsageError) as info:
        config(f"{flag}={value}")  # "=" so that argparse takes "-5ms" as a value
    message = str(info.value)
    assert message.startswith(f"{flag}: ")
    assert value in message
    assert "\n" not in message


def test_delay_error_message_says_what_is_allowed() -> None:
    with pytest.raises(UsageError) as info:
        config("--delay", "10xs")
    assert str(info.value) == "--delay: '10xs' is not a time; use e.g. 10ms, 1.5s, 200us"


def test_bad_flag_through_the_cli_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import netsim.cli as cli

    def build_parser() -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog="netsim")
        sub = parser.add_subparsers()
        demo = sub.add_parser("linkdemo")
        add_link_arguments(demo)
        demo.set_defaults(func=lambda args: bool(link_config_from_args(args)) and 0)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    assert main(["linkdemo", "--loss", "1.5"]) == 2
    err = capsys.readouterr().err
    assert err == ("netsim: error: --loss: '1.5' is not a probability; use a number from 0 "
                   "to 1 (0.01 is 1%)\n")
    assert main(["linkdemo", "--delay", "5ms"]) == 0


def test_qdisc_parameters_are_tc_words_in_one_argument() -> None:
    cfg = config("--qdisc", "codel target 2ms interval 50ms limit 300 ecn")
    assert cfg.qdisc is not None
    qdisc = cfg.qdisc()
    assert (qdisc.target, qdisc.interval, qdisc.limit, qdisc.ecn) == (0.002, 0.05, 300, True)
    assert "codel target 2ms interval 50ms limit 300 ecn" in cfg.describe()
    fq = config("--qdisc", "FQ_CODEL flows 64 quantum 300").qdisc
    assert fq is not None and (fq().flows, fq().quantum, fq().limit) == (64, 300, 10240)


def test_droptail_is_the_default_and_its_words_set_the_fast_path_queue() -> None:
    assert config().qdisc is None
    assert config("--qdisc", "droptail").qdisc is None
    cfg = config("--qdisc", "droptail limit 50")
    assert (cfg.qdisc, cfg.queue_packets, cfg.queue_bytes) == (None, 50, None)
    cfg = config("--qdisc", "droptail bytes 64kB")
    assert (cfg.qdisc, cfg.queue_packets, cfg.queue_bytes) == (None, None, 64_000)


@pytest.mark.parametrize(("value", "fragment"), [
    ("codel target 5", "--qdisc: codel target: '5' has no unit"),
    ("fq_codel quantum 12", "--qdisc: fq_codel quantum: '12' is not allowed; use a whole number"),
    ("red min 9 max 3", "--qdisc: red min 9 is not below max 3"),
    ("red gentle 1", "--qdisc: '1' is not a parameter of red"),
    ("codel interval", "--qdisc: codel interval needs a value"),
])
def test_a_bad_qdisc_parameter_is_named_with_what_is_allowed(value: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        config(f"--qdisc={value}")
    assert str(info.value).startswith(fragment)
    assert "\n" not in str(info.value)
