"""Loss models: which frames a link direction loses on the wire.

A loss model is a small object with one method, ``drop(frame, index, rng) -> bool``. ``index`` is
the 0-based count of frames offered in that direction (every call to ``Endpoint.send``, including
frames later dropped for MTU or a full queue), so scripted and periodic models can name frames the
way a user counts them: "lose the 3rd frame" is index 2. All randomness comes from ``rng``, the
direction's own loss stream, so a run is reproducible from the world's seed.

A link gives each direction its own copy of the model (``copy.deepcopy``), so a stateful model such
as Gilbert-Elliott keeps separate state per direction even when one `LinkConfig` is reused.

A model that never looks at ``frame`` may say so with an attribute ``reads_frames = False``: the
link then need not build the bytes of a frame that is still a `LazyFrame` (netsim.wire.lazyframe)
and passes an empty ``bytes`` instead. Without the attribute a model is given every frame's bytes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from netsim.errors import UsageError

__all__ = [
    "DEFAULT_BURST",
    "Bernoulli",
    "GilbertElliott",
    "LossModel",
    "NoLoss",
    "Periodic",
    "Scripted",
    "make_loss_model",
]

#: Mean burst length (frames) of ``make_loss_model("gilbert", rate)`` when none is given.
DEFAULT_BURST = 3.0


@runtime_checkable
class LossModel(Protocol):
    """Decides, frame by frame, whether a link direction loses a frame."""

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        """Return True to lose ``frame``, the ``index``-th (0-based) frame offered."""
        ...


def _probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise UsageError(f"{name}: {value!r} is not a probability; use a number in [0, 1]")
    return float(value)


class NoLoss:
    """Never loses a frame."""

    reads_frames = False

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        return False

    def __repr__(self) -> str:
        return "NoLoss()"


class Bernoulli:
    """Loses each frame independently with probability ``p``."""

    reads_frames = False

    def __init__(self, p: float) -> None:
        self.p = _probability(p, "Bernoulli p")

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        return rng.random() < self.p

    def __repr__(self) -> str:
        return f"Bernoulli(p={self.p!r})"


class GilbertElliott:
    """Two-state Markov (Gilbert-Elliott) loss: bursts of loss in a "bad" state.

    Per frame, the chain first moves (good -> bad with ``p_good_to_bad``, bad -> good with
    ``p_bad_to_good``) and the frame is then lost with the new state's loss probability. The chain
    starts in the good state. In the long run the bad state holds a fraction
    ``p_gb / (p_gb + p_bg)`` of frames, so the mean loss is
    ``loss_good * (1 - that) + loss_bad * that``; with the default ``loss_bad=1`` and
    ``loss_good=0`` a loss burst lasts ``1 / p_bad_to_good`` frames on average.
    """

    reads_frames = False

    def __init__(
        self,
        p_good_to_bad: float,
        p_bad_to_good: float,
        loss_good: float = 0.0,
        loss_bad: float = 1.0,
    ) -> None:
        self.p_good_to_bad = _probability(p_good_to_bad, "GilbertElliott p_good_to_bad")
        self.p_bad_to_good = _probability(p_bad_to_good, "GilbertElliott p_bad_to_good")
        self.loss_good = _probability(loss_good, "GilbertElliott loss_good")
        self.loss_bad = _probability(loss_bad, "GilbertElliott loss_bad")
        self.bad = False

    @classmethod
    def from_rate(cls, mean_loss: float, mean_burst: float) -> GilbertElliott:
        """A model losing ``mean_loss`` of frames in bursts of ``mean_burst`` frames on average.

        Uses ``loss_good=0, loss_bad=1``: ``p_bad_to_good = 1 / mean_burst`` and
        ``p_good_to_bad = mean_loss / (1 - mean_loss) * p_bad_to_good``.
        """
        mean_loss = _probability(mean_loss, "GilbertElliott mean_loss")
        if isinstance(mean_burst, bool) or not (
            isinstance(mean_burst, int | float) and math.isfinite(mean_burst) and mean_burst >= 1
        ):
            raise UsageError(
                f"GilbertElliott mean_burst: {mean_burst!r} is not a burst length; "
                "use a number of frames >= 1"
            )
        if mean_loss >= 1.0:
            return cls(1.0, 0.0)
        p_bg = 1.0 / mean_burst
        p_gb = mean_loss / (1.0 - mean_loss) * p_bg
        if p_gb > 1.0:
            least = mean_loss / (1.0 - mean_loss)
            raise UsageError(
                f"GilbertElliott mean_burst: bursts of {mean_burst:g} frames cannot give a mean "
                f"loss of {mean_loss:g}; use a mean burst >= {least:.3g}"
            )
        return cls(p_gb, p_bg)

    @property
    def mean_loss(self) -> float:
        """The long-run fraction of frames lost."""
        total = self.p_good_to_bad + self.p_bad_to_good
        bad = 0.0 if total == 0 else self.p_good_to_bad / total
        return self.loss_good * (1.0 - bad) + self.loss_bad * bad

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        if self.bad:
            if rng.random() < self.p_bad_to_good:
                self.bad = False
        elif rng.random() < self.p_good_to_bad:
            self.bad = True
        p = self.loss_bad if self.bad else self.loss_good
        if p >= 1.0:
            return True
        if p <= 0.0:
            return False
        return rng.random() < p

    def __repr__(self) -> str:
        return (
            f"GilbertElliott(p_good_to_bad={self.p_good_to_bad!r}, "
            f"p_bad_to_good={self.p_bad_to_good!r}, loss_good={self.loss_good!r}, "
            f"loss_bad={self.loss_bad!r})"
        )


class Periodic:
    """Loses every Nth frame: indices ``n-1, 2n-1, ...`` (``every_n=1`` loses everything)."""

    reads_frames = False

    def __init__(self, every_n: int) -> None:
        if isinstance(every_n, bool) or not isinstance(every_n, int) or every_n < 1:
            raise UsageError(f"Periodic every_n: {every_n!r} is not a period; use an integer >= 1")
        self.every_n = every_n

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        return (index + 1) % self.every_n == 0

    def __repr__(self) -> str:
        return f"Periodic(every_n={self.every_n!r})"


class Scripted:
    """Loses the frames with the given 0-based ``indices`` and any frame matching ``predicate``.

    ``Scripted(indices=[0, 2])`` loses the first and third frame offered; ``Scripted(predicate=
    lambda f: is_syn(f))`` loses every frame the predicate picks (the predicate sees raw bytes).
    """

    def __init__(
        self,
        indices: Iterable[int] = (),
        predicate: Callable[[bytes], bool] | None = None,
    ) -> None:
        self.indices = frozenset(indices)
        bad = [i for i in self.indices if isinstance(i, bool) or not isinstance(i, int) or i < 0]
        if bad:
            raise UsageError(
                f"Scripted indices: {sorted(map(repr, bad))} are not frame indices; "
                "use 0-based integers"
            )
        if predicate is not None and not callable(predicate):
            raise UsageError(f"Scripted predicate: {predicate!r} is not callable")
        self.predicate = predicate
        self.reads_frames = predicate is not None

    def drop(self, frame: bytes, index: int, rng: random.Random) -> bool:
        if index in self.indices:
            return True
        return self.predicate is not None and bool(self.predicate(frame))

    def __repr__(self) -> str:
        return f"Scripted(indices={sorted(self.indices)!r}, predicate={self.predicate!r})"


LOSS_MODELS: tuple[str, ...] = ("bernoulli", "gilbert", "periodic")


def make_loss_model(name: str, rate: float, *, burst: float = DEFAULT_BURST) -> LossModel:
    """Build a loss model from CLI-style settings: ``--loss-model NAME --loss RATE``.

    'bernoulli' loses each frame with probability ``rate``; 'gilbert' loses ``rate`` of frames in
    bursts of ``burst`` frames on average; 'periodic' loses every ``round(1 / rate)``-th frame.
    A rate of 0 gives `NoLoss` whatever the name.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in LOSS_MODELS:
        raise UsageError(
            f"--loss-model: {name!r} is not a loss model; use one of {', '.join(LOSS_MODELS)}"
        )
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise UsageError(f"--loss: {rate!r} is not a probability; use a number in [0, 1]")
    if rate == 0:
        return NoLoss()
    if key == "bernoulli":
        return Bernoulli(rate)
    if key == "periodic":
        return Periodic(max(1, round(1.0 / rate)))
    try:
        return GilbertElliott.from_rate(rate, burst)
    except UsageError as exc:
        raise UsageError(f"--loss-burst: {exc}".replace("GilbertElliott mean_burst: ", "")) from exc
