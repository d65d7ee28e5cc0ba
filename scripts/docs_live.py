"""Live run blocks for scripts/refresh_docs.py: commands that need root, a TAP device and a
network namespace (lesson 7), run for real when this machine can, in namespaces of their own.

A run marker with ``live: NAME`` (``<!-- run: sudo scripts/netns_setup.sh up --ns lab ; live:
lab -->``) is such a command. Every command of the block then runs in ``bash`` as shown, with
three differences, all undone in the output:

- the namespace ``NAME`` is a fresh one (``nsdoc-PID-N``), one per markdown file, which
  ``LiveNamespaces.close`` removes even when a command failed, so a check never touches a
  namespace a reader or another test made;
- ``sudo`` is dropped (live blocks run only as root);
- ``python`` and ``netsim`` (also as ``.venv/bin/...``) are this interpreter's, with the checkout
  first on PYTHONPATH;
  ``scripts/`` is the checkout's (the commands run in the file's scratch directory).

A command ending in `` &`` starts in the background: its output up to its first line saying
``listening``, ``answering`` or ``ready`` is shown after it, the rest (once it exits at the end
of the block, or is stopped with SIGINT) after the block's last command, as a terminal would
show them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from netsim.testing.live_host import live_unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "netns_setup.sh"
READY = re.compile(r"listening|answering|ready")


def live_unavailable() -> str | None:
    """Why live blocks cannot run here, or None: the same conditions as the live tests."""
    return live_unavailable_reason()


class LiveError(Exception):
    """A live command failed, did not start, or did not finish in time."""


class LiveNamespaces:
    """The doc's namespace names, each mapped to a fresh namespace per markdown file."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], str] = {}

    def real(self, doc: str, name: str) -> str:
        key = (doc, name)
        if key not in self._made:
            self._made[key] = f"nsdoc-{os.getpid()}-{len(self._made) + 1}"
        return self._made[key]

    def names(self, doc: str) -> dict[str, str]:
        """{shown name: real name} for one markdown file."""
        return {shown: real for (d, shown), real in self._made.items() if d == doc}

    def close(self) -> None:
        for real in self._made.values():
            subprocess.run([str(SETUP), "down", "--ns", real], capture_output=True, timeout=30,
                           check=False)
        self._made.clear()


def _env() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    old = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT) + (os.pathsep + old if old else ""),
            "MPLBACKEND": "Agg"}


def _translate(command: str, names: dict[str, str]) -> str:
    command = re.sub(r"(?:(?<=^)|(?<=[\s|&;]))sudo\s+", "", command)
    command = re.sub(r"(?<![\w./-])python(?= )", sys.executable, command)
    # (a checkout's .venv/bin/python or netsim: those of this interpreter, as plain ones are)
    bindir = str(Path(sys.executable).parent)
    command = re.sub(r"(?<![\w./-])\.venv/bin/(python|netsim)(?= )",
                     lambda m: os.path.join(bindir, m.group(1)), command)
    for shown, real in names.items():
        command = re.sub(rf"(?<![\w./-]){re.escape(shown)}(?![\w./-])", real, command)
    return command


def _untranslate(text: str, names: dict[str, str]) -> str:
    for shown, real in names.items():
        text = text.replace(real, shown)
    return text


class _Background:
    """A command started with ``&``: its output collected line by line."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line)

    def wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                text = "".join(self.lines)
            if READY.search(text):
                return text
            if self.proc.poll() is not None:
                self._reader.join(timeout=5)
                raise LiveError(f"exited ({self.proc.returncode}) before it was ready:\n"
                                + "".join(self.lines))
            time.sleep(0.05)
        raise LiveError(f"not ready after {timeout} s:\n" + "".join(self.lines))

    def finish(self, timeout: float) -> tuple[str, int]:
        """Wait for the command to exit (SIGINT after `timeout`); its status and all output."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
        self._reader.join(timeout=10)
        return "".join(self.lines), int(self.proc.returncode)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def run_block(commands: list[str], cwd: Path, names: dict[str, str],
              timeout: float = 120.0) -> list[tuple[str, int]]:
    """Run a live block's commands in order; (output, status) for each, as a terminal shows
    them (a background command's later output after the last command's)."""
    if not (cwd / "scripts").exists():                 # commands name scripts/... as shown
        (cwd / "scripts").symlink_to(ROOT / "scripts")
    outputs: list[tuple[str, int]] = []
    background: list[tuple[int, _Background, int]] = []       # (index, command, shown chars)
    try:
        for command in commands:
            real = _translate(command, names)
            if real.rstrip().endswith("&"):
                bg = _Background(real.rstrip()[:-1], cwd)
                first = bg.wait_ready(timeout=30)
                background.append((len(outputs), bg, len(first)))
                outputs.append((first, 0))
                continue
            p = subprocess.run(["bash", "-c", real], cwd=cwd, env=_env(), text=True,
                               capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
            outputs.append((p.stdout if p.returncode == 0 else p.stdout + p.stderr,
                            p.returncode))
            if p.returncode:
                break
        for index, bg, seen in background:
            text, status = bg.finish(timeout=20)
            if status:
                outputs[index] = (text, status)           # the failure, in full
            else:
                last, last_status = outputs[-1]
                outputs[-1] = (last + text[seen:], last_status)
    finally:
        for _, bg, _ in background:
            bg.stop()
    return [(_untranslate(text, names), status) for text, status in outputs]
