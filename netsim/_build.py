"""netsim's two builds: interpreted, or with the hot path compiled by mypyc.

Installing netsim (`setup.py`, run by pip and by scripts/bootstrap.sh) compiles
`COMPILED_MODULES` with mypyc whenever it can; `scripts/compile.py` rebuilds them in place in
a checkout. Both take the list, and how to compile it, from here: this is the one place to
change it. At run time this module only looks at files (a few `stat` calls, nothing heavy
imported): which build is running, and whether a compiled module is older than its source.

The environment variable `NETSIM_BUILD` chooses the build at install time:
``compiled`` (fail if it cannot be built), ``interpreted`` (pure Python), or ``auto`` (the
default, also when unset or empty: compiled when mypyc, a C compiler and the Python headers
are present, otherwise interpreted).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# The per-packet path: wire formats, the stack's input and output, TCP, the simulated link,
# the SimPy driver and sockets. Not the replaceable parts students re-implement (rto,
# congestion, reassembler, TCP receiver, ARP table: docs/architecture.md §4) nor the stack's
# glue that calls a replaced link layer or forwarder (netsim.stack.seams), not the grader
# (netsim.grading), and not classes users construct with values to validate (LinkConfig,
# TcpConfig): compiled code would answer a bad value with a generic TypeError instead of the
# UsageError that names the field. This is the only list: setup.py and scripts/compile.py
# both read it, and a listed module that does not exist stops the build, naming it.
COMPILED_MODULES = (
    "netsim.wire.checksum",
    "netsim.wire.ethernet",
    "netsim.wire.ipv4",
    "netsim.wire.tcp",
    "netsim.wire.lazyframe",
    "netsim.stack.host_arp",  # the parts of a Stack, each extending the one before
    "netsim.stack.host_forward",
    "netsim.stack.host_input",
    "netsim.stack.host",
    "netsim.stack.interface",
    "netsim.stack.routing",
    "netsim.stack.timers",
    "netsim.stack.tcp.tcb",  # the parts of a connection, each extending the one before
    "netsim.stack.tcp.retransmit_timer",
    "netsim.stack.tcp.receiver",
    "netsim.stack.tcp.output",
    "netsim.stack.tcp.sender",
    "netsim.stack.tcp.recovery",
    "netsim.stack.tcp.rack",  # RACK-TLP (on by default): its bookkeeping runs per segment
    "netsim.stack.tcp.rack_recovery",  # and its hooks per ACK
    "netsim.stack.tcp.handshake",
    "netsim.stack.tcp.connection",
    "netsim.stack.tcp.layer",
    "netsim.stack.tcp.seq",
    "netsim.stack.tcp.states",  # its Final copies of the states are read by the modules above
    "netsim.stack.tcp.sack",
    "netsim.link.stats",
    "netsim.link.delivery",  # the wire and the delivery of a link direction: Endpoint's base
    "netsim.link.model",
    "netsim.node",
    "netsim.sockets",
    "netsim.simpy_fast",  # its scheduling helpers run once per frame and per timer
)
GROUP = "netsim._compiled"  # mypyc's shared library: netsim/_compiled__mypyc.*.so
_GROUP_LIBRARY = "_compiled__mypyc"  # its file name, before the extension suffix
OPT_LEVEL = "3"

ENV_VAR = "NETSIM_BUILD"
BUILDS = ("auto", "compiled", "interpreted")

_PACKAGE_DIR = Path(__file__).resolve().parent


def module_path(root: Path, module: str) -> Path:
    """The .py file of `module` in the checkout at `root`."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def requested_build(value: str | None) -> str:
    """The build `NETSIM_BUILD=value` asks for; ValueError (naming the variable and the
    allowed values) for anything else."""
    choice = (value or "auto").strip().lower()
    if choice not in BUILDS:
        raise ValueError(f"{ENV_VAR}={value!r}: expected one of {', '.join(BUILDS)} "
                         "(or unset: auto)")
    return choice


def why_not_compilable() -> str | None:
    """None if this interpreter can compile the hot modules, else why not, in a few words."""
    if find_spec("mypyc") is None:
        return "mypyc (part of mypy) is not installed"
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc} is not on PATH)"
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        return f"no Python headers ({include / 'Python.h'} is missing)"
    return None


def mypyc_sources(root: Path) -> list[str]:
    """The files of `COMPILED_MODULES`, relative to `root`, as mypyc takes them; a module
    that is listed but missing is an error that names it (the list is out of date)."""
    missing = [m for m in COMPILED_MODULES if not module_path(root, m).is_file()]
    if missing:
        raise FileNotFoundError(
            f"netsim/_build.py: COMPILED_MODULES lists {', '.join(missing)}, but "
            f"{'it does' if len(missing) == 1 else 'they do'} not exist under {root}: "
            "update the list")
    return [module_path(root, m).relative_to(root).as_posix() for m in COMPILED_MODULES]


def mypyc_extensions(root: Path, config_file: Path | None = None) -> list[Any]:
    """setuptools Extensions of the compiled build, for a setup() run with `root` as its
    working directory. mypyc type-checks the modules (with netsim's mypy settings,
    `config_file`, by default `root`/pyproject.toml) and writes their C code under build/
    in the working directory, which takes most of a minute."""
    from mypyc.build import mypycify

    config = config_file or root / "pyproject.toml"
    options = ["--config-file", str(config)] if config.is_file() else []
    return list(mypycify([*options, *mypyc_sources(root)], opt_level=OPT_LEVEL,
                         group_name=GROUP))


def extensions_of(py: Path) -> list[Path]:
    return [p for suffix in EXTENSION_SUFFIXES
            if (p := py.with_name(py.stem + suffix)).exists()]


def compiled_files(root: Path) -> list[Path]:
    """Every extension module under `root`/netsim: netsim has no C code of its own, so these
    are what `scripts/compile.py` made (including modules no longer in the list)."""
    return sorted({p for suffix in EXTENSION_SUFFIXES
                   for p in (root / "netsim").rglob(f"*{suffix}")})


def loaded_compiled() -> list[str]:
    """The modules of `COMPILED_MODULES` that this interpreter loaded from an extension."""
    return [m for m in COMPILED_MODULES
            if (mod := sys.modules.get(m)) is not None
            and str(getattr(mod, "__file__", "")).endswith(tuple(EXTENSION_SUFFIXES))]


def describe() -> str:
    """One line for `netsim --version` and the benchmarks: which build this is."""
    import importlib

    for module in COMPILED_MODULES:
        importlib.import_module(module)
    loaded = loaded_compiled()
    if not loaded:
        return "pure Python"
    return f"compiled with mypyc: {len(loaded)} of {len(COMPILED_MODULES)} hot modules"


def stale_modules(root: Path = _PACKAGE_DIR.parent) -> list[str]:
    """Extension modules under `root`/netsim whose code is not what their .py file says, each
    with why: built before the .py file last changed, or left over from an older
    `COMPILED_MODULES`. Python prefers an extension module to a source file of the same
    name, so either would silently run old code."""
    listed = set(COMPILED_MODULES)
    stale = []
    for ext in compiled_files(root):
        stem = ext.name.split(".", 1)[0]
        if ext.parent == root / "netsim" and stem == _GROUP_LIBRARY:
            continue  # the group's shared library: no source of its own
        module = ".".join((*ext.parent.relative_to(root).parts, stem))
        py = ext.with_name(f"{stem}.py")
        if module not in listed:
            stale.append(f"{module} (no longer in COMPILED_MODULES)")
        elif py.exists() and py.stat().st_mtime > ext.stat().st_mtime:
            stale.append(f"{module} (edited after it was compiled)")
    return stale


def warn_if_stale() -> None:
    """Called by `import netsim`: a no-op unless netsim runs from a checkout (an editable
    install or PYTHONPATH, where sources get edited) that holds a compiled build. An
    installed wheel is left alone: its files' times are those of unpacking."""
    if not (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
        return
    if not any((_PACKAGE_DIR / f"{_GROUP_LIBRARY}{s}").exists() for s in EXTENSION_SUFFIXES):
        return
    stale = stale_modules()
    if stale:
        import warnings
        warnings.warn(
            f"netsim: the old compiled code of {', '.join(stale)} is what runs; rebuild with "
            "./scripts/bootstrap.sh or scripts/compile.py, or go back to pure Python with "
            "scripts/compile.py --clean", RuntimeWarning, stacklevel=3)
