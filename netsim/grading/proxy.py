"""The grader's side of the boundary: objects that stand for the student's class, functions and
instances, and forward every use to the sandboxed process as plain data.

A `RemoteClass` is called like the class (``cls(min_rto=0.2)``), a `RemoteObject` is used like
an instance (``est.on_sample(0.5)``, ``est.rto``, ``cc.cwnd = 4000``) — so netsim's real stack
can run with one in place of its own component and cannot tell. Each use is one request and
one reply (`netsim.grading.codec`); its cost is measured by benchmarks/bench_grading.py.

What can go wrong comes back as one of:

- `StudentError` (an ``Exception``): the student's code raised; it carries the class name, the
  message and the traceback from the student's file, capped. A subclass also derives from
  the matching built-in exception (``ValueError`` ...), so ``except ValueError`` works.
- `SandboxFault` (a ``BaseException``, so that no ``except Exception`` in the stack can swallow
  it): the check's time ran out, the process died, or it sent something malformed or out of
  bounds. The session remembers the first fault of a check.
"""

from __future__ import annotations

import builtins
import enum
import os
import select
import time
from pathlib import Path
from typing import Any

from netsim.grading.codec import (
    MAX_MESSAGE,
    BadValue,
    Method,
    Ref,
    decode,
    dumps,
    encode,
    loads,
    one_line,
    quoted,
)
from netsim.grading.sandbox import Features, Limits, Sandbox


class StudentError(Exception):
    """An exception raised by the student's code (in the sandboxed process)."""

    def __init__(self, type_name: str, message: str, tb: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.tb = type_name, message, tb


_MIXED: dict[str, type[StudentError]] = {}
for _name in ("AttributeError", "ValueError", "TypeError", "KeyError", "IndexError",
              "NotImplementedError", "ZeroDivisionError", "LookupError", "ArithmeticError",
              "RuntimeError", "OverflowError"):
    _MIXED[_name] = type(f"Student{_name}", (StudentError, getattr(builtins, _name)), {})


class SandboxFault(BaseException):
    """The check cannot go on: kind is "timeout", "died", "protocol" or "value"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def _student_error(err: Any) -> StudentError:
    if not isinstance(err, dict):
        raise SandboxFault("protocol", "the process running your code sent a malformed error")
    # the message is shown inline, the traceback as a quoted block (codec.one_line, quoted)
    name = one_line(str(err.get("type", "?")), 100)
    msg = one_line(str(err.get("msg", "")), 2000)
    tb = quoted(str(err.get("tb", "")), 4000)
    mro = err.get("mro")
    mro = mro if isinstance(mro, list) else []
    cls = next((_MIXED[m] for m in mro if isinstance(m, str) and m in _MIXED), StudentError)
    return cls(name, msg, tb)


class Session:
    """The connection to one student's sandbox, restarted when a check leaves it unusable."""

    def __init__(self, source: Path, limits: Limits, features: Features | None = None,
                 python: str | None = None, enums: dict[str, type[enum.Enum]] | None = None,
                 siblings: bool = False) -> None:
        self.source, self.limits, self.features, self.python = source, limits, features, python
        self.siblings = siblings
        self.enums = enums or {}
        self.box: Sandbox | None = None
        self.setup: dict[str, Any] = {}
        self.missing = ""  # a protection the host could not apply (said in the report)
        # Every request as sent ((op, fields), plain data): set to [] to record a check's
        # operations, e.g. to replay the same sequence on netsim's reference (differential
        # testing).
        self.log: list[tuple[str, dict[str, Any]]] | None = None
        self.returns: dict[str, tuple[Any, ...]] = {}  # Assignment.returns
        self.deadline = 0.0
        self.fault: SandboxFault | None = None
        self.printed: list[str] = []
        self._printed_size = 0
        self._buf = b""
        self._next_id = 1
        self.calls = 0

    # ------------------------------------------------------------------- lifecycle
    def start(self, import_timeout: float) -> None:
        """Start a fresh sandbox and import the student's file; raises SandboxFault (timeout,
        died) or StudentError (the import raised)."""
        self.close()
        self.box = Sandbox(self.source, self.limits, self.features, self.python, self.siblings)
        self.deadline = time.monotonic() + import_timeout
        first = self._read_message("starting Python")
        setup = first.get("setup")
        if not isinstance(setup, dict) or "error" in setup:
            raise SandboxFault("died", f"the sandbox could not be set up: {setup}")
        self.setup = setup
        hello = self._read_message("importing your file")
        if "err" in hello:
            raise _student_error(hello["err"])
        if hello.get("ok") != "ready":
            raise SandboxFault("protocol", "an unexpected message while importing your file")

    def begin(self, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.fault = None
        self.printed, self._printed_size = [], 0

    def end(self) -> None:
        """After a check: kill the sandbox if it is unusable or holds any process besides
        the host (the next check then starts a fresh one)."""
        if self.box is None:
            return
        self._drain_output(0.0)
        if self.fault is not None or self.box.proc.poll() is not None or \
                self.box.extra_processes():
            self.close()

    def close(self) -> None:
        if self.box is not None:
            self.box.close()
            self.box = None
        self._buf = b""

    @property
    def alive(self) -> bool:
        return self.box is not None and self.box.proc.poll() is None

    # ------------------------------------------------------------------- requests
    def _fail(self, kind: str, message: str) -> SandboxFault:
        fault = SandboxFault(kind, message)
        if self.fault is None:
            self.fault = fault
        if kind != "value" and self.box is not None:
            self.box.kill()
        return fault

    def request(self, op: str, **fields: Any) -> Any:
        if self.fault is not None:
            raise self.fault
        if self.box is None:
            raise self._fail("died", "the process running your code is gone")
        rid = self._next_id
        self._next_id += 1
        self.calls += 1
        if self.log is not None:
            self.log.append((op, fields))
        self._write(dumps({"id": rid, "op": op, **fields}))
        msg = self._read_message("a call into your code")
        if msg.get("id") != rid or ("ok" in msg) == ("err" in msg):
            raise self._fail("protocol", "the process running your code sent an unexpected "
                             "message (did your code write to the grader's pipe?)")
        if "err" in msg:
            raise _student_error(msg["err"])
        try:
            return decode(msg["ok"], self.enums)
        except BadValue as exc:
            what = {"new": "the constructor", "get": f"the attribute {fields.get('name')}",
                    "set": "setting an attribute"}.get(op, f"{fields.get('name')}()")
            raise self._fail("value", f"{what} returned {exc}; the grader accepts only plain "
                             "values of sensible size") from None

    def _write(self, data: bytes) -> None:
        assert self.box is not None
        view = memoryview(data)
        while view:
            try:  # a request fits in the pipe almost always: write first, wait only if full
                view = view[os.write(self.box.req_w, view):]
                continue
            except BlockingIOError:
                pass
            except OSError:
                raise self._fail("died", "") from None
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise self._fail("timeout", "")
            select.select([], [self.box.req_w], [], left)

    def _read_message(self, what: str) -> dict[str, Any]:
        assert self.box is not None
        while b"\n" not in self._buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise self._fail("timeout", what)
            r, _, _ = select.select([self.box.rep_r, self.box.out_r], [], [], left)
            if self.box.out_r in r:
                self._drain_output(0.0)
            if self.box.rep_r in r:
                try:
                    chunk = os.read(self.box.rep_r, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    self._drain_output(0.0)
                    raise self._fail("died", what)
                self._buf += chunk
                if len(self._buf) > MAX_MESSAGE and b"\n" not in self._buf:
                    raise self._fail("protocol", f"a message longer than {MAX_MESSAGE} bytes")
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            return loads(line)
        except BadValue as exc:
            raise self._fail("protocol", f"the process running your code sent {exc}") from None

    def _drain_output(self, wait: float) -> None:
        if self.box is None:
            return
        while True:
            try:
                chunk = os.read(self.box.out_r, 1 << 16)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            if self._printed_size < self.limits.output:
                self.printed.append(chunk.decode("utf-8", "replace"))
            self._printed_size += len(chunk)

    def printed_text(self) -> str:
        text = "".join(self.printed)
        if self._printed_size > self.limits.output:
            text += f"\n[... {self._printed_size} bytes printed in all]"
        return text

    # ------------------------------------------------------------------- the student's module
    def typed(self, name: str, value: Any) -> Any:
        """`value`, the result of attribute or method `name`, if of an allowed type."""
        allowed = self.returns.get(name)
        if allowed is None or any(value is None if t is None else isinstance(value, t)
                                  for t in allowed):
            return value
        names = " or ".join("None" if t is None else t.__name__ for t in allowed)
        if isinstance(value, Ref):  # an object that stays in the student's process
            raise self._fail("value", f"{name} gave an object of a class of yours; it must be "
                             f"{names}")
        raise self._fail("value", f"{name} gave a value of type {type(value).__name__} "
                         f"({repr(value)[:60]}); it must be {names}")

    def kind(self, name: str) -> str:
        return str(self.request("kind", name=name))

    def wrap(self, value: Any, what: str = "") -> Any:
        if isinstance(value, Ref):
            return RemoteObject(self, value.id, what)
        if isinstance(value, Method):
            raise self._fail("protocol", "an unexpected method value")
        if isinstance(value, list):
            return [self.wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self.wrap(v) for k, v in value.items()}
        return value


def _args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"args": [encode(a, _ref_of) for a in args],
                "kwargs": {k: encode(v, _ref_of) for k, v in kwargs.items()}}
    except TypeError as exc:
        raise TypeError(f"the grader cannot pass this argument to the student's code: {exc}"
                        ) from None


def _ref_of(obj: Any) -> int:
    if isinstance(obj, RemoteObject):
        return int(object.__getattribute__(obj, "_r_id"))
    raise TypeError(f"cannot send a {type(obj).__name__}")


class RemoteClass:
    """The student's class: calling it makes an instance in the sandbox."""

    def __init__(self, session: Session, name: str) -> None:
        self.session, self.__name__ = session, name

    def __call__(self, *args: Any, **kwargs: Any) -> RemoteObject:
        obj = self.session.wrap(self.session.request("new", name=self.__name__,
                                                     **_args(args, kwargs)), self.__name__)
        if not isinstance(obj, RemoteObject):
            raise self.session._fail("protocol", "the constructor returned a plain value")
        return obj

    def __repr__(self) -> str:
        return f"<your class {self.__name__}>"


class RemoteFunction:
    """One of the student's module-level functions."""

    def __init__(self, session: Session, name: str) -> None:
        self.session, self.__name__ = session, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        value = self.session.request("fn", name=self.__name__, **_args(args, kwargs))
        return self.session.wrap(value, f"result of {self.__name__}()")


class RemoteObject:
    """An instance of the student's class: attribute reads, writes and method calls are
    forwarded. Method names are remembered, so a call costs one round trip."""

    def __init__(self, session: Session, oid: int, cls: str) -> None:
        object.__setattr__(self, "_r_session", session)
        object.__setattr__(self, "_r_id", oid)
        object.__setattr__(self, "_r_cls", cls)
        object.__setattr__(self, "_r_bound", {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name.startswith("_r_"):
            raise AttributeError(name)
        bound = object.__getattribute__(self, "_r_bound")
        if name in bound:
            return bound[name]
        session: Session = object.__getattribute__(self, "_r_session")
        oid = object.__getattribute__(self, "_r_id")
        value = session.request("get", obj=oid, name=name)
        if isinstance(value, Method):
            method = _RemoteMethod(session, oid, name)
            bound[name] = method
            return method
        return session.wrap(session.typed(name, value), name)

    def __setattr__(self, name: str, value: Any) -> None:
        session: Session = object.__getattribute__(self, "_r_session")
        oid = object.__getattribute__(self, "_r_id")
        object.__getattribute__(self, "_r_bound").pop(name, None)
        session.request("set", obj=oid, name=name, value=encode(value, _ref_of))

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_r_cls')} object (your code)>"


def remote_size(obj: RemoteObject) -> int:
    """What the student's object holds, measured inside the sandbox
    (`netsim.grading.differential.values.footprint`): a plain non-negative int comes back,
    anything else costs the check."""
    session: Session = object.__getattribute__(obj, "_r_session")
    value = session.request("size", obj=object.__getattribute__(obj, "_r_id"))
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise session._fail("value", "measuring what your object holds gave "
                            f"{repr(value)[:60]}, not a count")
    return value


class _RemoteMethod:
    __slots__ = ("session", "oid", "name")

    def __init__(self, session: Session, oid: int, name: str) -> None:
        self.session, self.oid, self.name = session, oid, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        value = self.session.request("call", obj=self.oid, name=self.name,
                                     **_args(args, kwargs))
        return self.session.wrap(self.session.typed(self.name + "()", value),
                                 f"result of {self.name}()")
