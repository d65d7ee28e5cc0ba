"""Which build of netsim is running: pure Python, or with the hot path compiled by mypyc.

`scripts/compile.py` compiles `COMPILED_MODULES` in place; this module only looks at the
files, so it costs a few `stat` calls and imports nothing heavy.
"""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# The per-packet path: wire formats, the stack's input and output, TCP, the simulated link,
# the SimPy driver and sockets. Not the replaceable parts students re-implement (rto,
# congestion, reassembler, ARP table: DESIGN.md §6), and not classes users construct with
# values to validate (LinkConfig, TcpConfig): compiled code would answer a bad value with a
# generic TypeError instead of the UsageError that names the field.
COMPILED_MODULES = (
    "netsim.wire.checksum",
    "netsim.wire.ethernet",
    "netsim.wire.ipv4",
    "netsim.wire.tcp",
    "netsim.wire.lazyframe",
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
    "netsim.stack.tcp.handshake",
    "netsim.stack.tcp.connection",
    "netsim.stack.tcp.layer",
    "netsim.stack.tcp.seq",
    "netsim.stack.tcp.states",  # its Final copies of the states are read by the modules above
    "netsim.stack.tcp.sack",
    "netsim.link.model",
    "netsim.node",
    "netsim.sockets",
)
GROUP = "netsim._compiled"  # mypyc's shared library: netsim/_compiled__mypyc.*.so

_PACKAGE_DIR = Path(__file__).resolve().parent


def module_path(root: Path, module: str) -> Path:
    """The .py file of `module` in the checkout at `root`."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


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
    """Compiled modules whose .py file was edited after they were built: Python would
    keep running the old compiled code."""
    stale = []
    for module in COMPILED_MODULES:
        py = module_path(root, module)
        for ext in extensions_of(py):
            if py.stat().st_mtime > ext.stat().st_mtime:
                stale.append(module)
    return stale


def warn_if_stale() -> None:
    """Called by `import netsim`: a no-op unless a compiled build is present."""
    if not any((_PACKAGE_DIR / f"_compiled__mypyc{s}").exists() for s in EXTENSION_SUFFIXES):
        return
    stale = stale_modules()
    if stale:
        import warnings
        warnings.warn(
            f"netsim: {', '.join(stale)} changed after it was compiled, and the old compiled "
            "code is what runs; rebuild with scripts/compile.py or remove the compiled build "
            "with scripts/compile.py --clean", RuntimeWarning, stacklevel=3)
