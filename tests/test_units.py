"""Parsing and printing of user-given times, rates and sizes (netsim.units)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netsim.errors import UsageError
from netsim.units import format_rate, format_size, format_time, parse_rate, parse_size, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10ms", 0.010),
        ("1s", 1.0),
        ("500us", 500e-6),
        ("500µs", 500e-6),
        ("2.5 ms", 2.5e-3),
        ("2.5MS", 2.5e-3),
        ("0", 0.0),  # zero needs no unit
        (0.25, 0.25),  # a number (from Python) is already seconds
        (".5s", 0.5),
        ("100ns", 100e-9),
        ("1e-3s", 1e-3),
        ("2min", 120.0),
        (0.2, 0.2),
    ],
)
def test_parse_time_accepts_common_spellings(text: str | float, seconds: float) -> None:
    assert parse_time(text, "--delay") == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("100Mbit", 100e6),
        ("100mbit", 100e6),
        ("100MBIT", 100e6),
        ("1gbit", 1e9),
        ("64kbit", 64e3),
        ("9600bit", 9600.0),
        (9600, 9600.0),  # a number (from Python) is already bits per second
        ("1bps", 8.0),  # tc: bps is BYTES per second
        ("125kbps", 1e6),
        ("12.5mbps", 100e6),
        ("1Gbit/s", 1e9),
        ("1mibit", 2.0**20),
    ],
)
def test_parse_rate_follows_tc_units(text: str, bps: float) -> None:
    assert parse_rate(text, "--rate") == pytest.approx(bps, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("1500", 1500),
        ("1500B", 1500),
        ("64kB", 64_000),
        ("64KB", 64_000),
        ("10MB", 10_000_000),
        ("1GB", 10**9),
        ("1KiB", 1024),
        ("1MiB", 1024**2),
        ("1.5MiB", 1572864),
        ("2 GiB", 2 * 1024**3),
    ],
)
def test_parse_size_knows_si_and_binary_prefixes(text: str, nbytes: int) -> None:
    value = parse_size(text, "--queue")
    assert value == nbytes
    assert isinstance(value, int)


@pytest.mark.parametrize(
    ("parse", "text", "flag"),
    [
        (parse_time, "10xs", "--delay"),
        (parse_time, "ten ms", "--delay"),
        (parse_time, "-1ms", "--jitter"),
        (parse_time, "", "--delay"),
        (parse_time, "nan", "--delay"),
        (parse_time, "1e999", "--delay"),
        (parse_rate, "100Mbitz", "--rate"),
        (parse_rate, "0", "--rate"),
        (parse_rate, "-5mbit", "--rate"),
        (parse_size, "10XB", "--queue-bytes"),
        (parse_size, "1.5B", "--queue-bytes"),
        (parse_size, "-3kB", "--queue-bytes"),
    ],
)
def test_bad_values_raise_one_line_usage_error_naming_the_argument(
    parse: Callable[[str, str], object], text: str, flag: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse(text, flag)
    message = str(info.value)
    assert message.startswith(f"{flag}: ")
    assert repr(text) in message
    assert "\n" not in message
    assert "e.g." in message  # says what is allowed


@pytest.mark.parametrize(
    ("parse", "text", "hint"),
    [(parse_time, "10", "add one (10ms, 10s)"), (parse_time, "0.5", "(0.5ms, 0.5s)"),
     (parse_rate, "9600", "add one (9600Mbit, 9600kbit")],
)
def test_a_bare_number_of_time_or_rate_is_refused_with_the_unit_to_add(
    parse: Callable[[str, str], object], text: str, hint: str
) -> None:
    # One rule everywhere (flags and sweep specs): "--delay 10" is not silently 10 seconds.
    with pytest.raises(UsageError) as info:
        parse(text, "--delay")
    assert str(info.value) == f"--delay: {text!r} has no unit; " + str(info.value).split(
        "has no unit; ")[1]
    assert hint in str(info.value)


def test_format_time_uses_minutes_hours_and_days_for_long_times() -> None:
    assert format_time(157000) == "43.6 h"
    assert format_time(150) == "2.5 min"
    assert format_time(99) == "99 s"
    assert format_time(3e6) == "34.7 days"


def test_bad_time_message_shows_examples() -> None:
    with pytest.raises(UsageError, match=r"^--delay: '10xs' is not a time; use e\.g\. 10ms"):
        parse_time("10xs", "--delay")


def test_rate_error_warns_that_bps_means_bytes() -> None:
    with pytest.raises(UsageError, match="BYTES"):
        parse_rate("fast", "--rate")


@pytest.mark.parametrize(
    ("bps", "text"),
    [(100e6, "100 Mbit/s"), (1.5e9, "1.5 Gbit/s"), (64e3, "64 kbit/s"), (800, "800 bit/s"),
     (999_999, "1 Mbit/s"), (None, "unlimited")],
)
def test_format_rate(bps: float | None, text: str) -> None:
    assert format_rate(bps) == text


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [(0, "0 B"), (512, "512 B"), (64_000, "64 kB"), (1_500_000, "1.5 MB"), (None, "unlimited")],
)
def test_format_size(nbytes: int | None, text: str) -> None:
    assert format_size(nbytes) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (0.01, "10 ms"), (1.5, "1.5 s"), (200e-6, "200 us"), (2.5e-8, "25 ns"),
     (-0.002, "-2 ms")],
)
def test_format_time(seconds: float, text: str) -> None:
    assert format_time(seconds) == text


@pytest.mark.parametrize("value", [0.01, 1.5, 200e-6, 3e-9, 42.0, 157000.0, 7200.0])
def test_formatted_time_parses_back(value: float) -> None:
    assert parse_time(format_time(value), "x") == pytest.approx(value, rel=1e-3)


@pytest.mark.parametrize("value", [9600.0, 100e6, 2.5e9])
def test_formatted_rate_parses_back(value: float) -> None:
    assert parse_rate(format_rate(value), "x") == pytest.approx(value, rel=1e-3)
