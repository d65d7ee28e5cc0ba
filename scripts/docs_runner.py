"""Running the commands and Python snippets of scripts/refresh_docs.py's run blocks: netsim in
this process, other tools as subprocesses, live blocks through scripts/docs_live.py; pure
simulations are cached across files."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import docs_live
from docs_markers import Block, DocError, Run

if TYPE_CHECKING:
    from docs_values import Result

ROOT = Path(__file__).resolve().parent.parent
NETSIM = ("netsim", ".venv/bin/netsim")


class MissingTool(Exception):
    """A command needs a system tool this machine lacks."""


class LiveUnavailable(Exception):
    """A live block cannot run on this machine (not root, no /dev/net/tun, no ``ip``)."""


@dataclass
class Output:
    text: str
    status: int


class Runner:
    """Runs commands and snippets; pure simulations are cached across files."""

    def __init__(self) -> None:
        self._shared: dict[str, Output] = {}
        self._local: dict[tuple[Path, str], Output] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="netsim-docs-"))
        self._dirs: dict[Path, Path] = {}
        self.named: dict[str, Output] = {}            # "lessons/x.md#id" -> its output
        self.live_skipped: set[str] = set()           # ids of live runs that could not run
        self.results: dict[Path, Result] = {}         # each file regenerated once (live runs)
        self._namespaces = docs_live.LiveNamespaces()

    def close(self) -> None:
        try:
            self._namespaces.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def run_block(self, doc: Path, block: Block) -> list[Output]:
        """The outputs of a block's runs (a live block's all at once, in order)."""
        live = [r.opt("live") for r in block.runs if r.opt("live")]
        if not live:
            return [self.run(doc, run) for run in block.runs]
        reason = docs_live.live_unavailable()
        if reason:
            raise LiveUnavailable(reason)
        rel = doc.as_posix()
        names = {name: self._namespaces.real(rel, name) for name in live}
        names |= self._namespaces.names(rel)
        try:
            results = docs_live.run_block([r.command for r in block.runs], self.workdir(doc),
                                          names)
        except (docs_live.LiveError, subprocess.TimeoutExpired) as exc:
            raise DocError(f"{doc.name}: live block failed: {exc}") from None
        outputs = []
        for run, (text, status) in zip(block.runs, results, strict=False):
            want = int(run.opt("exit", "0"))
            if status != want:
                raise DocError(f"{doc.name}: `{run.command}` exited with status {status}, "
                               f"not {want}:\n{text}")
            outputs.append(Output(text, status))
        if len(outputs) != len(block.runs):
            stopped = block.runs[len(outputs) - 1].command
            raise DocError(f"{doc.name}: live block stopped after `{stopped}`")
        return outputs

    def workdir(self, doc: Path) -> Path:
        if doc not in self._dirs:
            d = self._tmp / f"{len(self._dirs):02d}-{doc.stem}"
            d.mkdir()
            self._dirs[doc] = d
        return self._dirs[doc]

    def run(self, doc: Path, run: Run) -> Output:
        cwd = self.workdir(doc)
        for pair in filter(None, (p.strip() for p in run.opt("files").split(","))):
            src, _, dest = pair.partition("=")
            target = cwd / (dest or Path(src).name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(ROOT / src, target)
        key = run.command if run.command != "python" else "python:" + run.code
        local = (doc, key)                      # a command repeated in one file runs once
        if _is_pure(run.command):
            if key not in self._shared:
                self._shared[key] = self._execute(run, cwd)
            out = self._shared[key]
        else:
            if local not in self._local or run.opt("files"):
                self._local[local] = self._execute(run, cwd)
            out = self._local[local]
        want = int(run.opt("exit", "0"))
        if out.status != want:
            raise DocError(f"{doc.name}: `{run.command if run.command != 'python' else run.code}`"
                           f" exited with status {out.status}, not {want}:\n{out.text}")
        return out

    def _execute(self, run: Run, cwd: Path) -> Output:
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": _pythonpath()}
        if run.command == "python":
            p = subprocess.run([sys.executable, "-c", run.code], cwd=cwd, env=env, text=True,
                               capture_output=True, timeout=300)
            text = p.stdout if p.returncode == 0 else p.stdout + p.stderr
            return Output(text, p.returncode)
        parts = _split_unquoted(run.command, " && ")
        if len(parts) > 1:                      # like the shell: both outputs, stop at a failure
            text = ""
            for part in parts:
                out = self._execute(Run(part.strip(), run.options), cwd)
                text += out.text
                if out.status:
                    return Output(text, out.status)
            return Output(text, 0)
        pipeline = [s.strip() for s in _split_unquoted(run.command, " | ")]
        argv = shlex.split(pipeline[0])
        if argv[0] in NETSIM:
            text, status = _netsim_in_process(argv[1:], cwd)
        else:
            if argv[0] == "python":
                argv[0] = sys.executable
            tool = run.opt("needs") or argv[0]
            if argv[0] != sys.executable and shutil.which(argv[0]) is None:
                raise MissingTool(tool)
            p = subprocess.run(argv, cwd=cwd, env=env, text=True, capture_output=True,
                               timeout=300)
            text, status = p.stdout, p.returncode
        for stage in pipeline[1:]:
            m = re.fullmatch(r"head -(\d+)", stage)
            if not m:
                raise DocError(f"only `| head -N` may follow a command, not {stage!r}")
            text = "".join(text.splitlines(keepends=True)[:int(m.group(1))])
        return Output(text, status)


def _split_unquoted(command: str, sep: str) -> list[str]:
    """``command`` split at each ``sep`` that is not inside quotes."""
    parts, start, quote, i = [], 0, "", 0
    while i < len(command):
        c = command[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif command.startswith(sep, i):
            parts.append(command[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    return parts + [command[start:]]


def _pythonpath() -> str:
    old = os.environ.get("PYTHONPATH", "")
    return str(ROOT) + (os.pathsep + old if old else "")


def _is_pure(command: str) -> bool:
    """A netsim simulation that neither reads nor writes files: the same anywhere."""
    argv = command.split()
    return (len(argv) > 1 and argv[0] in NETSIM and argv[1] in {"sim", "echo", "ping",
                                                                "traceroute"}
            and not any(a.startswith(("--pcap", "--plot", "--trace", "--out")) or ".py:" in a
                        for a in argv))


def _netsim_in_process(argv: list[str], cwd: Path) -> tuple[str, int]:
    from netsim.cli import main
    buf, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(old)
    text = buf.getvalue()
    return (text if status == 0 else text + err.getvalue()), status
