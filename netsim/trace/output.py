"""Writing a run's trace and plot for the command line (``--trace FILE``, ``--plot FILE``)."""

from __future__ import annotations

from pathlib import Path

from netsim.errors import UsageError
from netsim.trace.recorder import Recorder

__all__ = ["check_trace_outputs", "write_trace_outputs"]


def check_trace_outputs(trace: str | Path | None, plot: str | Path | None) -> None:
    """Refuse, before a long run, output paths that cannot be written: a missing folder or
    a figure format matplotlib does not know."""
    for flag, path in (("--trace", trace), ("--plot", plot)):
        if path is None:
            continue
        parent = Path(path).parent
        if not parent.is_dir():
            raise UsageError(f"{flag}: cannot write {str(path)!r}: no folder {str(parent)!r}")
    if plot is not None:
        from matplotlib.backend_bases import FigureCanvasBase

        kinds = FigureCanvasBase.get_supported_filetypes()
        ext = Path(plot).suffix.lower().lstrip(".")
        if ext not in kinds:
            raise UsageError(f"--plot: {str(plot)!r} needs a figure extension: "
                             f"{', '.join(sorted(kinds))}")


def write_trace_outputs(rec: Recorder, trace: str | Path | None, plot: str | Path | None,
                        conn: str | None = None) -> None:
    """Write `rec` as JSON lines to `trace` and its combined figure to `plot` (either may be
    None). A file that cannot be written is a `UsageError` naming the flag."""
    if trace is not None:
        try:
            rec.to_jsonl(trace)
        except OSError as exc:
            raise UsageError(f"--trace: cannot write {str(trace)!r}: "
                             f"{exc.strerror or exc}") from None
    if plot is not None:
        from netsim.trace.plots import plot_combined

        if not rec.segments():
            raise UsageError("--plot: the run recorded no TCP segments to plot")
        fig = plot_combined(rec, conn)
        try:
            fig.savefig(plot, dpi=110)
        except OSError as exc:
            raise UsageError(f"--plot: cannot write {str(plot)!r}: "
                             f"{exc.strerror or exc}") from None
        except ValueError as exc:  # an unknown file extension
            raise UsageError(f"--plot: {exc}".splitlines()[0]) from None
