"""Every output the README, the lessons, the answers and the assignment READMEs show is what
netsim prints today: each marked block (and each run-derived number in prose) is re-run and
compared with the text (scripts/refresh_docs.py describes the markers and rewrites them)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

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


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
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


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_no_output_is_shown_without_a_marker(path: Path) -> None:
    assert docs.unmarked_outputs(path) == []


def test_every_doc_has_checked_outputs() -> None:
    """The mechanism covers the texts that show runs (a marker typo would silently drop one)."""
    for name in ["README.md", "lessons/01-ethernet-arp.md", "lessons/02-ipv4-routing-icmp.md",
                 "lessons/03-tcp-handshake-states.md", "lessons/04-reliability-rto.md",
                 "lessons/05-flow-control.md", "lessons/06-congestion-control.md",
                 "lessons/08-wireshark.md", "lessons/teachers/ANSWERS.md",
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
