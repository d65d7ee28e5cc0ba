"""The progress bar of a simulated transfer (``netsim demo``, ``netsim sim``): how far the
transfer is as simulated time advances, with an estimate of the wall time left.

A SimPy process (`progress_process`) redraws the bar every few simulated milliseconds; the bar
itself (`Progress`) shows nothing during the first second of wall time, then redraws in place
on stderr at most ten times a second. Commands show it when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Generator
from typing import Any, TextIO

import simpy
from simpy.events import Event

from netsim.units import format_size, format_time

__all__ = ["Progress", "add_progress_argument", "progress_process", "wanted"]


class Progress:
    """A one-line text progress bar on `stream`, shown only once the run has taken more than
    `after` seconds of wall time, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, *, after: float = 1.0, width: int = 30,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.after = after
        self.width = width
        self.clock = clock
        self.start = clock()
        self.shown = False
        self._last = -1.0

    def update(self, done: int, sim_time: float) -> None:
        now = self.clock()
        if now - self.start < self.after or now - self._last < 0.1:
            return
        self._last = now
        frac = min(max(done / self.total, 0.0), 1.0)
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = now - self.start
        eta = format_time(elapsed * (1 - frac) / frac) if 0 < frac < 1 else "?"
        if frac >= 1:
            eta = "0 s"
        line = (f"[{bar}] {frac * 100:5.1f}%  {format_size(done)} of "
                f"{format_size(self.total)}, simulated time {format_time(sim_time)}, "
                f"about {eta} left")
        self.stream.write("\r" + line.ljust(78))
        self.stream.flush()
        self.shown = True

    def finish(self, done: int, sim_time: float) -> None:
        """Draw the final state (if the bar was shown at all) and end the line."""
        if self.shown:
            self._last = -1.0
            self.update(done, sim_time)
            self.stream.write("\n")
            self.stream.flush()


def progress_process(env: simpy.Environment, bar: Progress, done: Callable[[], int],
                     finished: Callable[[], bool],
                     step: float = 0.05) -> Generator[Event, Any, None]:
    """A SimPy process: every `step` simulated seconds, redraw `bar`; stop when finished."""
    while not finished():
        bar.update(done(), float(env.now))
        yield env.timeout(step)


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", default="auto", choices=("auto", "on", "off"),
                        help="progress bar with the time left, on stderr: auto shows it on a "
                             "terminal when the run takes over a second (default auto)")


def wanted(args: argparse.Namespace) -> bool:
    """Whether --progress asks for the bar here."""
    mode = getattr(args, "progress", "auto")
    return bool(mode == "on" or (mode == "auto" and sys.stderr.isatty()))
