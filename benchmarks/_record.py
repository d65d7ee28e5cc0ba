"""``--record FILE``: a benchmark's results as JSON, with where, when and how they were measured.

README's Speed numbers are read from these files (benchmarks/results/*.json) by
tests/test_docs_outputs.py, so the README says only what a benchmark run wrote. Speed depends on
the machine and its load: the file records both, next to the exact command.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """The machine a run measured: CPU, cores, OS, Python, load when the run started."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "os": platform.platform(),
            "python": platform.python_version(), "load_average_1min": round(load[0], 2)}


def write(path: str, results: dict[str, Any], started: dict[str, Any]) -> None:
    """Write `results` with the machine (as it was at the start: `started`), the date and the
    command line to `path`."""
    from netsim._build import describe

    record = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "command": " ".join(["python", *[a for a in sys.argv if a != "--record" and
                                               a != path]]).replace(
                  str(Path(__file__).resolve().parent.parent) + "/", ""),
              "machine": started, "netsim_build": describe(), **results}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=1) + "\n")
