"""Every output the README, the lessons, the answers and the assignment READMEs show is what
netsim prints today: each marked block (and each run-derived number in prose) is re-run and
compared with the text (scripts/refresh_docs.py describes the markers and rewrites them)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from conftest import live_must_run

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_docs", ROOT / "scripts"
                                                  / "refresh_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["refresh_docs"] = module
    spec.loader.exec_module(module)
    return module


docs = _load()
FILES = docs.doc_files()


@pytest.fixture(scope="module")
def runner() -> Iterator[object]:
    r = docs.Runner()
    yield r
    r.close()


#: Files whose runs take tens of seconds (congestion-theory.md's benchmark tables): marked slow,
#: so `--skip-slow` leaves them out while iterating.
SLOW = {ROOT / "lessons" / "congestion-theory.md"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p in SLOW else p
                                  for p in FILES],
                         ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_shown_outputs_are_current(path: Path, runner: object) -> None:
    try:
        result = docs.regenerate(path, runner)
    except docs.MissingTool as exc:
        if os.environ.get("CI"):
            raise AssertionError(f"{path.name} needs {exc}, which CI must install") from None
        pytest.skip(f"{path.name} runs {exc}, not installed here")
    assert not result.stale(), (
        f"{path.relative_to(ROOT)} shows output that netsim no longer prints "
        f"(masked fields: {result.masks or 'none'}). If the change is intended, run\n"
        f"    python scripts/refresh_docs.py\nand review the diff:\n{result.diff()}")
    if result.live_skipped:
        # Like the live tests (tests/conftest.py): in CI on a root machine with TUN, a live
        # block that did not run is a failure; elsewhere the rest of the file was checked.
        why = "; ".join(result.live_skipped)
        if live_must_run():
            raise AssertionError(f"live blocks must run in CI on a root machine: {why}")
        pytest.skip(why)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_output_is_shown_without_a_marker(path: Path) -> None:
    assert docs.unmarked_outputs(path) == []


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_value_sits_inside_a_code_span(path: Path) -> None:
    """Markdown shows an HTML comment inside `backticks` as text: a val marker there would be
    printed, not hidden (put the backticks in the value's format instead)."""
    for para in re.split(r"\n\s*\n", path.read_text()):
        if para.lstrip().startswith(("```", "<!-- run:")):
            continue
        ticks = 0
        for part in re.split(r"(<!-- val: .*? -->)", para, flags=re.S):
            if part.startswith("<!-- val: "):
                assert ticks % 2 == 0, f"{path.name}: a val marker inside a code span: {para!r}"
            else:
                ticks += part.count("`")


def test_every_doc_has_checked_outputs() -> None:
    """The mechanism covers the texts that show runs (a marker typo would silently drop one)."""
    for name in ["README.md", "lessons/01-ethernet-arp.md", "lessons/02-ipv4-routing-icmp.md",
                 "lessons/03-tcp-handshake-states.md", "lessons/04-reliability-rto.md",
                 "lessons/05-flow-control.md", "lessons/06-congestion-control.md",
                 "lessons/07-live-mode.md", "lessons/08-wireshark.md",
                 "lessons/09-syn-flood-cookies.md", "lessons/10-rst-and-blind-attacks.md",
                 "lessons/11-fairness.md", "lessons/12-bufferbloat-aqm.md",
                 "lessons/13-switches-vlans.md",
                 "lessons/14-ipv6-neighbour-discovery.md",
                 "lessons/15-routing-protocols.md",
                 "lessons/congestion-theory.md",
                 "lessons/teachers/ANSWERS.md",
                 "lessons/assignments/README.md"]:
        text = (ROOT / name).read_text()
        assert re.search(r"<!-- (run|val): ", text), f"{name} has no checked output"


def test_a_changed_output_is_caught(tmp_path: Path, runner: object) -> None:
    """The comparison fails on a wrong number, and masks only the field it names."""
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- run: netsim sim --bytes 100kB --delay 5ms ; mask: wall time -->\n"
                   "```\n$ netsim sim --bytes 100kB --delay 5ms\n```\n<!-- end -->\n"
                   "<!-- val: netsim sim --bytes 100kB --delay 5ms --json ; "
                   "{data_segments} segments -->0 segments<!-- /val -->\n")
    first = docs.regenerate(doc, runner)
    assert first.stale() and "segments" in first.new
    doc.write_text(first.new)
    assert not docs.regenerate(doc, runner).stale()
    # a different wall time is not a difference ...
    doc.write_text(re.sub(r"[\d.]+ (ms|s) wall", "999 ms wall", first.new))
    assert not docs.regenerate(doc, runner).stale()
    # ... but a different simulated time, or a different value in prose, is
    doc.write_text(re.sub(r"time( +)[\d.]+", r"time\g<1>9.99", first.new, count=1))
    assert docs.regenerate(doc, runner).stale()
    doc.write_text(re.sub(r"-->\d+ segments", "-->7 segments", first.new))
    assert docs.regenerate(doc, runner).stale()


def test_live_blocks_run_in_namespaces_of_their_own(tmp_path: Path, runner: object,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A live block runs where live mode can (a namespace made for it, removed afterwards);
    elsewhere it is left as it is and reported, and so are the values taken from it."""
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- run: sudo scripts/netns_setup.sh up --ns lab ; live: lab ; id: up -->\n"
                   "```\nold\n```\n<!-- end -->\n"
                   "<!-- val: @up ; {count('lab')} lines ; mask: number -->9 lines<!-- /val -->\n")
    monkeypatch.setattr(docs.docs_live, "live_unavailable", lambda: "needs root")
    skipped = docs.regenerate(doc, docs.Runner())
    assert not skipped.stale() and len(skipped.live_skipped) == 2, skipped.live_skipped
    monkeypatch.undo()
    if docs.docs_live.live_unavailable():
        pytest.skip(docs.docs_live.live_unavailable())
    live_runner = docs.Runner()
    try:
        result = docs.regenerate(doc, live_runner)
        names = list(live_runner._namespaces.names(doc.as_posix()).values())
        assert names and all(n.startswith("nsdoc-") for n in names)
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert all(n in listed for n in names)
    finally:
        live_runner.close()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names), "the namespace outlived the check"
    # the output names the namespace as the text does; the masked value is left as it was
    assert "namespace lab: tap0 10.0.0.1/24" in result.new and "nsdoc-" not in result.new
    assert "-->9 lines<!-- /val -->" in result.new and not result.live_skipped


def test_live_blocks_skip_for_the_live_tests_reasons(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A live block runs exactly where the live tests run: both ask netsim.testing.live_host."""
    from netsim.testing import live_host

    monkeypatch.setattr(live_host.os, "geteuid", lambda: 1000)
    assert docs.docs_live.live_unavailable() == live_host.live_unavailable_reason()
    assert "needs root" in (docs.docs_live.live_unavailable() or "")
    monkeypatch.setattr(live_host.os, "geteuid", lambda: 0)
    monkeypatch.setattr(live_host, "TUN_DEVICE", tmp_path / "no-tun")
    assert f"{tmp_path / 'no-tun'} is missing" in (docs.docs_live.live_unavailable() or "")
    monkeypatch.setattr(live_host, "TUN_DEVICE", tmp_path)
    monkeypatch.setattr(live_host.shutil, "which", lambda name: None)
    assert "`ip` command" in (docs.docs_live.live_unavailable() or "")


def test_val_masks_and_ranges(tmp_path: Path, runner: object) -> None:
    """A masked value passes with another number but not another text; between() fails a
    value outside the range the text claims."""
    doc = tmp_path / "doc.md"
    src = "netsim sim --bytes 100kB --delay 5ms --json"
    doc.write_text(f"<!-- val: {src} ; {{between(data_segments, 1, 1000)}} segments ; "
                   "mask: number -->123 segments<!-- /val -->\n")
    assert not docs.regenerate(doc, runner).stale()
    doc.write_text(doc.read_text().replace("123 segments<", "123 frames<"))
    assert docs.regenerate(doc, runner).stale()
    doc.write_text(f"<!-- val: {src} ; {{between(data_segments, 1, 2)}} segments -->"
                   "1 segments<!-- /val -->\n")
    with pytest.raises(docs.DocError, match="outside the range"):
        docs.regenerate(doc, runner)


def test_bad_markers_are_refused(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- not run: too slow -->\n```\nx\n```\n<!-- end -->\n")
    with pytest.raises(docs.DocError, match="not one of"):
        docs.find_blocks(doc.read_text().split("\n"), doc)
    doc.write_text("<!-- run: netsim echo ; mask: everything -->\n```\n```\n<!-- end -->\n")
    with pytest.raises(docs.DocError, match="unknown mask"):
        docs.find_blocks(doc.read_text().split("\n"), doc)
    doc.write_text("```\n$ netsim echo\nframes at h1\n```\n")
    assert docs.unmarked_outputs(doc)


def test_commands_split_like_a_shell() -> None:
    """`A && B` and `A | head -N` split outside quotes only (tshark filters contain both)."""
    assert docs._split_unquoted('tshark -Y "a && b" && netsim pcap x', " && ") == [
        'tshark -Y "a && b"', "netsim pcap x"]
    assert docs._split_unquoted("python -c 'print(1 | 2)' | head -2", " | ") == [
        "python -c 'print(1 | 2)'", "head -2"]


def test_figures_in_git_are_current(runner: object) -> None:
    """docs/demo.png is the demo's figure today. Rendering differs between matplotlib versions,
    so the bytes are compared only when this matplotlib wrote the file in git."""
    import matplotlib

    result = docs.regenerate(ROOT / "README.md", runner)
    assert result.figures, "README's demo block names no figure"
    for made, kept in result.figures:
        stamp = f"Matplotlib version{matplotlib.__version__},".encode()
        if stamp not in kept.read_bytes()[:4096]:
            pytest.skip(f"{kept.name} was drawn by another matplotlib version")
        assert made.read_bytes() == kept.read_bytes(), (
            f"{kept.relative_to(ROOT)} is not what the demo draws today: run "
            "python scripts/refresh_docs.py")


def test_readme_speed_numbers_come_from_recorded_results() -> None:
    """README's Speed section quotes only numbers a benchmark wrote (benchmarks/results/*.json,
    each saying where, when and how it was measured) or the scenario's own parameters;
    test_shown_outputs_are_current[README.md] checks that each quoted number equals its file."""
    import json

    text = (ROOT / "README.md").read_text()
    speed = text[text.index("## Speed\n"):text.index("Inside the simulator a TCP frame")]
    sources = set(re.findall(r"<!-- val: cat \{repo\}/(\S+) ;", speed))
    assert {"benchmarks/results/bulk-python.json", "benchmarks/results/bulk-mypyc.json",
            "benchmarks/results/memory-python.json", "benchmarks/results/live.json"} <= sources
    for src in sources - {"benchmarks/README.md"}:
        record = json.loads((ROOT / src).read_text())
        assert {"date", "command", "machine", "netsim_build"} <= record.keys(), src
        assert record["command"].startswith("python benchmarks/"), src
        assert {"cpu", "cores", "load_average_1min"} <= record["machine"].keys(), src
    prose = re.sub(r"<!-- val: .*?<!-- /val -->", "", speed, flags=re.S)
    prose = re.sub(r"`[^`]*`", "", prose)                    # commands and file names
    parameters = {"100", "10", "1", "3", "1500", "9000", "3.44", "10,000", "256"}
    loose = [n for n in re.findall(r"(?<![\w.-])\d[\d.,]*", prose) if n.rstrip(".,") not in
             parameters]
    # issue 20's live targets, allowed only as targets ("≥ 40 MB/s", "≤ 0.3 ms")
    for target in re.findall(r"[≥≤] (40|150|0\.3) (?:MB/s|ms)\b", prose):
        loose.remove(target)
    assert loose == [], f"README's Speed section has numbers no results file backs: {loose}"
