#!/usr/bin/env python3
"""Rebuild (or remove) the compiled build of netsim's hot path in a checkout, in place.

    .venv/bin/python scripts/compile.py           # compile; takes about a minute
    .venv/bin/python scripts/compile.py --clean   # back to pure Python
    .venv/bin/python scripts/compile.py --list    # what would be compiled, and what is

Installing netsim (setup.py; ./scripts/bootstrap.sh, pip install) already compiles it when it
can; this script is for a checkout afterwards: after editing a compiled module (`import
netsim` warns that the old compiled code runs; ./scripts/bootstrap.sh also rebuilds), or to
switch builds without reinstalling. It compiles exactly what setup.py compiles, the same way:
`COMPILED_MODULES` and `mypyc_extensions` in netsim/_build.py. It needs mypyc (part of mypy,
in the dev extra), a C compiler and the Python headers. The extension modules are written
next to the .py files, where Python prefers them to the source of the same name.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with warnings.catch_warnings():  # a stale build is what this script is here to replace
    warnings.simplefilter("ignore", RuntimeWarning)
    from netsim._build import (  # noqa: E402
        COMPILED_MODULES,
        compiled_files,
        extensions_of,
        module_path,
        mypyc_extensions,
        why_not_compilable,
    )


def build(root: Path) -> None:
    why_not = why_not_compilable()
    if why_not is not None:
        sys.exit(f"compile: cannot compile here: {why_not} (mypy is in the dev extra; "
                 "Debian/Ubuntu: apt-get install gcc python3-dev)")
    from setuptools import setup

    clean(root, quiet=True)
    # setuptools would read the checkout's pyproject.toml as this build's metadata: build
    # in an empty directory that sees the package through a symlink instead.
    work = Path(tempfile.mkdtemp(prefix="netsim-compile-"))
    (work / "netsim").symlink_to(root / "netsim", target_is_directory=True)
    old = Path.cwd()
    os.chdir(work)
    try:
        setup(
            name="netsim-compiled",
            packages=[],
            py_modules=[],
            ext_modules=mypyc_extensions(work, root / "pyproject.toml"),
            script_args=["-q", "build_ext", "--inplace"],
        )
    finally:
        os.chdir(old)
        shutil.rmtree(work, ignore_errors=True)
    made = compiled_files(root)
    print(f"compile: {len(made)} extension modules in {root / 'netsim'}")


def clean(root: Path, quiet: bool = False) -> None:
    files = compiled_files(root)
    for f in files:
        f.unlink()
    if not quiet:
        print(f"compile: removed {len(files)} extension modules; netsim is pure Python again")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clean", action="store_true", help="remove the compiled modules")
    ap.add_argument("--list", action="store_true", help="list the modules and their state")
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="the checkout to work on (default: this one)")
    args = ap.parse_args()
    root = args.root.resolve()
    if not (root / "netsim" / "__init__.py").is_file():
        sys.exit(f"compile: --root {root}: not a netsim checkout (no netsim/__init__.py)")
    if args.list:
        for m in COMPILED_MODULES:
            state = "compiled" if extensions_of(module_path(root, m)) else "interpreted"
            print(f"{m:34} {state}")
    elif args.clean:
        clean(root)
    else:
        build(root)


if __name__ == "__main__":
    main()
