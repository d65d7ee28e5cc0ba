"""`netsim plot-sweep TABLE`: the mean of one column of a sweep table against another.

    netsim plot-sweep mathis.csv --x loss --y goodput_bps --hue cc --logx --logy --out fig.png

One line per value of ``--hue``, a point per value of ``--x`` with error bars (95 % confidence
interval of the mean by default). Runs with an error are left out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from netsim.errors import UsageError
from netsim.sweep.plot import ERROR_BARS, plot_sweep
from netsim.sweep.table import read_table

COMMAND = "plot-sweep"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        COMMAND,
        help="plot a sweep table: mean of --y per --x (per --hue) with error bars",
        description="Plot the mean of column Y against column X of a table written by "
                    "`netsim sweep`, one line per value of HUE, with error bars. Runs with an "
                    "error are left out.",
    )
    parser.add_argument("table", metavar="TABLE", help="a CSV table from netsim sweep")
    parser.add_argument("--x", required=True, metavar="COLUMN", help="the x axis, e.g. loss")
    parser.add_argument("--y", required=True, metavar="COLUMN",
                        help="the measure, e.g. goodput_bps")
    parser.add_argument("--hue", default=None, metavar="COLUMN",
                        help="one line per value of this column, e.g. cc")
    parser.add_argument("--err", default="ci", choices=ERROR_BARS,
                        help="error bars: 95%% confidence interval of the mean (ci, default), "
                        "standard deviation (std), standard error (sem) or none")
    parser.add_argument("--logx", action="store_true", help="logarithmic x axis")
    parser.add_argument("--logy", action="store_true", help="logarithmic y axis")
    parser.add_argument("--out", default=None, metavar="FIG",
                        help="the figure file, .png/.pdf/.svg... (default: TABLE's name "
                        "with .png)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out is not None else Path(args.table).with_suffix(".png")
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    if out.suffix.lower().lstrip(".") not in kinds:
        raise UsageError(f"--out: {str(out)!r} needs a figure extension: "
                         f"{', '.join(sorted(kinds))}")
    if not out.parent.is_dir():
        raise UsageError(f"--out: cannot write {str(out)!r}: no folder {str(out.parent)!r}")
    rows = read_table(args.table)
    fig = plot_sweep(rows, args.x, args.y, hue=args.hue, err=args.err, logx=args.logx,
                     logy=args.logy)
    try:
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {str(out)!r}: {exc.strerror or exc}") from None
    left_out = sum(1 for r in rows if r.get("error"))
    note = f" ({left_out} runs with errors left out)" if left_out else ""
    print(f"netsim plot-sweep: wrote {str(out)!r}{note}", file=sys.stderr)
    return 0
