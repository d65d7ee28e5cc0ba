"""Static checks run by the test suite: ruff, mypy --strict, and the sans-I/O import rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "netsim"

# Sans-I/O (DESIGN.md §1): protocol code never reads a clock, a socket or a file.
SANS_IO_PACKAGES = ("netsim.wire", "netsim.stack")
SANS_IO_FORBIDDEN = ("simpy", "os", "select", "socket", "time")
# Parts that sit above the protocol engine; wire/ and stack/ must not reach up into them.
ABOVE_ENGINE = (
    "netsim.trace", "netsim.node", "netsim.sockets", "netsim.sim", "netsim.live",
    "netsim.apps", "netsim.cli",
)


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m TOOL ...` with the test suite's interpreter, from the repository root."""
    module = args[1]
    probe = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.fail(f"{module} is not installed for {sys.executable}: run ./scripts/bootstrap.sh")
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=600,
        check=False,
    )


def test_ruff_check_is_clean() -> None:
    result = run_tool("-m", "ruff", "check", "--no-fix", "netsim", "tests")
    assert result.returncode == 0, f"ruff check netsim tests:\n{result.stdout}{result.stderr}"


def test_mypy_strict_is_clean() -> None:
    # Files and per-module settings come from [tool.mypy] in pyproject.toml.
    result = run_tool("-m", "mypy", "--strict")
    assert result.returncode == 0, f"mypy --strict:\n{result.stdout}{result.stderr}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from netsim import sim` imports netsim.sim
                yield node.lineno, f"{target}.{alias.name}"


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def sans_io_files() -> list[Path]:
    files: list[Path] = []
    for package in SANS_IO_PACKAGES:
        files.extend(sorted((REPO_ROOT / package.replace(".", "/")).rglob("*.py")))
    return files


def test_wire_and_stack_are_sans_io() -> None:
    files = sans_io_files()
    assert files, "netsim/wire and netsim/stack hold no Python files"
    offences = [
        f"{path.relative_to(REPO_ROOT)}:{line}: imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if within(module, SANS_IO_FORBIDDEN) or within(module, ABOVE_ENGINE)
    ]
    assert not offences, "sans-I/O code imports I/O or higher layers:\n" + "\n".join(offences)


def test_wire_does_not_import_the_stack() -> None:
    offences = [
        f"{path.relative_to(REPO_ROOT)}:{line}: imports {module}"
        for path in sorted((PACKAGE / "wire").rglob("*.py"))
        for line, module in imported_modules(path)
        if within(module, ("netsim.stack",))
    ]
    assert not offences, "netsim/wire must not depend on netsim/stack:\n" + "\n".join(offences)


def test_apps_do_not_import_sim_or_live() -> None:
    # Applications see sockets only, so the same app runs in both worlds (DESIGN.md §2);
    # they may be SimPy processes, so simpy itself is allowed.
    offences = [
        f"{path.relative_to(REPO_ROOT)}:{line}: imports {module}"
        for path in sorted((PACKAGE / "apps").rglob("*.py"))
        for line, module in imported_modules(path)
        if within(module, ("netsim.sim", "netsim.live"))
    ]
    assert not offences, "netsim/apps must not import sim/ or live/:\n" + "\n".join(offences)
