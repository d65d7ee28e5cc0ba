"""The failure a differential check reports (message, both answers, the script) depends on the
candidate's answers and the seed alone: not on the machine's speed or load, not on what the
process ran before. Shrinking was bounded by a time limit, so a student grading the same file
twice, or a class graded on two machines, could be shown two different scripts (measured:
one 05 submission graded by four graders at once on a 2-core machine got three different
scripts). Shrinking is now bounded by counts; the time limit is a safety net, and a report
cut short by it says so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from netsim.grading import differential
from netsim.grading.differential.render import CUT_SHORT
from netsim.grading.differential.spec import DiffOutcome
from netsim.grading.framework import CheckFailed

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "wrong_impls"
WRONG = CORPUS / "03-reassembler" / "touching_chunks_not_merged.py"
# a time limit below what shrinking this candidate takes (about 270 sequences, half a second
# here), as a busy grader would leave it; the search's own limit is ample. (Shrinking stopped
# after 10 to 70 sequences gave another script.)
TIGHT: dict[str, Any] = {"budget": 120.0, "shrink_budget": 0.2}

# A fresh interpreter grading WRONG in-process and printing its report; with "busy", three
# threads spin the whole time, so the check runs at about a quarter of its speed (a loaded
# machine).
CHILD = """
import importlib.util, json, sys, threading
from netsim.grading import differential
def spin():
    while True:
        pass
for _ in range(3 if sys.argv[2] == "busy" else 0):
    threading.Thread(target=spin, daemon=True).start()
spec = importlib.util.spec_from_file_location("wrong", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
o = differential.check("03-reassembler", module.Reassembler, **json.loads(sys.argv[3]))
print(json.dumps([o.message, o.expected, o.got, o.script, o.cut]))
"""


def _load(path: Path, name: str) -> type:
    spec = importlib.util.spec_from_file_location(f"wrong_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls: type = getattr(module, name)
    return cls


def _wrong() -> type:
    return _load(WRONG, "Reassembler")


def _report(o: DiffOutcome) -> list[Any]:
    return [o.message, o.expected, o.got, o.script, o.cut]


def _slowed(cls: type, seconds: float) -> type:
    """The same answers, each sequence `seconds` slower to start (a slow machine, or a
    sandbox's pipe)."""
    class Slowed(cls):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kw: Any) -> None:
            time.sleep(seconds)
            super().__init__(*args, **kw)

    return Slowed


def test_same_report_in_fresh_processes_and_after_another_check() -> None:
    """Two fresh interpreters, one of them busy, and this one after another assignment's check
    ran first: the same report, word for word."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    children = [json.loads(subprocess.run(
        [sys.executable, "-c", CHILD, str(WRONG), mode, json.dumps(TIGHT)], env=env,
        capture_output=True, text=True, check=True, timeout=120).stdout)
        for mode in ("idle", "busy")]
    other = _load(CORPUS / "02-rto-estimator" / "syn_rule_keeps_backoff.py", "RtoEstimator")
    assert not differential.check("02-rto-estimator", other, budget=120.0).passed
    here = _report(differential.check("03-reassembler", _wrong(), **TIGHT))
    assert not here[4] and "blocks()" in here[0], here
    assert children == [here, here]


def test_a_slow_candidate_gets_the_same_report() -> None:
    """Shrinking that takes longer than the time limit used to stop part way: the slowed
    candidate was shown a longer or different script than the fast one."""
    cls = _wrong()
    fast = differential.check("03-reassembler", cls, **TIGHT)
    slow = differential.check("03-reassembler", _slowed(cls, 0.004), **TIGHT)
    assert not fast.passed and not fast.cut
    assert _report(slow) == _report(fast)
    assert slow.seconds > 4 * TIGHT["shrink_budget"]  # shrinking did take longer
    # bounded by a count, a shorter shrinking is the same on both too
    few = {**TIGHT, "shrink_examples": 30}
    assert _report(differential.check("03-reassembler", _slowed(cls, 0.004), **few)) == \
        _report(differential.check("03-reassembler", cls, **few))


def test_a_report_cut_short_by_the_safety_limit_says_so() -> None:
    """When even the safety net is reached (the whole check's time), the failure found so far
    is reported, still a failure, and the script says it may not be the shortest."""
    cls = _wrong()
    fast = differential.check("03-reassembler", cls, **TIGHT)
    # ~300 sequences of 10 ms to shrink in full: 3 s; the failure is found within 0.1 s
    slow = differential.check("03-reassembler", _slowed(cls, 0.01), budget=1.0,
                              shrink_budget=0.2)
    assert not slow.passed and slow.cut
    assert slow.seconds < 2.0  # the limit held
    assert slow.script.startswith(CUT_SHORT) and not fast.script.startswith(CUT_SHORT)
    assert "blocks()" in slow.message
    with pytest.raises(CheckFailed) as info:
        slow.raise_if_failed()
    assert "a shorter one may exist" in info.value.render([])
