"""Assignment 10 live: a TcpPeer (netsim's `LabPeer` or a student's) as an echo server on a
TAP, against the Linux kernel's TCP.

`run_live` is ``python -m netsim.labrun peer-live tcp_peer.py``: as root, it makes a network
namespace with a TAP (scripts/netns_setup.sh: the kernel's side is 10.0.0.1), runs netsim
live inside it as 10.0.0.2 with the peer listening on a port (`serve`, in a child process:
``python -m netsim.labrun peer-live-serve``), has Linux's ``nc`` send `nbytes` to it and read
the echo back, compares the two byte for byte and prints one line. The namespace is removed
afterwards, whatever happened.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from netsim import argcheck
from netsim.errors import UsageError
from netsim.live.host import LiveConfig, LiveHost
from netsim.stack.tcp.peer_adapter import PeerConnection, PeerFactory, listen_peer

__all__ = ["run_live", "serve"]

NETSIM_IP = "10.0.0.2"
PORT = 7  # the echo port (RFC 862)
SETUP = Path(__file__).resolve().parent.parent.parent / "scripts" / "netns_setup.sh"


def serve(factory: PeerFactory, *, tap: str = "tap0", port: int = PORT,
          initial_rto: float = 0.2, trace: str | None = None, limit: float = 120.0) -> int:
    """Run netsim live on `tap` with peers from `factory` echoing on `port` until the first
    connection ends (or `limit` seconds pass); print "ready", then one "result {json}" line.
    Exit status 0 when the connection closed cleanly."""
    argcheck.callable_("factory", factory, "a class or function making a TcpPeer")
    port = argcheck.port("port", port)
    initial_rto = argcheck.seconds("initial_rto", initial_rto, positive=True)
    limit = argcheck.seconds("limit", limit, positive=True)
    host = LiveHost(LiveConfig(tap=tap, ip=f"{NETSIM_IP}/24", trace=trace))
    try:
        rng = random.Random()
        conns: list[PeerConnection] = []
        echoed = [0]
        closing: set[int] = set()

        def echo(conn: PeerConnection) -> None:
            """The echo application (RFC 862): every byte read is written back; at the end of
            the other side's stream, close ours."""
            data = conn.read()
            if data:
                echoed[0] += len(data)
                conn.write(data)
            if id(conn) not in closing and conn.at_eof():
                closing.add(id(conn))
                conn.close()

        def opened(conn: PeerConnection) -> None:
            conns.append(conn)
            conn.notify = echo

        listen_peer(host.stack, port, factory, isn=lambda: rng.randrange(1 << 32),
                    initial_rto=initial_rto, on_open=opened)
        env = host.env

        def wait() -> Any:
            deadline = env.now + limit
            while env.now < deadline and not (conns and conns[0].closed):
                yield env.timeout(0.05)

        print("ready", flush=True)
        host.run(wait(), linger=0.5)
        conn = conns[0] if conns else None
        result = {
            "echoed": echoed[0],
            "segments": conn.segs_out if conn else 0,
            "retransmissions": conn.retransmissions if conn else 0,
            "closed": bool(conn and conn.closed and conn.error is None and not conn.reset
                           and not conn.rst_sent),
            "error": str(conn.error) if conn and conn.error else
            ("" if conn else "no connection arrived"),
            "conn": conn.name if conn else "",
        }
        if conn is not None and not conn.closed and not result["error"]:
            result["error"] = f"the connection was still open after {limit:g} s"
        print("result " + json.dumps(result), flush=True)
        return 0 if result["closed"] else 1
    finally:
        host.close()


def run_live(spec: str, *, nbytes: int = 1_000_000, seed: int = 1, timeout: float = 120.0,
             plot: str | None = None) -> int:
    """The whole live check of the module doc; prints one line; 0 when the echo came back
    byte-exact and the peer closed cleanly."""
    argcheck.path("spec", spec, "tcp_peer.py")  # (checked before the namespace is made)
    nbytes = argcheck.whole("nbytes", nbytes, what="a number of bytes")
    timeout = argcheck.seconds("timeout", timeout, positive=True)
    if plot is not None:
        argcheck.path("plot", plot, "peer.png")
    if os.geteuid() != 0:
        raise UsageError("peer-live: needs root (it creates a network namespace and a TAP); "
                         "run it with sudo")
    for tool in ("ip", "nc"):
        if shutil.which(tool) is None:
            raise UsageError(f"peer-live: the '{tool}' command is not installed")
    if not SETUP.is_file():
        raise UsageError(f"peer-live: {SETUP} is missing (it needs a checkout of netsim)")
    ns = f"netsim-peer-{os.getpid()}"
    data = random.Random(seed).randbytes(nbytes)
    with tempfile.TemporaryDirectory(prefix="netsim-peer-live-") as tmp:
        sent, got = Path(tmp) / "sent.bin", Path(tmp) / "got.bin"
        sent.write_bytes(data)
        trace = str(Path(tmp) / "trace.jsonl") if plot else None
        server: subprocess.Popen[bytes] | None = None
        try:
            subprocess.run([str(SETUP), "up", "--ns", ns], check=True, capture_output=True,
                           timeout=60)
            cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "netsim.labrun",
                   "peer-live-serve", spec, "--limit", str(timeout)]
            if trace:
                cmd += ["--trace", trace]
            server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env={**os.environ, "PYTHONPATH": _pythonpath()})
            assert server.stdout is not None
            first = server.stdout.readline().decode(errors="replace").strip()
            if first != "ready":
                server.wait(timeout=30)
                err = server.stderr.read().decode(errors="replace").strip() if server.stderr \
                    else ""
                print(f"peer-live: netsim did not start: {err or first}", file=sys.stderr)
                return 2
            started = time.monotonic()
            with sent.open("rb") as src, got.open("wb") as dst:
                nc = subprocess.Popen(["ip", "netns", "exec", ns, "nc", "-N", NETSIM_IP,
                                       str(PORT)], stdin=src, stdout=dst,
                                      stderr=subprocess.DEVNULL)
                nc_status = _wait_nc(nc, server, started + timeout)
            seconds = time.monotonic() - started
            out, _ = server.communicate(timeout=timeout)
            line = next((x for x in out.decode(errors="replace").splitlines()
                         if x.startswith("result ")), "result {}")
            result = json.loads(line[len("result "):])
        except subprocess.TimeoutExpired as exc:
            print(f"peer-live: timed out after {exc.timeout:g} s", file=sys.stderr)
            return 1
        except subprocess.CalledProcessError as exc:  # netns_setup.sh up said why
            why = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
            print(f"peer-live: {why[-1] if why else exc}", file=sys.stderr)
            return 2
        finally:
            if server is not None and server.poll() is None:
                server.kill()
                server.wait(timeout=30)
            subprocess.run([str(SETUP), "down", "--ns", ns], capture_output=True, timeout=60,
                           check=False)
        back = got.read_bytes()
        exact = back == data
        ok = exact and nc_status == 0 and bool(result.get("closed"))
        print(f"peer-live: {len(back)} of the {len(data)} bytes nc sent came back, "
              f"{'byte-exact' if exact else 'NOT byte-exact'}, in {seconds:.2f} s; the peer "
              f"sent {result.get('segments', 0)} segments ({result.get('retransmissions', 0)} "
              f"retransmitted), closed cleanly={bool(result.get('closed'))}"
              + (f"; error: {result['error']}" if result.get("error") else "")
              + (f"; nc exited {nc_status}" if nc_status else ""))
        if plot and trace and result.get("conn"):
            _plot(trace, str(result["conn"]), plot)
        return 0 if ok else 1


def _wait_nc(nc: subprocess.Popen[bytes], server: subprocess.Popen[bytes],
             deadline: float) -> int:
    """nc's exit status; nc is stopped at `deadline`, or 5 s after netsim's side ended (a
    peer that stopped answering leaves nc waiting for its retransmissions to give up)."""
    server_ended: float | None = None
    while nc.poll() is None:
        now = time.monotonic()
        if server_ended is None and server.poll() is not None:
            server_ended = now
        if now > deadline or server_ended is not None and now > server_ended + 5:
            nc.kill()
            nc.wait(timeout=30)
            break
        time.sleep(0.05)
    return nc.returncode


def _pythonpath() -> str:
    """The child finds this same netsim (a checkout run without installing it included)."""
    root = str(Path(__file__).resolve().parent.parent.parent)
    rest = os.environ.get("PYTHONPATH", "")
    return root + (os.pathsep + rest if rest else "")


def _plot(trace: str, conn: str, out: str) -> None:
    from netsim.trace.export import read_jsonl
    from netsim.trace.plots.timeseq import plot_time_sequence

    fig = plot_time_sequence(read_jsonl(trace), conn, title=f"the peer's connection {conn}")
    fig.savefig(out)
    print(f"time-sequence graph: {out}")
