"""A progress bar with an ETA, on stderr: redrawn in place on a terminal, a line per tenth
of the work otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``update(done, failed)`` after each finished run; ``close()`` at the end."""

    WIDTH = 24

    def __init__(self, total: int, already: int = 0, stream: TextIO | None = None,
                 enabled: bool = True, label: str = "sweep") -> None:
        self.total = total
        self.already = already  # done by an earlier sweep into the same file
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > already
        self.label = label
        self.start = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._last_tenth = -1
        self._line = ""

    def line(self, done: int, failed: int) -> str:
        total = max(self.total, 1)
        frac = done / total
        fill = int(frac * self.WIDTH)
        bar = "#" * fill + "." * (self.WIDTH - fill)
        elapsed = time.monotonic() - self.start
        new = done - self.already
        if new > 0 and done < self.total:
            eta = format_duration(elapsed / new * (self.total - done))
        elif done >= self.total:
            eta = "0:00"
        else:
            eta = "?"
        text = (f"{self.label} [{bar}] {done}/{self.total} runs {frac:4.0%}"
                f"  elapsed {format_duration(elapsed)}  ETA {eta}")
        if failed:
            text += f"  {failed} with errors"
        return text

    def update(self, done: int, failed: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if not force and now - self._last_draw < 0.1 and done < self.total:
                return
            self._last_draw = now
            text = self.line(done, failed)
            pad = max(0, len(self._line) - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._line = text
        else:
            tenth = int(10 * done / max(self.total, 1))
            if tenth == self._last_tenth and not force:
                return
            self._last_tenth = tenth
            self.stream.write(self.line(done, failed) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self._line:
            self.stream.write("\n")
            self.stream.flush()
            self._line = ""
