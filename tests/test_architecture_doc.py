"""docs/architecture.md names only files and folders that exist, and the objects it names in
them are there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
# a path in backquotes: netsim/..., tests/..., scripts/..., docs/..., lessons/...
PATH = re.compile(r"`((?:netsim|tests|scripts|docs|lessons|notebooks|benchmarks)/[\w./-]*)`")
# "`Name` in `netsim/x.py`" and "`netsim/x.py` (`Name`)": the name must be defined in that file
NAME_IN = re.compile(r"`(\w+)` in `(netsim/[\w/]+\.py)`|`(netsim/[\w/]+\.py)` \(`(\w+)`\)")


def test_every_path_named_in_the_architecture_document_exists() -> None:
    paths = PATH.findall(DOC.read_text())
    assert len(paths) > 40, "the document names the files it describes"
    missing = sorted({p for p in paths if not (ROOT / p).exists()})
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_names_said_to_be_in_a_file_are_defined_there() -> None:
    pairs = [(a or d, b or c) for a, b, c, d in NAME_IN.findall(DOC.read_text())]
    assert len(pairs) >= 8
    wrong = [f"{name} in {path}" for name, path in pairs
             if not re.search(rf"^\s*(class|def)\s+{name}\b|^{name}\b",
                              (ROOT / path).read_text(), re.M)]
    assert not wrong, f"docs/architecture.md places these where they are not: {wrong}"
