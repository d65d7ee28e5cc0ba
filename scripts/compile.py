#!/usr/bin/env python3
"""Build (or remove) the optional compiled build of netsim's hot path, in place.

    .venv/bin/python scripts/compile.py           # compile; takes about half a minute
    .venv/bin/python scripts/compile.py --clean   # back to pure Python
    .venv/bin/python scripts/compile.py --list    # what would be compiled, and what is

The modules below are compiled, unchanged, with mypyc (part of mypy, in the dev extra; a C
compiler and the Python headers are needed). The extension modules are written next to the
.py files, so an editable install picks them up at once: Python prefers an extension module
to a source file of the same name. Behaviour is the same (the test suite checks that a seeded
run gives the same pcap and counters byte for byte); only speed changes. `netsim --version`
says which build is running, and `import netsim` warns when a .py file is newer than its
compiled module (an edit would otherwise be silently ignored).

Kept interpreted on purpose: the replaceable parts students read and re-implement (RTO
estimator, congestion controllers, reassembler: DESIGN.md §6), the SimPy glue that subclasses
SimPy's own classes, and everything off the per-packet path.
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
        GROUP,
        compiled_files,
        extensions_of,
        module_path,
    )


def build(root: Path) -> None:
    try:
        from mypyc.build import mypycify
        from setuptools import setup
    except ImportError as exc:  # pragma: no cover - depends on the environment
        sys.exit(f"compile: needs mypy (mypyc) and setuptools: {exc}; "
                 "install the dev extra: pip install -e '.[dev]'")
    clean(root, quiet=True)
    paths = [str(module_path(root, m).relative_to(root)) for m in COMPILED_MODULES]
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
            ext_modules=mypycify(paths, opt_level="3", group_name=GROUP),
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
