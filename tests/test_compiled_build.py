"""The optional compiled build (scripts/compile.py) is the same netsim, only faster.

Two copies of the package are made: one compiled with mypyc, one left pure Python. The same
seeded commands run in both must give the same bytes: pcaps, JSON summaries and printed
output. A student's replacement parts (DESIGN.md §6) must still plug into the compiled stack:
the reference solutions of the assignments score full marks through it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _why_not_buildable() -> str | None:
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc (from mypy, in the dev extra) is not installed"
    if shutil.which(sysconfig.get_config_var("CC").split()[0] if sysconfig.get_config_var("CC")
                    else "cc") is None:
        return "no C compiler"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").exists():
        return "no Python headers (Python.h)"
    return None


_WHY_NOT = _why_not_buildable()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=f"cannot compile here: {_WHY_NOT}")


def _copy(dest: Path) -> Path:
    shutil.copytree(ROOT / "netsim", dest / "netsim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    return dest


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pure = _copy(tmp_path_factory.mktemp("pure"))
    compiled = _copy(tmp_path_factory.mktemp("compiled"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "compile.py"), "--root", str(compiled)],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "extension modules" in result.stdout
    return {"pure": pure, "compiled": compiled}


def run(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONWARNINGS="error::RuntimeWarning")
    return subprocess.run([sys.executable, "-m", "netsim", *args], capture_output=True,
                          text=True, timeout=300, check=False, env=env, cwd=cwd or root)


def test_the_compiled_copy_runs_compiled_code_and_says_so(builds: dict[str, Path]) -> None:
    from netsim._build import COMPILED_MODULES

    out = run(builds["compiled"], "--version")
    assert out.returncode == 0, out.stderr
    n = len(COMPILED_MODULES)
    assert f"compiled with mypyc: {n} of {n} hot modules" in out.stdout
    assert "pure Python" in run(builds["pure"], "--version").stdout


def test_compiled_and_pure_give_the_same_capture_and_summary(
        builds: dict[str, Path], tmp_path: Path) -> None:
    # every impairment, SACK recovery and timeouts: most of the per-packet code runs
    args = ["sim", "--bytes", "3MB", "--loss", "0.03", "--reorder", "0.02", "--duplicate",
            "0.01", "--corrupt", "0.01", "--jitter", "1ms", "--seed", "11", "--json"]
    results = {}
    for name, root in builds.items():
        pcap = tmp_path / f"{name}.pcap"
        out = run(root, *args, "--pcap", str(pcap))
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        summary.pop("wall_seconds", None)
        results[name] = (pcap.read_bytes(), summary)
    assert results["compiled"][1]["retransmissions"] > 0
    assert results["compiled"][1] == results["pure"][1]
    assert results["compiled"][0] == results["pure"][0]


def test_compiled_ping_and_traceroute_print_the_same_lines(builds: dict[str, Path]) -> None:
    for args in (["ping", "-c", "20", "-i", "20ms", "--hops", "2", "--loss", "0.2", "--seed",
                  "3"],
                 ["traceroute", "--hops", "3", "--seed", "3"]):
        outputs = {name: run(root, *args) for name, root in builds.items()}
        assert outputs["compiled"].stdout == outputs["pure"].stdout, args
        assert outputs["compiled"].returncode == outputs["pure"].returncode


# A student's file that reuses netsim's reference: the grader runs it against the compiled
# stack (the assignment's own checks, full simulations included).
REFERENCES = {
    "02-rto-estimator": "from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n",
    "03-reassembler": "from netsim.stack.tcp.reassembly import SegmentReassembler as "
                      "Reassembler\n",
    "04-reno": "from netsim.stack.tcp.congestion.reno import Reno as MyReno\n",
    "05-arp-cache": "from netsim.stack.arp import ArpTable as ArpCache\n",
}


@pytest.mark.parametrize("assignment", sorted(REFERENCES))
def test_student_parts_plug_into_the_compiled_stack(builds: dict[str, Path], tmp_path: Path,
                                                     assignment: str) -> None:
    student = tmp_path / "student.py"
    student.write_text(REFERENCES[assignment])
    out = run(builds["compiled"], "grade", assignment, str(student), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "100%" in out.stdout
