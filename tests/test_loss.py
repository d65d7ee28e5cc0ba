"""Loss models (netsim.sim.loss): rates, bursts, periodic and scripted losses."""

from __future__ import annotations

import math
import random

import pytest

from netsim.errors import UsageError
from netsim.sim.link import Link, LinkConfig
from netsim.sim.loss import (
    Bernoulli,
    GilbertElliott,
    LossModel,
    NoLoss,
    Periodic,
    Scripted,
    make_loss_model,
)
from netsim.sim.world import World

N = 20_000
FRAME = bytes(100)


def drops(model: LossModel, n: int, seed: int = 1) -> list[bool]:
    rng = random.Random(seed)
    return [model.drop(FRAME, i, rng) for i in range(n)]


def assert_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> None:
    """``count`` successes out of ``n`` trials is within ``sigmas`` standard deviations of n*p."""
    sd = math.sqrt(n * p * (1 - p))
    assert abs(count - n * p) <= sigmas * sd, f"{count} of {n}, expected {n * p:.0f} +- {sd:.1f}"


def bursts(lost: list[bool]) -> list[int]:
    """Lengths of the runs of consecutive losses."""
    runs, current = [], 0
    for flag in lost:
        if flag:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    return runs


@pytest.mark.parametrize("p", [0.01, 0.1, 0.5])
def test_bernoulli_loses_the_configured_fraction(p: float) -> None:
    assert_binomial(sum(drops(Bernoulli(p), N)), N, p)


def test_bernoulli_extremes_lose_nothing_or_everything() -> None:
    assert not any(drops(Bernoulli(0.0), 1000))
    assert all(drops(Bernoulli(1.0), 1000))
    assert not any(drops(NoLoss(), 1000))


@pytest.mark.parametrize(("mean_loss", "mean_burst"), [(0.05, 4.0), (0.02, 1.5), (0.2, 8.0)])
def test_gilbert_elliott_gives_bursts_of_the_configured_length_and_mean_loss(
    mean_loss: float, mean_burst: float
) -> None:
    n = 100_000
    model = GilbertElliott.from_rate(mean_loss, mean_burst)
    assert model.mean_loss == pytest.approx(mean_loss)
    lost = drops(model, n, seed=7)
    # Loss indicator = bad-state indicator of a 2-state chain with eigenvalue lam:
    # Var(sum) ~ n * pi * (1 - pi) * (1 + lam) / (1 - lam).
    lam = 1 - model.p_good_to_bad - model.p_bad_to_good
    sd = math.sqrt(n * mean_loss * (1 - mean_loss) * (1 + lam) / (1 - lam))
    assert abs(sum(lost) - n * mean_loss) <= 5 * sd
    runs = bursts(lost)
    # Burst lengths are geometric with mean b: variance b * (b - 1).
    mean_run = sum(runs) / len(runs)
    sd_mean = math.sqrt(mean_burst * (mean_burst - 1) / len(runs))
    assert abs(mean_run - mean_burst) <= 5 * sd_mean + 1e-9


def test_gilbert_elliott_is_burstier_than_bernoulli_at_the_same_rate() -> None:
    ge = bursts(drops(GilbertElliott.from_rate(0.05, 5.0), N))
    be = bursts(drops(Bernoulli(0.05), N))
    assert sum(ge) / len(ge) > 3 * (sum(be) / len(be))


def test_gilbert_elliott_with_partial_losses_in_each_state() -> None:
    model = GilbertElliott(0.1, 0.3, loss_good=0.01, loss_bad=0.5)
    expected = 0.01 * 0.75 + 0.5 * 0.25
    assert model.mean_loss == pytest.approx(expected)
    lost = sum(drops(model, 100_000, seed=3))
    assert lost / 100_000 == pytest.approx(expected, abs=0.01)


def test_gilbert_elliott_from_rate_refuses_impossible_combinations() -> None:
    with pytest.raises(UsageError, match="mean_burst"):
        GilbertElliott.from_rate(0.9, 1.0)  # 90% loss needs bursts of at least 9 frames
    with pytest.raises(UsageError, match="mean_burst"):
        GilbertElliott.from_rate(0.1, 0.5)
    with pytest.raises(UsageError, match="p_good_to_bad"):
        GilbertElliott(1.5, 0.1)


def test_periodic_drops_exactly_every_nth_frame() -> None:
    lost = drops(Periodic(7), 100)
    assert [i for i, flag in enumerate(lost) if flag] == list(range(6, 100, 7))
    assert all(drops(Periodic(1), 10))


def test_scripted_drops_the_named_indices() -> None:
    lost = drops(Scripted(indices=[0, 3, 4]), 10)
    assert [i for i, flag in enumerate(lost) if flag] == [0, 3, 4]


def test_scripted_drops_frames_matching_the_predicate() -> None:
    model = Scripted(predicate=lambda frame: frame[0] == 0xFF)
    rng = random.Random(1)
    frames = [bytes([i % 3 * 0x7F + (i % 3 == 2)]) for i in range(9)]  # 0x00, 0x7F, 0xFF, ...
    lost = [model.drop(f, i, rng) for i, f in enumerate(frames)]
    assert lost == [f[0] == 0xFF for f in frames]
    assert sum(lost) == 3


def test_scripted_refuses_negative_indices() -> None:
    with pytest.raises(UsageError, match="indices"):
        Scripted(indices=[-1])


@pytest.mark.parametrize(("rate", "every"), [(0.1, 10), (0.3, 3), (0.01, 100), (1.0, 1)])
def test_make_loss_model_periodic_uses_round_of_one_over_rate(rate: float, every: int) -> None:
    model = make_loss_model("periodic", rate)
    assert isinstance(model, Periodic)
    assert model.every_n == every


def test_make_loss_model_builds_each_model() -> None:
    assert isinstance(make_loss_model("bernoulli", 0.1), Bernoulli)
    assert isinstance(make_loss_model("Gilbert", 0.1, burst=4), GilbertElliott)
    assert isinstance(make_loss_model("gilbert", 0.0), NoLoss)


@pytest.mark.parametrize("name", ["uniform", "", "bernouli"])
def test_make_loss_model_rejects_unknown_names_naming_the_flag(name: str) -> None:
    with pytest.raises(UsageError, match=r"^--loss-model: .*bernoulli, gilbert, periodic$"):
        make_loss_model(name, 0.1)


def test_make_loss_model_rejects_rates_outside_0_1() -> None:
    with pytest.raises(UsageError, match=r"^--loss: "):
        make_loss_model("bernoulli", 1.5)


def test_loss_on_a_link_matches_rate_and_index_counts_every_offered_frame() -> None:
    world = World(seed=5)
    link = Link(world, LinkConfig(delay=0.001, loss=Bernoulli(0.03)))
    got: list[bytes] = []
    link.b.attach(got.append)
    for i in range(N):
        link.a.send(i.to_bytes(4, "big") + bytes(60))
    world.run()
    assert_binomial(link.a.stats.dropped["loss"], N, 0.03)
    assert len(got) == N - link.a.stats.dropped["loss"]


def test_scripted_index_on_a_link_is_the_offered_count_including_mtu_drops() -> None:
    world = World()
    link = Link(world, LinkConfig(mtu=100, loss=Scripted(indices=[2])))
    got: list[bytes] = []
    link.b.attach(got.append)
    frames = [b"\x00" * 60, b"\x01" * 500, b"\x02" * 60, b"\x03" * 60]  # index 1 is too long
    for frame in frames:
        link.a.send(frame)
    world.run()
    assert got == [frames[0], frames[3]]
    assert link.a.stats.dropped["mtu"] == 1
    assert link.a.stats.dropped["loss"] == 1


class CountingLoss:
    """Loses nothing; counts how often it was asked (a stand-in for any stateful model)."""

    def __init__(self) -> None:
        self.calls = 0

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        self.calls += 1
        return False


def test_each_direction_gets_its_own_copy_of_a_stateful_loss_model() -> None:
    shared = CountingLoss()
    world = World(seed=2)
    link = Link(world, LinkConfig(loss=shared))  # same config (and model) for both directions
    for _ in range(300):
        link.a.send(FRAME)
    for _ in range(100):
        link.b.send(FRAME)
    assert isinstance(link.a.loss, CountingLoss) and isinstance(link.b.loss, CountingLoss)
    assert (link.a.loss.calls, link.b.loss.calls, shared.calls) == (300, 100, 0)
