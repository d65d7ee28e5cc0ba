"""Importing a class a user names as ``path/to/file.py:ClassName`` (a student's congestion
controller for ``--cc``, queue discipline for ``--qdisc``), with every problem a one-line
`UsageError` naming the flag. Callers check the class's methods and cache what passed.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

__all__ = ["import_user_class", "user_class_key"]


def user_class_key(spec: str) -> tuple[str, int, int, str] | None:
    """(resolved path, mtime, size, class name) of an existing file: a cache key that changes
    when the file does; None when ``spec`` does not name an existing file."""
    path_text, sep, name = spec.rpartition(":")
    path = Path(path_text)
    if not sep or not path.is_file():
        return None
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size, name)


def import_user_class(spec: str, flag: str, prefix: str) -> type[Any]:
    """Import ``path/to/file.py:ClassName`` by path (as module ``prefix_<hash>``) and return
    the class."""
    from netsim.errors import UsageError

    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name:
        raise UsageError(f"{flag}: {spec!r} is not path/to/file.py:ClassName")
    path = Path(path_text)
    if path.suffix != ".py":
        raise UsageError(f"{flag}: {path_text!r} is not a .py file; use path/to/file.py:ClassName")
    if not path.is_file():
        raise UsageError(f"{flag}: no such file {path_text!r}")
    module_name = f"{prefix}_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"{flag}: cannot import {path_text!r}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look classes up here
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the student's code: report it, do not crash
        sys.modules.pop(module_name, None)
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno is not None:
            where = f" (line {exc.lineno})"
        raise UsageError(f"{flag}: importing {path_text!r} failed{where}: "
                         f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
    obj = getattr(module, name, None)
    if obj is None:
        raise UsageError(f"{flag}: {path_text!r} has no {name!r}")
    if not inspect.isclass(obj):
        raise UsageError(f"{flag}: {name!r} in {path_text!r} is a {type(obj).__name__}, "
                         "not a class")
    return obj
