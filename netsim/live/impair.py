"""Impairment middleware between a TAP device and the stack, using the simulation's link model.

``stack port <-> [Link a ... b] <-> TAP``: frames the stack sends enter the link at ``a`` and
reach the TAP after the ``to_kernel`` direction's delay, jitter, rate, queue, loss, reordering,
duplication and corruption; frames read from the TAP enter at ``b`` and reach the stack after
the ``from_kernel`` direction's. This is `netsim.link.model.Link` itself, run on the live
environment, so a flag such as ``--loss 0.05 --delay 20ms`` means exactly what it means in a
simulation (smoltcp puts fault injection in the same place: middleware on the device).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netsim import argcheck
from netsim.link.config import LinkConfig
from netsim.link.loss import NoLoss
from netsim.link.model import Endpoint, Link, LinkStats
from netsim.link.streams import RandomStreams

if TYPE_CHECKING:
    from netsim.live.env import LiveEnvironment
    from netsim.live.tap import TapPort

__all__ = ["ImpairedPort", "is_impaired"]


def is_impaired(config: LinkConfig) -> bool:
    """Whether `config` changes anything about frames (beyond its MTU)."""
    return bool(
        config.delay or config.jitter or config.rate_bps is not None
        or (config.loss is not None and not isinstance(config.loss, NoLoss))
        or config.reorder or config.duplicate or config.corrupt
    )


class _LiveWorld(RandomStreams):
    """Where the link runs live: the live environment, and random streams from the seed."""

    def __init__(self, env: LiveEnvironment, seed: int) -> None:
        super().__init__(seed)
        self.env = env


class ImpairedPort:
    """A port for the stack that reaches `tap` through a simulated link."""

    def __init__(self, env: LiveEnvironment, tap: TapPort, to_kernel: LinkConfig,
                 from_kernel: LinkConfig | None = None, seed: int = 1) -> None:
        argcheck.instance("to_kernel", to_kernel, LinkConfig, "a LinkConfig")
        argcheck.instance("from_kernel", from_kernel, LinkConfig, "a LinkConfig (or None)")
        self.tap = tap
        self.link = Link(_LiveWorld(env, seed), to_kernel, from_kernel, name=f"live:{tap.name}")
        self._stack_side: Endpoint = self.link.a
        kernel_side = self.link.b
        tap.attach(kernel_side.send)
        kernel_side.attach(tap.send)

    def send(self, frame: bytes) -> None:
        self._stack_side.send(frame)

    def attach(self, receiver: object) -> None:
        self._stack_side.attach(receiver)  # type: ignore[arg-type]

    @property
    def to_kernel(self) -> LinkStats:
        """Counters of frames going from the stack to the kernel."""
        return self.link.a.stats

    @property
    def from_kernel(self) -> LinkStats:
        """Counters of frames going from the kernel to the stack."""
        return self.link.b.stats
