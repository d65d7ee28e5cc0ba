"""netsim's two builds, installed the way users install them, are the same netsim.

Installing netsim compiles its hot path with mypyc when it can (setup.py; NETSIM_BUILD
chooses). The compiled build compared here is the README's own install when the checkout holds
it (./scripts/bootstrap.sh: editable, compiled by default, in place; .ci/run has just made it,
and the rest of the suite runs in it), otherwise a wheel of a copy of the checkout installed
into a fresh virtualenv with NETSIM_BUILD=compiled (`pip install .`). The interpreted build is
a copy installed editable with NETSIM_BUILD=interpreted. The same seeded commands run in both
builds must give the same bytes: pcaps, JSON summaries and printed output. A student's
replacement parts (docs/architecture.md §4) must still plug into the compiled stack: the
reference solutions of the assignments score full marks through it. scripts/compile.py
rebuilds a stale build once. Installing and compiling take minutes: these tests are slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from model_grades import SharedGrades

from netsim._build import (
    COMPILED_MODULES,
    ENV_VAR,
    compiled_files,
    describe,
    extensions_of,
    module_path,
    mypyc_sources,
    stale_modules,
    why_not_compilable,
)
from netsim.grading.report import text_report

ROOT = Path(__file__).resolve().parent.parent

# The seams students re-implement (docs/architecture.md §4) and the grader: never compiled, so
# a student's subclass or replacement behaves as in pure Python, and the grader's trusted side
# and sandbox run only code anyone can read.
INTERPRETED = ("netsim.stack.tcp.rto", "netsim.stack.tcp.reassembly",
               "netsim.stack.tcp.tcp_receiver", "netsim.stack.tcp.tcp_sender",
               "netsim.stack.tcp.lab_sender", "netsim.stack.tcp.lab_peer",
               "netsim.stack.tcp.peer_adapter", "netsim.stack.tcp.peer_checks",
               "netsim.sim.peer_transfer", "netsim.live.peer_echo",
               "netsim.stack.tcp.congestion",
               "netsim.stack.arp", "netsim.grading", "netsim.link.qdisc",
               "netsim.stack.seams", "netsim.stack.learning", "netsim.stack.dv",
               "netsim.stack.dv_watch")

_WHY_NOT = why_not_compilable()
needs_compiler = pytest.mark.skipif(_WHY_NOT is not None,
                                    reason=f"cannot compile here: {_WHY_NOT}")


def test_the_module_list_names_existing_modules_and_no_seam() -> None:
    assert len(mypyc_sources(ROOT)) == len(COMPILED_MODULES)  # raises on a missing module
    assert len(set(COMPILED_MODULES)) == len(COMPILED_MODULES)
    seams = [m for m in COMPILED_MODULES
             if any(m == s or m.startswith(f"{s}.") for s in INTERPRETED)]
    assert not seams, f"{seams} must stay interpreted"


def test_a_missing_listed_module_stops_the_build_naming_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "netsim", tmp_path / "netsim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    module_path(tmp_path, "netsim.stack.tcp.sack").unlink()
    with pytest.raises(FileNotFoundError, match=r"lists netsim\.stack\.tcp\.sack, but it"):
        mypyc_sources(tmp_path)


@pytest.mark.parametrize(("env", "message"), [
    ({ENV_VAR: "fast"}, f"netsim: {ENV_VAR}='fast': expected one of auto, compiled, interpreted"),
    ({ENV_VAR: "compiled", "CC": "no-such-cc"},
     f"netsim: {ENV_VAR}=compiled, but this machine cannot compile netsim: no C compiler"),
])
def test_the_build_hook_refuses_a_bad_or_impossible_choice_in_one_line(
        env: dict[str, str], message: str, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "setup.py"), "--name"], capture_output=True,
                         text=True, timeout=60, check=False, env=_env(**env), cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith(message) and out.stderr.count("\n") == 1, out.stderr


def _copy_checkout(dest: Path) -> Path:
    """What building netsim needs: the package, setup.py, pyproject.toml and README.md."""
    shutil.copytree(ROOT / "netsim", dest / "netsim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", ENV_VAR)}
    return {**env, **extra}


def _venv(where: Path) -> Path:
    """A new virtualenv that also sees this environment's packages (simpy, matplotlib, pip),
    after its own: installing netsim into it then downloads only its build requirements."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True,
                   timeout=120)
    python = where / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site.stdout.strip(), "_netsim_test_parent.pth").write_text("\n".join(sorted(ours)))
    return python


def _install(python: Path, build: str, *target: str, **env: str) -> str:
    """pip install (with build isolation, as a user's pip does) of netsim into `python`'s
    virtualenv with NETSIM_BUILD=`build`; returns pip's output and prints how long it took."""
    start = time.perf_counter()
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
         *target], capture_output=True, text=True, timeout=900, check=False,
        env=_env(**{ENV_VAR: build}, **env), cwd=python.parent)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"pip install {' '.join(target)} with {ENV_VAR}={build!r}: "
          f"{time.perf_counter() - start:.0f} s")
    return result.stdout + result.stderr


@dataclass(frozen=True)
class Build:
    """An install of netsim: the interpreter that runs it and, for a checkout's in-place
    build, the checkout (put on PYTHONPATH, where it wins over any install)."""

    python: Path
    checkout: Path | None = None

    def env(self, **extra: str) -> dict[str, str]:
        return _env(**({"PYTHONPATH": str(self.checkout)} if self.checkout else {}), **extra)


def _module_files(build: Build, modules: list[str]) -> dict[str, str]:
    code = ("import importlib, json, sys; print(json.dumps({m: importlib.import_module(m)."
            "__file__ for m in sys.argv[1:]}))")
    out = subprocess.run([str(build.python), "-W", "error::RuntimeWarning", "-c", code,
                          *modules], capture_output=True, text=True, timeout=120, check=False,
                         env=build.env(), cwd=build.python.parent)
    assert out.returncode == 0, out.stderr
    files: dict[str, str] = json.loads(out.stdout)
    return files


def _why_not_the_checkouts_build() -> str | None:
    """None if this checkout holds a complete compiled build that is not older than its
    sources (what ./scripts/bootstrap.sh leaves, and .ci/run has just run it), else why not."""
    if _WHY_NOT is not None:
        return _WHY_NOT
    missing = [m for m in COMPILED_MODULES if not extensions_of(module_path(ROOT, m))]
    if missing:
        return f"not compiled in the checkout: {', '.join(missing[:3])}"
    stale = stale_modules(ROOT)
    return f"out of date in the checkout: {', '.join(stale)}" if stale else None


# The fixture may build a virtualenv and compile the stack with mypyc: minutes on a loaded
# machine, longer than the default 300 s per test
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Build]:
    """Each build: "compiled" (the checkout's own compiled build, see the module docstring,
    or else a wheel built with NETSIM_BUILD=compiled) and "pure" (editable,
    NETSIM_BUILD=interpreted, over a checkout that an earlier compiled build left a compiled
    module in)."""
    if _why_not_the_checkouts_build() is None:
        compiled = Build(Path(sys.executable), ROOT)
    else:
        compiled = Build(_venv(tmp_path_factory.mktemp("compiled-venv")))
        _install(compiled.python, "compiled", str(_copy_checkout(tmp_path_factory.mktemp("c"))))
    pure = _venv(tmp_path_factory.mktemp("pure-venv"))
    checkout = _copy_checkout(tmp_path_factory.mktemp("p"))
    leftover = Path(_module_files(compiled, ["netsim.stack.tcp.sack"])["netsim.stack.tcp.sack"])
    shutil.copy2(leftover, module_path(checkout, "netsim.stack.tcp.sack").with_name(
        leftover.name))
    _install(pure, "interpreted", "-e", str(checkout))
    assert compiled_files(checkout) == [], "the editable install left a compiled module"
    return {"pure": Build(pure), "compiled": compiled}


def run(build: Build, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = build.env(PYTHONWARNINGS="error::RuntimeWarning")
    return subprocess.run([str(build.python), "-m", "netsim", *args], capture_output=True,
                          text=True, timeout=300, check=False, env=env,
                          cwd=cwd or build.python.parent)


@pytest.mark.slow
@needs_compiler
def test_each_install_runs_the_build_it_was_asked_for_and_says_so(
        builds: dict[str, Build], tmp_path: Path) -> None:
    n = len(COMPILED_MODULES)
    out = run(builds["compiled"], "--version")
    assert out.returncode == 0, out.stderr
    assert f"(compiled with mypyc: {n} of {n} hot modules)" in out.stdout
    assert "(pure Python)" in run(builds["pure"], "--version").stdout
    seams = ["netsim.stack.tcp.rto", "netsim.stack.tcp.reassembly",
             "netsim.stack.tcp.congestion.reno", "netsim.stack.arp", "netsim.grading.sandbox",
             "netsim.stack.seams"]
    files = _module_files(builds["compiled"], [*COMPILED_MODULES, *seams])
    suffixes = tuple(s for s in (sysconfig.get_config_var("EXT_SUFFIX"), ".so") if s)
    not_compiled = [m for m in COMPILED_MODULES if not files[m].endswith(suffixes)]
    assert not not_compiled, f"installed as source: {not_compiled}"
    assert all(files[m].endswith(".py") for m in seams), files
    files = _module_files(builds["pure"], list(COMPILED_MODULES))
    assert all(f.endswith(".py") for f in files.values()), files

    # auto (NETSIM_BUILD unset) where nothing can compile: interpreted, and the build says so
    # once (pip shows a build's messages with -v)
    python = _venv(tmp_path / "venv")
    checkout = _copy_checkout(tmp_path / "checkout")
    out = _install(python, "", "-v", str(checkout), CC="no-such-cc")
    assert out.count("netsim: installing the interpreted build") == 1, out[-3000:]
    assert "no C compiler (no-such-cc is not on PATH)" in out
    assert "(pure Python)" in run(Build(python), "--version").stdout


@pytest.mark.slow
@needs_compiler
def test_compiled_and_pure_give_the_same_capture_summary_and_trace(
        builds: dict[str, Build], tmp_path: Path) -> None:
    # every impairment, SACK recovery and timeouts: most of the per-packet code runs
    args = ["sim", "--bytes", "3MB", "--loss", "0.03", "--reorder", "0.02", "--duplicate",
            "0.01", "--corrupt", "0.01", "--jitter", "1ms", "--seed", "11", "--json"]
    results = {}
    for name, root in builds.items():
        pcap, trace = tmp_path / f"{name}.pcap", tmp_path / f"{name}.jsonl"
        out = run(root, *args, "--pcap", str(pcap), "--trace", str(trace))
        assert out.returncode == 0, out.stderr
        summary = json.loads(out.stdout)
        summary.pop("wall_seconds", None)
        results[name] = (pcap.read_bytes(), summary, trace.read_bytes())
    assert results["compiled"][1]["retransmissions"] > 0
    assert results["compiled"][1] == results["pure"][1]
    assert results["compiled"][0] == results["pure"][0]
    # the trace too, byte for byte (the pure build once wrote "time":0 where it is 0.0)
    assert results["compiled"][2] == results["pure"][2]


@pytest.mark.slow
@needs_compiler
def test_compiled_ping_and_traceroute_print_the_same_lines(builds: dict[str, Build]) -> None:
    for args in (["ping", "-c", "20", "-i", "20ms", "--hops", "2", "--loss", "0.2", "--seed",
                  "3"],
                 ["traceroute", "--hops", "3", "--seed", "3"]):
        outputs = {name: run(root, *args) for name, root in builds.items()}
        assert outputs["compiled"].stdout == outputs["pure"].stdout, args
        assert outputs["compiled"].returncode == outputs["pure"].returncode


@pytest.mark.slow
@needs_compiler
def test_a_stale_compiled_module_warns_until_compile_py_rebuilds_or_removes_it(
        builds: dict[str, Build], tmp_path: Path) -> None:
    # A checkout (sources next to a pyproject.toml) holding the compiled build, as an
    # editable install leaves it: the compiled modules are newer than the sources.
    installed = Path(_module_files(builds["compiled"], ["netsim"])["netsim"]).parent
    checkout = tmp_path / "checkout"
    shutil.copytree(installed, checkout / "netsim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    now = time.time()
    for py in (checkout / "netsim").rglob("*.py"):
        os.utime(py, (now - 200, now - 200))
    for ext in compiled_files(checkout):
        os.utime(ext, (now - 100, now - 100))

    def netsim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(builds["compiled"].python), "-m", "netsim", *args],
                              capture_output=True, text=True, timeout=120, check=False,
                              env=_env(PYTHONPATH=str(checkout)), cwd=tmp_path)

    n = len(COMPILED_MODULES)
    out = netsim("--version")
    assert (out.stderr, out.stdout.strip()) == ("", f"netsim {_version()} (compiled with mypyc: "
                                                    f"{n} of {n} hot modules)")
    edited = module_path(checkout, "netsim.stack.tcp.seq")
    os.utime(edited, (now - 50, now - 50))
    sack = next(iter(module_path(checkout, "netsim.stack.tcp.sack").parent.glob("sack.*.so")))
    shutil.copy2(sack, sack.with_name(sack.name.replace("sack", "old_name", 1)))
    warning = netsim("--version").stderr
    assert "RuntimeWarning" in warning
    assert "netsim.stack.tcp.seq (edited after it was compiled)" in warning
    assert "netsim.stack.tcp.old_name (no longer in COMPILED_MODULES)" in warning

    script = str(ROOT / "scripts" / "compile.py")
    rebuilt = subprocess.run([sys.executable, script, "--root", str(checkout)],
                             capture_output=True, text=True, timeout=900, check=False)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert f"compile: {n + 1} extension modules" in rebuilt.stdout  # one per module + shared
    out = netsim("--version")
    assert out.stderr == "" and f"{n} of {n} hot modules" in out.stdout
    listing = subprocess.run([sys.executable, script, "--root", str(checkout), "--list"],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    assert listing.count(" compiled\n") == n

    subprocess.run([sys.executable, script, "--root", str(checkout), "--clean"], timeout=120,
                   check=True, capture_output=True)
    assert compiled_files(checkout) == []
    out = netsim("--version")
    assert out.stderr == "" and "(pure Python)" in out.stdout


def _version() -> str:
    import netsim

    return netsim.__version__


# A student's file that reuses netsim's reference: the grader runs it against the compiled
# stack (the assignment's own checks, full simulations included).
REFERENCES = {
    "02-rto-estimator": "from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n",
    "03-reassembler": "from netsim.stack.tcp.reassembly import SegmentReassembler as "
                      "Reassembler\n",
    "04-reno": "from netsim.stack.tcp.congestion.reno import Reno as MyReno\n",
    "05-arp-cache": "from netsim.stack.arp import ArpTable as ArpCache\n",
    "06-tcp-receiver": "from netsim.stack.tcp.tcp_receiver import StreamReceiver as TcpReceiver"
                       ", unwrap, wrap\n",
    "07-tcp-sender": "from netsim.stack.tcp.tcp_sender import StreamSender as TcpSender\n",
    "07b-sender-timer": "from netsim.stack.tcp.lab_sender import LabSender as Sender\n",
    "08-network-interface": "from netsim.stack.netif import EthernetArp as NetworkInterface\n",
    "09-router": "from netsim.stack.forwarding import Router\n",
    "10-tcp-peer": "from netsim.stack.tcp.lab_peer import LabPeer as TcpPeer\n",
    "11-learning-switch": "from netsim.stack.learning import LearningTable as LearningSwitch\n",
    "12-dv-router": "from netsim.stack.dv import DvTable as DvRouter\n",
}


def _this_session_runs(build: Build) -> bool:
    """Whether `build` is the netsim this test session runs: the checkout's own compiled
    build, imported from it."""
    import netsim

    return (build.checkout == ROOT and Path(netsim.__file__).resolve().parent == ROOT / "netsim"
            and "compiled with mypyc" in describe())


@pytest.fixture(scope="module")
def references_graded(builds: dict[str, Build], tmp_path_factory: pytest.TempPathFactory,
                      request: pytest.FixtureRequest, shared_grades: SharedGrades
                      ) -> dict[str, tuple[bool, str]]:
    """For each selected assignment: whether its reference file scored full marks in the
    compiled build, and the report. When that build is the one this session runs, the
    session's own grading of the same files (shared with tests/test_grading.py, in one
    parallel batch) is the check; otherwise `netsim grade` in that build's environment, one
    process per core at a time."""
    chosen = sorted({item.callspec.params["assignment"] for item in request.session.items
                     if getattr(item, "originalname", "") == _PLUG_TEST
                     and item.module is request.module})
    if _this_session_runs(builds["compiled"]):
        reports, _ = shared_grades.references({a: REFERENCES[a] for a in chosen}, [])
        return {a: (rep.full_marks, text_report(rep)) for a, rep in reports.items()}

    def grade(assignment: str) -> tuple[bool, str]:
        folder = tmp_path_factory.mktemp(assignment)
        student = folder / "student.py"
        student.write_text(REFERENCES[assignment])
        try:
            out = run(builds["compiled"], "grade", assignment, str(student), cwd=folder)
        except subprocess.TimeoutExpired as exc:
            return False, f"timed out: {exc}"
        return out.returncode == 0 and "100%" in out.stdout, out.stdout + out.stderr

    with ThreadPoolExecutor(max_workers=max(1, min(len(chosen), os.cpu_count() or 1))) as pool:
        return dict(zip(chosen, pool.map(grade, chosen), strict=True))


_PLUG_TEST = "test_student_parts_plug_into_the_compiled_stack"


@pytest.mark.slow
@needs_compiler
@pytest.mark.parametrize("assignment", sorted(REFERENCES))
def test_student_parts_plug_into_the_compiled_stack(
        references_graded: dict[str, tuple[bool, str]], assignment: str) -> None:
    full_marks, report = references_graded[assignment]
    assert full_marks, report
