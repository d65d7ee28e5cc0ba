"""The sandboxed process that holds a student's code: ``python -m netsim.grading.host``.

    python -m netsim.grading.host --file NAME --fd N [--uid UID] [--cgroup DIR ...]
        [--private-mounts] [--hide DIR ...]
        [--cpu S] [--memory BYTES] [--nproc N] [--fsize BYTES] [--nofile N]

Started by `netsim.grading.sandbox` in an empty working directory holding a copy of the
student's file. Until it imports that file this is trusted code: it joins the cgroups, makes
the Python installation reachable for the unprivileged uid, sets the resource limits, drops to
that uid and reports on file descriptor N what it applied. Then it imports the file and
answers requests (one JSON line each on standard input, `netsim.grading.codec`): make an
object of a class, call a function or method, read or set an attribute, measure what an object
holds (`footprint`: only the number crosses back). Replies go to fd N.

Everything this process says after the import is untrusted: the grader validates it, and a
wrong or malformed reply costs the student that check, nothing more.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import resource
import stat
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from netsim.grading.codec import Method, Ref, decode, dumps, encode
from netsim.grading.differential.values import footprint

MSG_CAP = 2000
TB_CAP = 4000

_BUILTIN_EXCEPTIONS = ("AttributeError", "ValueError", "TypeError", "KeyError", "IndexError",
                       "NotImplementedError", "ZeroDivisionError", "RecursionError",
                       "MemoryError", "AssertionError", "RuntimeError", "LookupError",
                       "ArithmeticError", "OverflowError", "OSError")


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None
           ) -> None:
    rc = _libc().mount(src and src.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode())
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


MS_RDONLY, MS_BIND, MS_REC, MS_PRIVATE = 1, 4096, 16384, 1 << 18


def reveal(paths: list[str]) -> list[str]:
    """In this process's own mount namespace, make every path in `paths` reachable for any
    uid: a directory on the way that others cannot enter (such as /root, mode 0700) is covered
    with an empty tmpfs into which only the needed entries are bind-mounted back (through an
    O_PATH descriptor opened before covering). Returns the directories covered. Needs root and
    a private mount namespace."""
    covered: list[str] = []
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    for _ in range(8):  # a blocked directory inside a blocked directory: another round
        blocked: dict[str, set[str]] = {}
        for p in paths:
            parts = Path(p).parts
            for i in range(1, len(parts)):
                d = str(Path(*parts[:i]))
                try:
                    mode = os.stat(d).st_mode
                except OSError:
                    break
                if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                    blocked.setdefault(d, set()).add(parts[i])
                    break
        if not blocked:
            return covered
        for d, children in sorted(blocked.items()):
            kept = [(child, os.open(os.path.join(d, child), os.O_PATH),
                     os.path.isdir(os.path.join(d, child))) for child in sorted(children)]
            _mount("tmpfs", d, "tmpfs", 0, "mode=755,size=1m")
            for child, fd, is_dir in kept:
                dest = os.path.join(d, child)
                if is_dir:
                    os.mkdir(dest)
                else:
                    Path(dest).touch()
                _mount(f"/proc/self/fd/{fd}", dest, None, MS_BIND | MS_REC, None)
                os.close(fd)
            covered.append(d)
    return covered


def hide_teachers() -> list[str]:
    """In this process's own mount namespace, cover the teachers' folder of a checkout
    (lessons/teachers: model solutions and answers) with an empty read-only tmpfs, so that a
    submission cannot read a solution and hand it in. Returns what was covered."""
    import netsim

    covered = []
    teachers = Path(netsim.__file__).resolve().parents[1] / "lessons" / "teachers"
    if teachers.is_dir():
        _mount("tmpfs", str(teachers), "tmpfs", MS_RDONLY, "mode=555,size=4k")
        covered.append(str(teachers))
    return covered


def hide_submissions(folders: list[str], needed: list[str]) -> list[str]:
    """In this process's own mount namespace, cover each of `folders` (the submission's own
    folder, and a batch's folder around it) with an empty read-only tmpfs, so that a
    submission cannot read a classmate's file and hand it in; a folder that holds something
    the sandbox needs (Python, netsim, its working folder) is left as it is. Returns what was
    covered."""
    keep = [os.path.realpath(p) for p in needed]
    covered = []
    for folder in folders:
        d = os.path.realpath(folder)
        if d == os.sep or not os.path.isdir(d) or \
                any(k == d or k.startswith(d + os.sep) for k in keep):
            continue
        _mount("tmpfs", d, "tmpfs", MS_RDONLY, "mode=555,size=4k")
        covered.append(d)
    return covered


def _blocked(path: str) -> bool:
    """Is a directory on the way to `path` closed to other users?"""
    parts = Path(path).parts
    for i in range(1, len(parts)):
        try:
            mode = os.stat(Path(*parts[:i])).st_mode
        except OSError:
            return False
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return True
    return False


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    new = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (new, new))


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """The trusted part: cgroups, limits, uid. Returns what was applied."""
    applied: dict[str, Any] = {}
    for d in args.cgroup:
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write("0")
    applied["cgroup"] = bool(args.cgroup)
    work = os.getcwd()
    drop = args.uid is not None and os.geteuid() == 0
    if drop:
        needed = [sys.base_prefix, sys.prefix, work,
                  *(p for p in sys.path if p and os.path.exists(p))]
        if args.private_mounts:  # only ever in a mount namespace of our own
            try:
                applied["revealed"] = reveal(needed)
                applied["hidden"] = hide_teachers() + hide_submissions(args.hide, needed)
            except OSError as exc:
                applied["not_dropped"] = f"cannot make Python reachable for uid {args.uid}: {exc}"
        elif any(_blocked(p) for p in needed):
            applied["not_dropped"] = (f"Python or netsim is not reachable for uid {args.uid} "
                                      "without a mount namespace")
    _limit(resource.RLIMIT_CORE, 0)
    for which, value in ((resource.RLIMIT_CPU, args.cpu), (resource.RLIMIT_AS, args.memory),
                         (resource.RLIMIT_FSIZE, args.fsize),
                         (resource.RLIMIT_NOFILE, args.nofile)):
        if value:
            _limit(which, value)
    if drop and "not_dropped" not in applied:
        if args.nproc:
            _limit(resource.RLIMIT_NPROC, args.nproc)
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
        applied["uid"] = os.getuid()
    else:
        applied["uid"] = os.getuid()
    try:  # PR_SET_NO_NEW_PRIVS: no setuid program can give the student root again
        _libc().prctl(38, 1, 0, 0, 0)
        _libc().prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG = SIGKILL
    except (OSError, AttributeError):
        pass
    return applied


# ------------------------------------------------------------------------------ serving
class Objects:
    def __init__(self) -> None:
        self.table: dict[int, Any] = {}

    def add(self, obj: Any) -> int:
        n = len(self.table) + 1
        self.table[n] = obj
        return n

    def arg(self, value: Any) -> Any:
        return _resolve(decode(value), self.table)


def _resolve(v: Any, table: dict[int, Any]) -> Any:
    if isinstance(v, Ref):
        return table[v.id]
    if isinstance(v, list):
        return [_resolve(x, table) for x in v]
    if isinstance(v, tuple):
        return tuple(_resolve(x, table) for x in v)
    return v


def error_value(exc: BaseException, filename: str) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if Path(f.filename).name == filename and
            Path(f.filename).parent == Path.cwd()]
    lines = ["Traceback (your code):"]
    for f in mine or frames[-1:]:
        lines.append(f'  File "{Path(f.filename).name}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line}")
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a student's __str__ may raise
        text = "<the exception's text could not be shown>"
    lines.append(f"{type(exc).__name__}: {text[:MSG_CAP]}".rstrip())
    mro = [c.__name__ for c in type(exc).__mro__ if c.__name__ in _BUILTIN_EXCEPTIONS]
    return {"type": type(exc).__name__[:100], "mro": mro[:8], "msg": text[:MSG_CAP],
            "tb": "\n".join(lines)[-TB_CAP:]}


def serve(module: ModuleType, out: Any, filename: str) -> None:
    objects = Objects()
    for raw in sys.stdin.buffer:
        req = json.loads(raw)
        rid = req.get("id")
        try:
            value = handle(module, objects, req)
            reply = {"id": rid, "ok": encode(value, objects.add)}
        except BaseException as exc:  # noqa: BLE001 - the student's exception, as a value
            if isinstance(exc, KeyboardInterrupt):
                raise
            reply = {"id": rid, "err": error_value(exc, filename)}
        out.write(dumps(reply))
        out.flush()


def handle(module: ModuleType, objects: Objects, req: dict[str, Any]) -> Any:
    op, name = req["op"], str(req.get("name", ""))
    args = [objects.arg(a) for a in req.get("args", [])]
    kwargs = {str(k): objects.arg(v) for k, v in req.get("kwargs", {}).items()}
    if op == "kind":
        obj = getattr(module, name, None)
        return "missing" if obj is None else "class" if isinstance(obj, type) else \
            "function" if callable(obj) else "other"
    if op in ("new", "fn"):
        return getattr(module, name)(*args, **kwargs)
    target = objects.table[int(req["obj"])]
    if op == "call":
        return getattr(target, name)(*args, **kwargs)
    if op == "get":
        value = getattr(target, name)
        if callable(value) and not isinstance(value, type) and hasattr(value, "__self__"):
            return Method(name)
        return value
    if op == "set":
        setattr(target, name, objects.arg(req["value"]))
        return None
    if op == "size":  # the resource checks: what the object holds, as one number
        return footprint(target)
    raise ValueError(f"unknown request {op!r}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m netsim.grading.host")
    parser.add_argument("--file", required=True)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--uid", type=int, default=None)
    parser.add_argument("--cgroup", action="append", default=[])
    parser.add_argument("--private-mounts", action="store_true")
    parser.add_argument("--hide", action="append", default=[])  # folders of submissions
    for name in ("cpu", "memory", "nproc", "fsize", "nofile"):
        parser.add_argument(f"--{name}", type=int, default=0)
    args = parser.parse_args()
    out = os.fdopen(args.fd, "wb")
    try:
        applied = setup(args)
    except OSError as exc:
        out.write(dumps({"id": 0, "setup": {"error": str(exc)[:500]}}))
        out.flush()
        return 1
    out.write(dumps({"id": 0, "setup": applied}))
    out.flush()
    sys.path.insert(0, os.getcwd())
    # ---- from here on the student's code runs: nothing below is trusted by the grader
    try:
        spec = importlib.util.spec_from_file_location("submission", args.file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {args.file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - reported to the grader as a value
        out.write(dumps({"id": 0, "err": error_value(exc, args.file)}))
        out.flush()
        return 0
    out.write(dumps({"id": 0, "ok": "ready"}))
    out.flush()
    serve(module, out, args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
