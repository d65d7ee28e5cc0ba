"""The grader under attack: every file in tests/grading_attacks/ is a hostile submission.

They are graded in one batch together with an honest reference (full marks) and the starter
(zero). Each attack must score 0 (none implements anything), leave no process running and no
file changed outside its sandbox, and the batch must end within its limits with a CSV, a
Gradescope JSON and a JUnit XML report that parse.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from netsim.grading import get_assignment
from netsim.grading.framework import GradeReport
from netsim.grading.report import batch_csv, gradescope_json, junit_xml, text_report
from netsim.grading.sandbox import Limits, features
from netsim.grading.supervisor import IMPORT_TIMEOUT, grade_batch, grade_submission

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = Path(__file__).resolve().parent / "grading_attacks"
STARTER = ROOT / "lessons" / "assignments" / "02-rto-estimator" / "rto_estimator.py"
REFERENCE = "from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n"
FORMULA_NAME = '=HYPERLINK("http:,,example.invalid","x").py'
LIMITS = Limits(memory=192 << 20, address_space=1 << 30, processes=48, cpu_seconds=20,
                file_size=1 << 20, output=20_000)
TIMEOUT = 10.0  # per check; the reference must still run all its random sequences on a busy box
ATTACK_NAMES = sorted(p.stem for p in ATTACKS.glob("*.py") if not p.name.startswith("_"))


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(marker: str, work_root: Path) -> list[str]:
    """Processes that carry the marker or run in a sandbox folder of this test."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{entry}/cwd")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (marker.encode() in cmdline or cwd.startswith(str(work_root))):
            found.append(f"{entry}: {cmdline[:100]!r} in {cwd}")
    return found


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("attacks")
    folder = tmp / "submissions"
    folder.mkdir()
    table = tmp / "grades.csv"
    victim = tmp / "teacher_notes.txt"
    victim.write_text("the teacher's own file\n")
    work_root = tmp / "sandboxes"
    work_root.mkdir()
    marker = f"netsim-attack-{os.getpid()}-{time.monotonic_ns()}"
    stub = (ATTACKS / "_stub.py").read_text()
    for name in ATTACK_NAMES:
        src = (ATTACKS / f"{name}.py").read_text()
        if "class RtoEstimator" not in src:
            src += "\n\n" + stub
        for key, value in (("BATCH", folder), ("CSV", table), ("VICTIM", victim),
                           ("MARK", marker)):
            src = src.replace(f"@@{key}@@", str(value))
        target = FORMULA_NAME if name == "formula_cells" else f"{name}.py"
        (folder / target).write_text(src)
    (folder / "alice.py").write_text(REFERENCE)
    (folder / "bob").mkdir()
    (folder / "bob" / "rto_estimator.py").write_text(STARTER.read_text())
    before = _digest(tmp)
    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(work_root)  # the sandboxes' folders, to find leftovers by cwd
    t0 = time.monotonic()
    try:
        rows = grade_batch("02", folder, timeout=TIMEOUT, jobs=2, limits=LIMITS)
    finally:
        tempfile.tempdir = old_tempdir
    seconds = time.monotonic() - t0
    names = [c.name for c in get_assignment("02").checks]
    table.write_text(batch_csv(rows, names))
    csv_written = table.read_text()
    time.sleep(2.0)  # the CSV tamperer's child would strike after 1.5 s
    return {"rows": rows, "seconds": seconds, "tmp": tmp, "before": before, "table": table,
            "csv": csv_written, "marker": marker, "work_root": work_root,
            "victim": victim, "folder": folder}


def _reports(batch: dict[str, object]) -> dict[str, GradeReport]:
    rows = batch["rows"]
    assert isinstance(rows, list)
    return {name: rep for name, rep in rows if rep is not None}


def test_references_full_marks_starter_zero(batch: dict[str, object]) -> None:
    reps = _reports(batch)
    assert reps["alice.py"].full_marks, text_report(reps["alice.py"])
    assert reps["bob"].score == 0


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_attack_gets_no_points(batch: dict[str, object], name: str) -> None:
    reps = _reports(batch)
    rep = reps[FORMULA_NAME if name == "formula_cells" else f"{name}.py"]
    assert rep.score == 0, text_report(rep)
    assert all(r.points == 0 and r.max_points == c.points for r, c in
               zip(rep.results, get_assignment("02").checks, strict=True))
    assert len(rep.results) == len(get_assignment("02").checks)
    for r in rep.results:  # capped, no control characters, whatever the code sent
        assert len(r.output) <= 4200
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", r.output), repr(r.output[:300])


def test_batch_finishes_within_its_limits(batch: dict[str, object]) -> None:
    n = len(ATTACK_NAMES) + 2
    checks = len(get_assignment("02").checks)
    # at worst every submission spends its import time and one timeout, two at a time
    bound = n / 2 * (IMPORT_TIMEOUT + 3 * TIMEOUT) + checks
    assert float(batch["seconds"]) < bound  # type: ignore[arg-type]


def test_nothing_left_running(batch: dict[str, object]) -> None:
    left = _leftovers(str(batch["marker"]), Path(str(batch["work_root"])))
    feats = features()
    if left and not (feats.namespaces or feats.cgroup):
        for line in left:  # a process that called setsid() escapes a process group
            with contextlib.suppress(OSError):
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        pytest.skip("without a PID namespace or cgroup (needs root) setsid() escapes: "
                    + "; ".join(feats.missing()))
    assert left == []


def test_no_file_changed_outside_the_sandbox(batch: dict[str, object]) -> None:
    tmp = Path(str(batch["tmp"]))
    before = batch["before"]
    assert isinstance(before, dict)
    after = _digest(tmp)
    table = Path(str(batch["table"]))
    assert table.read_text() == batch["csv"]  # not rewritten after grading
    changed = {k for k in before if before[k] != after.get(k)}
    if features().root:  # as root the student runs as nobody: nothing of ours is writable
        assert changed == set()
        assert Path(str(batch["victim"])).read_text() == "the teacher's own file\n"


def test_reports_are_valid(batch: dict[str, object]) -> None:
    rows = list(csv.DictReader(io.StringIO(str(batch["csv"]))))
    assert len(rows) == len(ATTACK_NAMES) + 2  # one row per submission
    for row in rows:
        for cell in row.values():
            assert not (cell or "").startswith(("=", "+", "-", "@", "\t", "\r")), row
    formula = next(r for r in rows if "HYPERLINK" in r["submission"])
    assert formula["submission"].startswith("'=")
    for rep in _reports(batch).values():
        doc = json.loads(gradescope_json(rep))
        assert doc["score"] == rep.score
        root = ET.fromstring(junit_xml(rep))
        assert len(root.findall("./testsuite/testcase")) == len(rep.results)
        assert len(text_report(rep)) < 80_000
        assert "\x1b" not in text_report(rep)


def test_forged_and_huge_messages_are_reported(batch: dict[str, object]) -> None:
    reps = _reports(batch)
    huge = reps["huge_output.py"]
    assert "ValueError" in huge.results[0].output and "cut" in huge.results[0].output
    bad = reps["bad_values.py"]
    text = text_report(bad)
    assert "NaN" in text or "bits" in text or "nested" in text
    hang = reps["hangs.py"]
    assert hang.results[0].status in ("error", "timeout")
    assert any(r.status == "timeout" for r in hang.results)
    bomb = reps["fork_bomb.py"]
    assert all(r.status in ("timeout", "error") for r in bomb.results)


_ISOLATED = pytest.mark.skipif(not (features().root and features().namespaces),
                               reason="needs root and namespaces: " + "; ".join(
                                   features().missing()))


@_ISOLATED
def test_a_submission_cannot_hand_in_the_teachers_solution(tmp_path: Path) -> None:
    """The teachers' folder of the checkout is covered in the sandbox's mount namespace: a
    submission that reads the model solution and runs it finds nothing there."""
    sub = tmp_path / "rto_estimator.py"
    sub.write_text("import netsim\nfrom pathlib import Path\n"
                   "p = Path(netsim.__file__).resolve().parents[1] / 'lessons' / 'teachers'"
                   " / 'solutions' / 'rto_estimator.py'\n"
                   "exec(compile(p.read_text(), 'x', 'exec'))\n")
    assert (ROOT / "lessons" / "teachers" / "solutions" / "rto_estimator.py").is_file()
    rep = grade_batch("02", tmp_path, timeout=TIMEOUT, limits=LIMITS)[0][1]
    assert rep is not None
    assert rep.score == 0, text_report(rep)
    assert "No such file" in text_report(rep) or "FileNotFoundError" in text_report(rep)


@_ISOLATED
def test_a_submission_cannot_hand_in_another_submission() -> None:
    """A batch folder the teacher keeps readable for all (mode 755, as a home folder often is):
    the submission's folder and the batch folder around it are covered in the sandbox's mount
    namespace, so a submission that reads a classmate's file and runs it finds nothing."""
    base = Path(tempfile.mkdtemp(prefix="netsim-batch-"))
    try:
        base.chmod(0o755)
        for name, source in (("bob", REFERENCE), ("alice", (
                "from pathlib import Path\n"
                f"p = Path({str(base)!r}) / 'bob' / 'rto_estimator.py'\n"
                "exec(compile(p.read_text(), 'x', 'exec'))\n"))):
            (base / name).mkdir(mode=0o755)
            (base / name / "rto_estimator.py").write_text(source)
            (base / name / "rto_estimator.py").chmod(0o644)
        first = get_assignment("02").checks[0].name
        rep = grade_submission("02", base / "alice" / "rto_estimator.py", timeout=TIMEOUT,
                               limits=LIMITS, only=[first], compare_copies=False)
        assert rep.score == 0, text_report(rep)
        assert "No such file" in text_report(rep) or "FileNotFoundError" in text_report(rep)
        # what the sandbox covers, it covers for the sandbox only: bob's file is there
        assert (base / "bob" / "rto_estimator.py").read_text() == REFERENCE
    finally:
        shutil.rmtree(base, ignore_errors=True)


@_ISOLATED
def test_each_sandbox_runs_as_a_uid_of_its_own_in_a_closed_folder(tmp_path: Path) -> None:
    """Sandboxes graded side by side cannot enter each other's folders: each runs as its own
    unprivileged uid (not nobody, shared by all) in a folder only that uid can enter."""
    check = ("import os, stat\n"
             "uid = os.getuid()\n"
             "assert 0x60000000 <= uid < 0x70000000, uid\n"
             "assert stat.S_IMODE(os.stat('.').st_mode) & 0o077 == 0\n" + REFERENCE)
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(check)
    rows = grade_batch("02", tmp_path, timeout=TIMEOUT, jobs=2, limits=LIMITS)
    for _, rep in rows:
        assert rep is not None and rep.full_marks, text_report(rep) if rep else rep


def test_only_the_sandbox_host_loads_a_file_by_path_in_netsim_grading() -> None:
    """House rule: the process that decides a score never imports a submission. In
    netsim/grading only the sandbox's host (which runs inside the sandbox) loads a file by
    path; a student's own runs of a lab live elsewhere (netsim/labrun.py)."""
    loaders = re.compile(r"exec_module|spec_from_file_location|import_user_class|runpy|"
                         r"__import__\(|SourceFileLoader|\bexec\(|\beval\(")
    grading = ROOT / "netsim" / "grading"
    found = sorted(str(p.relative_to(grading)) for p in grading.rglob("*.py")
                   if loaders.search(p.read_text()))
    assert found == ["host.py"], found
