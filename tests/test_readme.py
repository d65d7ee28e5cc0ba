"""The README's Python examples run as printed (a user copies them first)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_python_snippet_runs(index: int, tmp_path: Path) -> None:
    code = SNIPPETS[index]
    if "netsim-demo/trace.jsonl" in code:
        # The demo section reads the folder `netsim demo` writes: make it first.
        subprocess.run([sys.executable, "-m", "netsim", "demo", "--out", "netsim-demo",
                        "--bytes", "200kB"], cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-c", "import matplotlib; matplotlib.use('Agg')\n"
                           + code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"README snippet {index} failed:\n{code}\n{done.stderr}"


def test_readme_has_python_snippets() -> None:
    assert len(SNIPPETS) >= 2
