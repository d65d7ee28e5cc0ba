"""The `netsim` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``func(args) -> int``. A `UsageError` raised by a subcommand becomes a one-line
message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from netsim import __version__
from netsim.errors import NetsimError, UsageError

# Subcommand modules, in the order `netsim --help` lists them.
SUBCOMMANDS: tuple[str, ...] = (
    "demo",
    "sim",
    "echo",
    "ping",
    "traceroute",
    "pcap",
    "live",
    "grade",
    "sweep",
    "plot_sweep",
)


class _VersionAction(argparse.Action):
    """`--version`: the version and the build (pure Python or compiled), found only when
    asked, so that other commands do not pay for importing the stack."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default,
                         help=help or "print the version and build, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from netsim._build import describe
        print(f"netsim {__version__} ({describe()})")
        parser.exit(0)


#: What argparse should take as a value, not as an option: "-1", "-1ms", "-.5", "-1e3".
#: (Its own rule knows only plain numbers, so ``--delay -1ms`` was "expected one argument"
#: instead of reaching the validator, which says what is allowed.)
_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d)")


class _Parser(argparse.ArgumentParser):
    """Every netsim parser (subcommands included): negative values parse as values, and an
    argparse error is one line in the same style as the validators' messages.

    A negative value stays a value even in a parser with an option that looks like a number
    (``-6``, IPv6): argparse would then take "-1" for an option ("--count -1: expected one
    argument" instead of the validator naming the value). The option itself is still matched
    exactly, before this rule."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE

    def _parse_optional(self, arg_string: str) -> Any:
        if _NEGATIVE_VALUE.match(arg_string) and arg_string not in self._option_string_actions:
            return None  # a value, as argparse's rule for parsers without such options
        return super()._parse_optional(arg_string)

    def error(self, message: str) -> None:  # type: ignore[override]
        # "argument --delay: expected one argument" -> "--delay: expected one argument"
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message.splitlines()[0])
        self.exit(2, f"netsim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="netsim",
        description="A TCP/IP stack for teaching and simulation, simulated or live on a TAP.",
        epilog="Values: a time or a rate needs its unit (--delay 10ms, --rate 100Mbit; a bare "
               "number such as --delay 10 is refused, only 0 may go without); a size may be a "
               "number of bytes (--bytes 1500) or have a unit (10MB, 64KiB). A bad value is one "
               "line naming the flag and what is allowed, exit status 2. A run estimated above "
               "netsim's limits (wall time, pcap size, trace records, figure pixels, sweep "
               "runs) is refused with the estimate unless --allow-large is given.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"netsim.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"netsim.cli.{name}":
                raise
            continue  # not built yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UsageError as exc:
        print(f"netsim: error: {exc}", file=sys.stderr)
        return 2
    except NetsimError as exc:
        print(f"netsim: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `netsim pcap FILE | head`): stop quietly, like cat does.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
