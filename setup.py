"""netsim's build hook: compile the hot path with mypyc whenever this machine can.

Everything else about the package (name, version, dependencies, the `netsim` command) is in
pyproject.toml. This file only adds the compiled modules, as mypy and black add theirs: the
modules listed in `COMPILED_MODULES` (netsim/_build.py, the only list) are compiled, unchanged,
into extension modules that sit next to their .py files; Python prefers those. The modules
students read and replace, and the grader, are not in the list and stay pure Python.

    pip install .                              # compiled if it can be, else interpreted
    NETSIM_BUILD=compiled pip install .        # compiled, or fail saying why
    NETSIM_BUILD=interpreted pip install .     # pure Python
    ./scripts/bootstrap.sh                     # the same choice, editable (-e)

"Can be" means mypyc (installed into the build environment from [build-system] requires), a C
compiler and the Python headers (Debian/Ubuntu: apt-get install gcc python3-dev). Without them
the interpreted build is installed and the build says so once (pip shows a build's messages
with -v; `netsim --version` always says which build runs). An editable install first removes
any compiled modules left in the checkout, so an earlier build never shadows the sources.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.errors import CCompilerError, ExecError

ROOT = Path(__file__).resolve().parent


def _load_build_module() -> ModuleType:
    # By path: importing the package would need its dependencies (simpy), which a build
    # environment does not have. netsim/_build.py imports only the standard library.
    spec = importlib.util.spec_from_file_location("_netsim_build", ROOT / "netsim" / "_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _say(message: str) -> None:
    print(f"netsim: {message}", file=sys.stderr, flush=True)


BUILD = _load_build_module()
try:
    CHOICE = BUILD.requested_build(os.environ.get(BUILD.ENV_VAR))
except ValueError as exc:
    sys.exit(f"netsim: {exc}")
WHY_NOT = None if CHOICE == "interpreted" else BUILD.why_not_compilable()
if CHOICE == "compiled" and WHY_NOT is not None:
    sys.exit(f"netsim: {BUILD.ENV_VAR}=compiled, but this machine cannot compile netsim: "
             f"{WHY_NOT} (a C compiler and the Python headers are needed; on Debian/Ubuntu: "
             "apt-get install gcc python3-dev)")
COMPILE = CHOICE != "interpreted" and WHY_NOT is None


class BuildPy(build_py):
    """Runs first in every build: says which build this is, and in an editable install
    removes compiled modules an earlier build left in the checkout."""

    def run(self) -> None:
        if self.editable_mode:
            for stale in BUILD.compiled_files(ROOT):
                stale.unlink()
        if CHOICE == "auto" and WHY_NOT is not None:
            _say(f"installing the interpreted build (pure Python, about half as fast): "
                 f"{WHY_NOT}. With a C compiler and the Python headers (Debian/Ubuntu: "
                 f"apt-get install gcc python3-dev) the hot path is compiled; "
                 f"{BUILD.ENV_VAR}=compiled requires it, {BUILD.ENV_VAR}=interpreted skips it.")
        elif CHOICE == "interpreted":
            _say(f"installing the interpreted build ({BUILD.ENV_VAR}=interpreted)")
        super().run()


class BuildExt(build_ext):
    """mypyc type-checks and translates the modules when this command runs, not when it is
    configured: pip reads setup.py three times (requirements, metadata, build) and each
    configures build_ext. Until then each extension is a named placeholder."""

    def run(self) -> None:
        if COMPILE:
            _say(f"compiling {len(BUILD.COMPILED_MODULES)} modules with mypyc "
                 f"({BUILD.ENV_VAR}=interpreted skips this)")
            made = {ext.name: ext for ext in BUILD.mypyc_extensions(ROOT)}
            if sorted(made) != sorted(ext.name for ext in self.extensions):
                sys.exit(f"netsim: mypyc made the extensions {sorted(made)}, not the "
                         f"{sorted(ext.name for ext in self.extensions)} setup.py expected")
            for ext in self.extensions:
                for key, value in vars(made[ext.name]).items():
                    if not key.startswith("_"):  # keep what setuptools set up for the name
                        setattr(ext, key, value)
        try:
            super().run()
        except (CCompilerError, ExecError) as exc:
            sys.exit(f"netsim: compiling the hot path failed ({exc}; the compiler's messages "
                     f"are above); {BUILD.ENV_VAR}=interpreted installs the pure Python build")


def _placeholders() -> list[Any]:
    # Makes setuptools run build_ext (and tag the wheel for this platform). mypyc makes one
    # extension for its shared library and one per module.
    if not COMPILE:
        return []
    return [Extension(name, sources=[])
            for name in (f"{BUILD.GROUP}__mypyc", *BUILD.COMPILED_MODULES)]


os.chdir(ROOT)  # mypyc takes the module paths relative to the working directory
setup(ext_modules=_placeholders(), cmdclass={"build_py": BuildPy, "build_ext": BuildExt})
