"""Start, watch and kill the sandboxed process that holds a student's code.

What the sandbox uses depends on what the machine allows; `features()` finds out once and the
report says which parts were unavailable:

- always: its own session and process group, an empty temporary working directory holding a
  copy of the student's file, a minimal environment, resource limits (CPU seconds, address
  space per process, file size, open files), stdout and stderr captured;
- as root with a working ``unshare``: its own PID namespace (when the process at its top ends,
  the kernel kills every process in it, also those that called setsid), its own network
  namespace (no network at all) and mount namespace (its own /proc; the teachers' folder,
  the submission's folder and a batch's folder covered: netsim.grading.host);
- as root: an unprivileged uid of its own (no account has it) with a process count limit;
- with a writable cgroup hierarchy (v2, or v1 ``pids`` and ``memory``): memory and process
  count summed over all of the student's processes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

#: As root, each sandbox runs as a uid of its own, drawn from this range (no account has these
#: uids): sandboxes graded side by side (``--batch -j N``) cannot enter each other's folders,
#: and the process limit counts one sandbox's processes only.
SANDBOX_UIDS = range(0x6000_0000, 0x7000_0000)
MAX_HELPERS = 20  # .py files copied along with the student's file (its helper modules)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student's sandbox."""

    memory: int = 1 << 30  # bytes, summed over processes with a cgroup (else per process)
    address_space: int = 2 << 30  # bytes of virtual memory per process (RLIMIT_AS)
    processes: int = 64  # processes and threads
    cpu_seconds: int = 300  # per process, over all checks (wall time is limited per check)
    file_size: int = 16 << 20  # bytes of any file written
    open_files: int = 64
    output: int = 20_000  # characters of stdout/stderr kept per check


@dataclass(frozen=True)
class Features:
    root: bool
    namespaces: bool  # PID, network and mount namespaces via unshare
    cgroup: str  # "v2", "v1" or ""
    cgroup_parents: tuple[str, ...] = field(default=())

    def missing(self) -> list[str]:
        """One sentence per protection that is not available here."""
        out = []
        if not self.root:
            out.append("not run as root: the student's code runs under your own uid (it "
                       "can read and change your files) and shares your network")
        elif not self.namespaces:
            out.append("no PID/network namespace (unshare failed): a process that calls "
                       "setsid() can outlive its check, and the network is reachable")
        if not self.cgroup:
            out.append("no writable cgroup: memory is limited per process (RLIMIT_AS), not "
                       "summed over the student's processes")
        return out


@cache
def features() -> Features:
    root = os.geteuid() == 0
    namespaces = False
    if root and shutil.which("unshare"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            namespaces = subprocess.run(
                [*_UNSHARE, "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=10, start_new_session=True).returncode == 0
    kind, parents = _cgroup_parents() if root else ("", ())
    return Features(root, namespaces, kind, parents)


_UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--net"]


def _cgroup_parents() -> tuple[str, tuple[str, ...]]:
    """Where to make a cgroup per sandbox: ("v2", (dir,)) or ("v1", (pids dir, memory dir))."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "", ()
    paths = {}
    for line in lines:
        _, ctrl, path = line.split(":", 2)
        paths[ctrl] = path
    base = Path("/sys/fs/cgroup")
    v2 = base / paths.get("", "/").lstrip("/")
    if (base / "cgroup.controllers").exists():
        ctrls = (v2 / "cgroup.controllers").read_text() if (v2 / "cgroup.controllers"
                                                             ).exists() else ""
        if {"memory", "pids"} <= set(ctrls.split()) and _writable(v2):
            return "v2", (str(v2),)
        return "", ()
    pids = base / "pids" / paths.get("pids", "/").lstrip("/")
    mem = base / "memory" / paths.get("memory", "/").lstrip("/")
    if _writable(pids) and _writable(mem):
        return "v1", (str(pids), str(mem))
    return "", ()


def _writable(d: Path) -> bool:
    probe = d / f"netsim-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False


def _write(path: Path, text: str) -> None:
    with contextlib.suppress(OSError):
        path.write_text(text)


class Sandbox:
    """One running host process (`netsim.grading.host`) and everything it starts."""

    def __init__(self, source: Path, limits: Limits, feats: Features | None = None,
                 python: str | None = None, siblings: bool = False) -> None:
        self.limits = limits
        self.features = feats or features()
        self.work = Path(tempfile.mkdtemp(prefix="netsim-grade-"))
        self.filename = source.name
        files = [source]
        if siblings:  # the student's helper modules next to the file (a folder of their own)
            more = sorted(p for p in source.parent.glob("*.py") if p != source and p.is_file()
                          and not p.is_symlink() and p.stat().st_size <= 256 * 1024)
            files += more[:MAX_HELPERS] if len(more) <= MAX_HELPERS else []
        uid = secrets.choice(SANDBOX_UIDS) if self.features.root else None
        for f in files:
            shutil.copyfile(f, self.work / f.name)
            if uid is not None:
                os.chown(self.work / f.name, uid, uid)
        if uid is not None:
            os.chown(self.work, uid, uid)
        self.cgroups: list[Path] = []
        tag = f"netsim-grade-{os.getpid()}-{id(self):x}-{time.monotonic_ns() % 10**9}"
        for parent in self.features.cgroup_parents:
            d = Path(parent, tag)
            try:
                d.mkdir()
            except OSError:
                continue
            self.cgroups.append(d)
            if self.features.cgroup == "v2" or "memory" in parent:
                _write(d / ("memory.max" if self.features.cgroup == "v2"
                            else "memory.limit_in_bytes"), str(limits.memory))
                _write(d / "memory.swap.max", "0")
            if self.features.cgroup == "v2" or "pids" in parent:
                _write(d / "pids.max", str(limits.processes))
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        cmd = [python or sys.executable, "-m", "netsim.grading.host", "--file", self.filename,
               "--fd", str(rep_w), "--cpu", str(limits.cpu_seconds),
               "--memory", str(limits.address_space), "--nproc", str(limits.processes),
               "--fsize", str(limits.file_size), "--nofile", str(limits.open_files)]
        if uid is not None:
            cmd += ["--uid", str(uid)]
        for d in self.cgroups:
            cmd += ["--cgroup", str(d)]
        if self.features.namespaces:
            # the folder the file came from (other files of a batch: other submissions), and
            # for a submission in a folder of its own, the batch folder around it
            hide = [source.resolve().parent, *([source.resolve().parent.parent] if siblings
                                               else [])]
            cmd = [*_UNSHARE, "--", *cmd, "--private-mounts",
                   *(arg for d in hide for arg in ("--hide", str(d)))]
        import netsim
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.work),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
               "PYTHONUNBUFFERED": "1",  # a print shows under the check that made it
               "PYTHONPATH": str(Path(netsim.__file__).resolve().parent.parent)}
        try:
            self.proc = subprocess.Popen(cmd, stdin=req_r, stdout=out_w, stderr=out_w,
                                         pass_fds=(rep_w,), cwd=self.work, env=env,
                                         start_new_session=True)
        except OSError:
            for fd in (self.req_w, self.rep_r, self.out_r):
                os.close(fd)
            for d in self.cgroups:
                with contextlib.suppress(OSError):
                    d.rmdir()
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        finally:
            for fd in (req_r, rep_w, out_w):
                os.close(fd)
        for fd in (self.req_w, self.rep_r, self.out_r):
            os.set_blocking(fd, False)
        self.closed = False
        self._ns: str | None = None

    # ------------------------------------------------------------------- processes
    def _pid_ns(self) -> str | None:
        if self._ns is None and self.features.namespaces:
            with contextlib.suppress(OSError):
                self._ns = os.readlink(f"/proc/{self.proc.pid}/ns/pid_for_children")
        return self._ns

    def processes(self) -> set[int]:
        """Every live process the sandbox holds (the host included), as far as can be seen:
        by PID namespace, cgroup, and process group."""
        found: set[int] = set()
        ns = self._pid_ns()
        for d in self.cgroups:
            with contextlib.suppress(OSError, ValueError):
                found |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                in_ns = ns is not None and os.readlink(f"/proc/{pid}/ns/pid") == ns
                if in_ns or os.getpgid(pid) == self.proc.pid:
                    found.add(pid)
            except OSError:
                continue
        return {p for p in found if _alive(p)}

    def host_pid(self) -> int | None:
        if not self.features.namespaces:
            return self.proc.pid
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat_ = Path(f"/proc/{entry}/stat").read_text()
                    if int(stat_.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                        return int(entry)
        return None

    def extra_processes(self) -> set[int]:
        """Processes the student's code started (the host itself not counted)."""
        host = self.host_pid()
        return self.processes() - {host, self.proc.pid}

    def kill(self, deadline: float = 2.0) -> bool:
        """Kill everything; True when nothing is left (within `deadline` seconds)."""
        end = time.monotonic() + deadline
        while True:
            for d in self.cgroups:
                _write(d / "cgroup.kill", "1")
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.proc.kill()
            left = self.processes() - {self.proc.pid}
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.05)
            if not left and self.proc.returncode is not None:
                return True
            if time.monotonic() > end:
                return False
            time.sleep(0.01)

    def close(self) -> None:
        """Kill everything, close the pipes, remove the cgroups and the working folder."""
        if self.closed:
            return
        self.closed = True
        self.kill()
        for fd in (self.req_w, self.rep_r, self.out_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        for d in self.cgroups:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)
        shutil.rmtree(self.work, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
