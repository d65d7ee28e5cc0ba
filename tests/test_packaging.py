"""First contact: the installed `netsim` command, the README's Quick start, and the CI script."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import netsim
from netsim.cli import SUBCOMMANDS

RunCli = Callable[..., subprocess.CompletedProcess[str]]

BOOTSTRAP = "./scripts/bootstrap.sh"


def built_subcommands() -> list[str]:
    """The subcommands listed in netsim.cli.SUBCOMMANDS whose module exists."""
    return [n.replace("_", "-") for n in SUBCOMMANDS
            if importlib.util.find_spec(f"netsim.cli.{n}") is not None]


def quickstart_commands(readme: str) -> list[str]:
    """Command lines in the fenced code blocks of README's "Quick start" section."""
    match = re.search(r"^## Quick start\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, "README.md has no '## Quick start' section"
    commands: list[str] = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", match.group(1), re.M | re.S):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line.removeprefix("$ "))
    return commands


def quickstart_test_command(repo_root: Path) -> str:
    readme = (repo_root / "README.md").read_text()
    commands = [c for c in quickstart_commands(readme) if "pytest" in c]
    assert len(commands) == 1, f"expected one test command in the Quick start, found {commands}"
    return commands[0]


def test_help_lists_every_built_subcommand_and_exits_0(netsim_cli: RunCli) -> None:
    result = netsim_cli("--help")
    assert result.returncode == 0, result.stderr
    assert "usage: netsim" in result.stdout
    assert "--version" in result.stdout
    section = result.stdout.partition("commands:")[2]
    listed = set(re.findall(r"^ {4}([a-z][a-z0-9-]*)(?: {2,}|$)", section, re.M))
    missing = [name for name in built_subcommands() if name not in listed]
    assert not missing, f"`netsim --help` does not list {missing}:\n{result.stdout}"


def test_every_built_subcommand_has_help(netsim_cli: RunCli) -> None:
    for name in built_subcommands():
        result = netsim_cli(name, "--help")
        assert result.returncode == 0, f"netsim {name} --help failed:\n{result.stderr}"
        assert f"netsim {name}" in result.stdout


@pytest.mark.parametrize("entry", ["console script", "python -m netsim"])
def test_version_prints_the_package_version(netsim_cli: RunCli, entry: str) -> None:
    if entry == "console script":
        result = netsim_cli("--version")
    else:
        result = subprocess.run(
            [sys.executable, "-m", "netsim", "--version"],
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert result.returncode == 0, result.stderr
    # the version, then which build runs: "pure Python" or "compiled with mypyc: ..."
    assert re.fullmatch(rf"netsim {re.escape(netsim.__version__)} "
                        r"\((pure Python|compiled with mypyc: \d+ of \d+ hot modules)\)",
                        result.stdout.strip()), result.stdout


def test_the_readme_install_is_the_compiled_build_where_it_can_be(netsim_cli: RunCli) -> None:
    # ./scripts/bootstrap.sh compiles the hot path whenever a C compiler and the Python headers
    # are present (setup.py), so CI (which installs gcc and python3-dev) runs the whole suite
    # compiled; tests/test_compiled_build.py compares it with the interpreted build.
    from netsim._build import COMPILED_MODULES, ENV_VAR, why_not_compilable

    if not os.environ.get("CI"):
        pytest.skip("checked in CI (CI is set): elsewhere the install may be either build")
    why_not = why_not_compilable()
    if why_not is not None or os.environ.get(ENV_VAR) == "interpreted":
        pytest.skip(f"this install is interpreted on purpose: {why_not or ENV_VAR}")
    result = netsim_cli("--version")
    n = len(COMPILED_MODULES)
    assert f"(compiled with mypyc: {n} of {n} hot modules)" in result.stdout, result.stdout
    assert result.stderr == "", result.stderr  # no compiled module older than its source


def test_installed_metadata_version_is_the_package_version() -> None:
    # pyproject.toml reads the version from netsim.__version__; a stale install would differ.
    assert importlib.metadata.version("netsim") == netsim.__version__


def test_unknown_subcommand_exits_2_with_one_line_error(netsim_cli: RunCli) -> None:
    result = netsim_cli("no-such-command")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got:\n{result.stderr}"
    assert "no-such-command" in lines[0]
    assert lines[0].startswith("netsim: error:")


def test_readme_quickstart_has_one_demo_and_one_test_command(repo_root: Path) -> None:
    commands = quickstart_commands((repo_root / "README.md").read_text())
    assert len(commands) == 2, f"Quick start should give exactly two command lines: {commands}"
    demo = [c for c in commands if re.search(r"\bnetsim demo\b", c)]
    tests = [c for c in commands if re.search(r"-m pytest\b", c)]
    assert len(demo) == 1 and len(tests) == 1, commands
    for command in commands:
        # Each line installs everything first, so it works on a fresh clone.
        assert command.startswith(f"{BOOTSTRAP} && "), command


def test_quickstart_demo_command_exists(netsim_cli: RunCli) -> None:
    # The README's main command must be a real subcommand, not a promise.
    result = netsim_cli("demo", "--help")
    assert result.returncode == 0, f"`netsim demo --help` failed:\n{result.stderr}"


def test_ci_runs_exactly_the_readme_test_command(repo_root: Path) -> None:
    command = quickstart_test_command(repo_root)
    ci_lines = [
        line.strip()
        for line in (repo_root / ".ci" / "run").read_text().splitlines()
        if not line.strip().startswith("#")
    ]
    assert any(command in line for line in ci_lines), (
        f".ci/run does not run the README's test command verbatim: {command!r}"
    )


@pytest.mark.parametrize("script", [".ci/run", "scripts/bootstrap.sh"])
def test_scripts_are_executable_bash_that_parses(repo_root: Path, script: str) -> None:
    path = repo_root / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "set -euo pipefail" in path.read_text()


def test_bootstrap_refuses_python_older_than_3_11(repo_root: Path, tmp_path: Path) -> None:
    # A stand-in interpreter that runs what it is given but reports itself as Python 3.10.
    fake = tmp_path / "python3.10"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "if len(sys.argv) < 3 or sys.argv[1] != '-c':\n"
        "    sys.exit('fake python: only -c is supported')\n"
        "code = sys.argv[2]\n"
        "sys.argv = ['-c', *sys.argv[3:]]\n"
        "sys.version_info = (3, 10, 13)  # type: ignore[assignment]\n"
        "exec(code)\n"
    )
    fake.chmod(0o755)
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "scripts" / "bootstrap.sh").write_bytes(
        (repo_root / "scripts" / "bootstrap.sh").read_bytes()
    )
    (checkout / "pyproject.toml").write_bytes((repo_root / "pyproject.toml").read_bytes())

    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "bootstrap.sh")],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHON": str(fake)},
    )
    assert result.returncode != 0
    assert "3.10.13" in result.stderr and ">= 3.11" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (checkout / ".venv").exists()
