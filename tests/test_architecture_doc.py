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


def test_every_compiled_module_is_named() -> None:
    """A reader looking for the per-packet code finds each compiled module in the map: a module
    split off another (netsim/stack/host_input.py from host.py, netsim/link/delivery.py from
    model.py) is named too."""
    from netsim._build import COMPILED_MODULES

    text = DOC.read_text()
    unnamed = [m for m in COMPILED_MODULES
               if f"`{m.replace('.', '/')}.py`" not in text]
    assert not unnamed, f"docs/architecture.md does not name these compiled modules: {unnamed}"


NUMBERS = {w: n for n, w in enumerate(["zero", "one", "two", "three", "four", "five", "six",
                                       "seven", "eight", "nine", "ten", "eleven", "twelve"])}


def test_the_number_of_seams_said_is_the_number_in_the_table() -> None:
    text = DOC.read_text()
    section = text.split("## 4.", 1)[1].split("\n## ", 1)[0]
    said = re.search(r"^(\w+) parts of the stack are defined by a `typing.Protocol`", section,
                     re.M)
    assert said, "§4 says how many seams there are"
    rows = [line for line in section.splitlines()
            if line.startswith("| `") and "` in `netsim/" in line]
    assert NUMBERS[said.group(1).lower()] == len(rows), \
        f"§4 says {said.group(1)} seams and its table lists {len(rows)}"
