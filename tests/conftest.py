"""Shared test policy and fixtures.

Markers (registered in pyproject.toml):

- ``live``: the test creates network namespaces / TAP devices. It runs only as root, with
  ``/dev/net/tun`` present and ``ip`` (iproute2) on PATH, and otherwise skips with the reason.
  In CI (environment variable ``CI`` set, as ``.ci/run`` does) on a root machine with
  ``/dev/net/tun``, a live test must run: a missing prerequisite, or a live test that skips
  itself (e.g. through ``require_tool``), is reported as a failure instead of a skip.
- ``slow``: longer tests. They run by default; ``--skip-slow`` leaves them out while iterating.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Whether live tests can run here: shared with the docs' live blocks (scripts/docs_live.py).
from netsim.testing.live_host import (
    TUN_DEVICE,
    in_ci,
    is_root,
    live_host_capable,
    live_must_run,
    live_unavailable_reason,
)

if TYPE_CHECKING:
    from model_grades import SharedGrades

REPO_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["REPO_ROOT", "TUN_DEVICE", "in_ci", "is_root", "live_host_capable", "live_must_run",
           "live_unavailable_reason"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--skip-slow",
        action="store_true",
        default=False,
        help="leave out tests marked slow (they run by default)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        from hypothesis import settings
    except ImportError:  # hypothesis is a dev extra; tests using it import it themselves
        return
    # Shared CI machines are slower and noisier than a laptop: no per-example deadline there.
    settings.register_profile("ci", deadline=None, print_blob=True)
    if in_ci():
        settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--skip-slow"):
        return
    kept = [item for item in items if item.get_closest_marker("slow") is None]
    deselected = [item for item in items if item.get_closest_marker("slow") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("live") is None:
        return
    reason = live_unavailable_reason()
    if reason is None:
        return
    if live_must_run():
        pytest.fail(f"live test cannot run in CI on a root machine with TUN: {reason}")
    pytest.skip(f"live test: {reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("live") is not None
        and live_must_run()
    ):
        # A live test that skipped itself in CI hides exactly what CI is there to catch.
        why = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"live test may not skip in CI on a root machine with TUN: {why}"
    return report


@pytest.fixture
def repo_root() -> Path:
    """The repository checkout (for README.md, .ci/run, scripts/...)."""
    return REPO_ROOT


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    """``require_tool("tshark")`` returns the tool's path, or skips the test with the reason.

    In a live test in CI (root with TUN) the skip becomes a failure, see the module docstring.
    """

    def require(name: str) -> str:
        path = shutil.which(name)
        if path is None:
            pytest.skip(f"`{name}` is not installed (see README: Dependencies)")
        return path

    return require


@pytest.fixture
def netsim_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``netsim`` console script: ``netsim_cli("ping", "--help")``.

    Uses the entry point installed next to the running interpreter, so it also checks that
    the package is installed the way README's Quick start installs it. It runs in the test's
    tmp_path, so any file the command writes stays out of the repository.
    """
    script = Path(sys.executable).parent / "netsim"
    if not script.exists():
        pytest.fail(f"{script} is missing: netsim is not installed in this environment "
                    "(run ./scripts/bootstrap.sh)")

    def run(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp_path,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def shared_grades(tmp_path_factory: pytest.TempPathFactory) -> SharedGrades:
    """Submissions several test files grade (the model solutions, netsim's references), each
    graded once per session (tests/model_grades.py)."""
    from model_grades import SharedGrades

    return SharedGrades(tmp_path_factory.mktemp("shared-grades"))
