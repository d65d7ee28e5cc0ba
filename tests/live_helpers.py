"""Helpers for the live tests: a namespace with a TAP per test, netsim as a subprocess inside it,
and small Linux-side tools (ping, socket clients, raw frames) run inside the namespace.

Run as a script inside a namespace (``ip netns exec NS python tests/live_helpers.py ...``) it
provides those Linux-side tools:

    ping HOST COUNT                  ICMP echo over a raw socket; prints one RTT (ms) per reply
    echo-clients HOST PORT N PAR     N echo connections, PAR at a time; prints "ok N"
    raw-frames TAP DSTMAC [fuzz]     writes malformed frames (or, with fuzz, damaged TCP segments
                                     with good checksums) to TAP with AF_PACKET; prints count
    serve-echo PORT                  a Linux echo server for one connection; prints "ready" first
    hold HOST PORT                   connects, sends 1000 bytes, prints "connected", then waits
                                     for the server to end the connection: prints eof or reset
    flood TAP DSTIP KIND N SECONDS START PORT [SRC:SPORT]
                                     writes N attack frames of KIND (syn, ack, rst, arp, icmp,
                                     data) from spoofed 10.0.0.x sources (or all from SRC:SPORT)
                                     to DSTIP:PORT through TAP in about SECONDS from monotonic
                                     time START; prints "built", then "sent N from T1 to T2"
    probe HOST PORT N INTERVAL START [cold]
                                     N echo connections INTERVAL apart from monotonic time
                                     START (after one warm-up exchange, unless cold); prints a
                                     JSON list of {"t", "ok", "connect", "total"}
    hold-echo HOST PORT              connects, prints "port P", waits for a line on stdin, then
                                     sends a message and prints "echo MESSAGE" (or "error ...")
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETUP = REPO / "scripts" / "netns_setup.sh"
CAPTURE = REPO / "scripts" / "capture.sh"
HERE = Path(__file__).resolve()
KERNEL_IP = "10.0.0.1"
NETSIM_IP = "10.0.0.2"
NETSIM_MAC = "02:00:0a:00:00:02"  # netsim's default: 02:00 + the IPv4 address

#: The TCP ports the tests use; tshark shows their payload as plain data.
APP_PORTS = (7, 8080, 9000, 9001)

_counter = itertools.count(1)


# ---------------------------------------------------------------------- namespaces
@dataclass
class Netns:
    name: str
    tap: str = "tap0"
    mtu: int = 1500

    def run(self, *cmd: str, timeout: float = 30.0, check: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run `cmd` inside the namespace (bounded by `timeout`)."""
        proc = subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True,
                              timeout=timeout, check=False, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): "
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def popen(self, *cmd: str, **kw: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)  # type: ignore

    def helper(self, *args: str, timeout: float = 60.0) -> str:
        """Run this file as a script inside the namespace; returns its stdout."""
        return self.run(sys.executable, str(HERE), *args, timeout=timeout).stdout.decode()

    def wait_listening(self, port: int, timeout: float = 10.0) -> None:
        """Wait until a kernel socket listens on TCP `port` in the namespace."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.run("ss", "-Hltn", f"sport = :{port}", check=False).stdout
            if out.strip():
                return
            time.sleep(0.05)
        raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@contextmanager
def netns(mtu: int = 1500, tap: str = "tap0") -> Iterator[Netns]:
    """A fresh namespace with a TAP (kernel side 10.0.0.1/24), removed afterwards."""
    name = f"nstest-{os.getpid()}-{next(_counter)}"
    ns = Netns(name, tap, mtu)
    try:
        subprocess.run([str(SETUP), "up", "--ns", name, "--tap", tap, "--mtu", str(mtu)],
                       check=True, capture_output=True, timeout=30)
        yield ns
    finally:
        subprocess.run([str(SETUP), "down", "--ns", name], capture_output=True, timeout=30,
                       check=False)


# ---------------------------------------------------------------------- netsim subprocess
@dataclass
class Netsim:
    """`python -m netsim live ...` running inside a namespace, its output collected."""

    proc: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)
    stderr: str = ""

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._queue.put(raw.decode(errors="replace").rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        """Wait for an output line matching `pattern`; fail with the output so far."""
        rx = re.compile(pattern)
        for line in self.lines:
            m = rx.search(line)
            if m:
                return m
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.001))
            except queue.Empty:
                line = ""
                if left <= 0:
                    self._fail(f"no line matching {pattern!r} within {timeout} s")
            if line is None:
                self.proc.wait(timeout=10)
                self._fail(f"netsim exited ({self.proc.returncode}) before {pattern!r}")
            elif line:
                self.lines.append(line)
                m = rx.search(line)
                if m:
                    return m

    def _fail(self, why: str) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        raise AssertionError(f"{why}\n--- stdout\n" + "\n".join(self.lines) +
                             f"\n--- stderr\n{err}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        """Signal netsim (Ctrl-C), wait for it; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"netsim did not exit within {timeout} s; output:\n" +
                                 "\n".join(self.lines)) from None
        while True:  # drain the rest of stdout
            try:
                line = self._queue.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        if self.proc.stderr is not None:
            self.stderr = self.proc.stderr.read().decode(errors="replace")
        return int(self.proc.returncode)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def start_netsim(ns: Netns, *args: str) -> Netsim:
    """Start ``python -m netsim live ARGS --tap TAP`` inside `ns` (with ``ip netns exec``)."""
    # ip netns exec forwards signals to its child: it execs the command in place.
    proc = ns.popen(sys.executable, "-m", "netsim", "live", *args, "--tap", ns.tap,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(REPO))
    return Netsim(proc)


@contextmanager
def running_netsim(ns: Netns, *args: str, ready: str = r"listening|answering"
                   ) -> Iterator[Netsim]:
    """netsim started and ready; killed afterwards if the test did not stop it."""
    sim = start_netsim(ns, *args)
    try:
        sim.wait_for(ready)
        yield sim
    finally:
        if sim.proc.poll() is None:
            sim.proc.kill()
            sim.proc.wait(timeout=10)


@contextmanager
def capture(ns: Netns, path: Path) -> Iterator[None]:
    """tcpdump (scripts/capture.sh) on the namespace's TAP while the block runs."""
    proc = subprocess.Popen([str(CAPTURE), "--ns", ns.name, "--tap", ns.tap, "-w", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 10
        seen = b""
        while b"listening on" not in seen:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"tcpdump did not start: {seen.decode(errors='replace')}")
            seen += proc.stderr.readline()
        yield
    finally:
        time.sleep(0.2)  # the last frames
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# ---------------------------------------------------------------------- tshark
def tshark_fields(path: Path, display_filter: str, *fields: str,
                  transport_checksums: bool = True) -> list[list[str]]:
    """Rows of `fields` for the frames of `path` matching `display_filter` (checksums on; TCP
    and UDP ones off if not `transport_checksums`)."""
    check = "TRUE" if transport_checksums else "FALSE"
    cmd = ["tshark", "-n", "-r", str(path),
           "-o", "ip.check_checksum:TRUE", "-o", f"tcp.check_checksum:{check}",
           "-o", f"udp.check_checksum:{check}", "-o", "tcp.relative_sequence_numbers:FALSE",
           "-Y", display_filter, "-T", "fields"]
    for port in APP_PORTS:  # random payloads are not HTTP or anything else: plain data
        cmd += ["-d", f"tcp.port=={port},data"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


BAD_FRAME_FILTER = ("_ws.malformed || _ws.expert.severity == error || ip.checksum.status == 2"
                    " || tcp.checksum.status == 2 || icmp.checksum.status == 2"
                    " || udp.checksum.status == 2")


#: The same, but for the TCP and UDP checksums (see `tshark_problems`).
_BAD_BUT_TRANSPORT_CHECKSUMS = ("_ws.malformed || _ws.expert.severity == error"
                                " || ip.checksum.status == 2 || icmp.checksum.status == 2")


def tshark_problems(path: Path, extra: str = "", kernel_side: bool = False) -> list[list[str]]:
    """Frames tshark calls malformed or with a bad checksum (optionally restricted).

    `kernel_side`: `path` was captured on the kernel's side of the TAP (tcpdump, `capture`)
    while netsim had checksum offload on (its default, netsim.live.offload): the kernel's own
    TCP and UDP checksums are only filled in after that point (the capture shows the
    pseudo-header's sum), so on frames netsim did not send they are not checked; everything
    else is, and netsim's frames are checked whole."""
    only = f" && ({extra})" if extra else ""
    flt = f"({BAD_FRAME_FILTER}){only}"
    if not kernel_side:
        return tshark_fields(path, flt, "frame.number", "_ws.col.Info")
    ours = f"eth.src == {NETSIM_MAC}"
    theirs = (f"({_BAD_BUT_TRANSPORT_CHECKSUMS}){only} && !({ours})")
    return tshark_fields(path, f"{flt} && {ours}", "frame.number", "_ws.col.Info") + \
        tshark_fields(path, theirs, "frame.number", "_ws.col.Info", transport_checksums=False)


# ---------------------------------------------------------------------- Linux-side tools
def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ping(host: str, count: int, timeout: float = 2.0, interval: float = 0.01) -> list[float]:
    """ICMP echo with a raw socket (no `ping` binary needed); RTTs in ms of the replies."""
    rtts = []
    ident = os.getpid() & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        s.settimeout(timeout)
        for seq in range(count):
            payload = struct.pack("!d", time.monotonic()) + bytes(range(48))
            head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, _checksum(head + payload), ident, seq) + payload
            sent = time.monotonic()
            s.sendto(packet, (host, 0))
            while True:
                try:
                    data, _ = s.recvfrom(2048)
                except TimeoutError:
                    break
                ihl = (data[0] & 0x0F) * 4
                icmp = data[ihl:]
                typ, _code, _ck, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                if typ == 0 and rid == ident and rseq == seq and icmp[8:] == payload:
                    rtts.append((time.monotonic() - sent) * 1000)
                    break
            time.sleep(interval)
    return rtts


def echo_clients(host: str, port: int, total: int, parallel: int) -> int:
    """`total` short echo connections, `parallel` at a time; returns how many echoed right."""
    ok = 0
    lock = threading.Lock()
    ids = iter(range(total))

    def one(i: int) -> bool:
        msg = f"connection {i} ".encode() * (1 + i % 7)
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(msg)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        return got == msg

    def worker() -> None:
        nonlocal ok
        while True:
            with lock:
                i = next(ids, None)
            if i is None:
                return
            if one(i):
                with lock:
                    ok += 1

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return ok


def bad_frames(dst_mac: bytes, src_mac: bytes, src_ip: str, dst_ip: str) -> list[bytes]:
    """Malformed frames addressed to netsim: each must be dropped (and counted)."""
    import random

    rng = random.Random(7)
    src = socket.inet_aton(src_ip)
    dst = socket.inet_aton(dst_ip)
    eth = dst_mac + src_mac + b"\x08\x00"

    def ipv4(proto: int, payload: bytes, csum_ok: bool = True, total: int | None = None) -> bytes:
        length = 20 + len(payload) if total is None else total
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 1, 0, 64, proto, 0, src, dst)
        ck = _checksum(head) ^ (0 if csum_ok else 0x5555)
        return head[:10] + struct.pack("!H", ck) + head[12:] + payload

    def tcp_syn(csum_ok: bool) -> bytes:
        seg = struct.pack("!HHIIBBHHH", 40000, 8080, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        ck = _checksum(pseudo + seg) ^ (0 if csum_ok else 0x1234)
        return seg[:16] + struct.pack("!H", ck) + seg[18:]

    def icmp_echo(csum_ok: bool) -> bytes:
        body = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"x" * 16
        ck = _checksum(body) ^ (0 if csum_ok else 0x00FF)
        return body[:2] + struct.pack("!H", ck) + body[4:]

    frames = [
        eth + ipv4(6, tcp_syn(True))[:30],  # IPv4 header cut short (truncated frame)
        eth + ipv4(6, tcp_syn(True), total=400),  # total length beyond the frame
        eth + ipv4(6, tcp_syn(True), csum_ok=False),  # bad IPv4 header checksum
        eth + ipv4(6, tcp_syn(False)),  # bad TCP checksum
        eth + ipv4(1, icmp_echo(False)),  # bad ICMP checksum
        eth + ipv4(6, tcp_syn(True)[:12]),  # TCP header cut short
        eth + b"\x46" + bytes(19),  # IHL 6 but only 20 bytes, bad everything
        eth[:12] + b"\x08\x06" + bytes(10),  # truncated ARP
    ]
    for n in (20, 60, 200, 1000):  # random bytes after a valid Ethernet header
        frames.append(eth + rng.randbytes(n))
        frames.append(eth[:12] + b"\x08\x06" + rng.randbytes(n))
    for n in (14, 64, 500):  # completely random frames, but sent to netsim's MAC
        frames.append(dst_mac + rng.randbytes(n))
    return frames


def fuzzed_segments(dst_mac: bytes, src_mac: bytes, src_ip: str, dst_ip: str, port: int,
                    count: int) -> list[bytes]:
    """TCP segments to `port` with random damage in the TCP header and options but correct
    checksums, so that they reach the TCP parser and state machine."""
    import random

    rng = random.Random(11)
    src = socket.inet_aton(src_ip)
    dst = socket.inet_aton(dst_ip)
    options = (b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", 1, 0)
               + b"\x01\x03\x03\x07")
    frames = []
    for i in range(count):
        seg = bytearray(struct.pack("!HHIIBBHHH", 41000 + i, port, rng.getrandbits(32),
                                    rng.getrandbits(32), (5 + len(options) // 4) << 4,
                                    rng.choice((0x02, 0x10, 0x12, 0x18, 0x11, 0x04, 0xFF)),
                                    rng.getrandbits(16), 0, 0) + options + rng.randbytes(
                                        rng.randrange(0, 40)))
        for _ in range(rng.randrange(1, 6)):  # damage a few bytes (not the ports)
            seg[rng.randrange(4, len(seg))] = rng.getrandbits(8)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        seg[16:18] = b"\0\0"
        seg[16:18] = struct.pack("!H", _checksum(pseudo + bytes(seg)))
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), i, 0, 64, 6, 0, src, dst)
        head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
        frames.append(dst_mac + src_mac + b"\x08\x00" + head + bytes(seg))
    return frames


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                       64, proto, 0, src, dst)
    return head[:10] + struct.pack("!H", _checksum(head)) + head[12:] + payload


def _tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
         opts: bytes = b"", payload: bytes = b"") -> bytes:
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(opts) // 4) << 4, flags,
                      65535, 0, 0) + opts + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    return seg[:16] + struct.pack("!H", _checksum(pseudo + seg)) + seg[18:]


#: Linux's SYN options: mss 1460, sackOK, TS, nop, wscale 7
_SYN_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + bytes(8) + b"\x01\x03\x03\x07"


def flood_frames(kind: str, dst_mac: bytes, src_mac: bytes, dst_ip: str, count: int,
                 port: int = 8080, seed: int = 23,
                 source: tuple[str, int] | None = None) -> list[bytes]:
    """`count` attack frames to `dst_ip` from spoofed sources 10.0.0.3-254 (never the kernel's
    10.0.0.1), or all from `source` (address, port: blind attacks on one connection): SYNs,
    ACKs or RSTs with random sequence numbers, ARP requests (senders across 10/8), ICMP echo
    requests, or data segments (1000 bytes) with random sequence numbers."""
    import random

    rng = random.Random(seed)
    dst = socket.inet_aton(dst_ip)
    eth_ip = dst_mac + src_mac + b"\x08\x00"
    frames = []
    for i in range(count):
        src = bytes((10, 0, 0, 3 + rng.randrange(252)))
        sport = 1024 + rng.randrange(64000)
        if source is not None:
            src, sport = socket.inet_aton(source[0]), source[1]
        seq, ack = rng.getrandbits(32), rng.getrandbits(32)
        if kind == "syn":
            frames.append(eth_ip + _ipv4(src, dst, 6, _tcp(src, dst, sport, port, seq, 0, 0x02,
                                                           _SYN_OPTS), i))
        elif kind in ("ack", "rst", "data"):
            flags = {"ack": 0x10, "rst": 0x04, "data": 0x18}[kind]
            payload = bytes(1000) if kind == "data" else b""
            frames.append(eth_ip + _ipv4(src, dst, 6, _tcp(src, dst, sport, port, seq, ack,
                                                           flags, b"", payload), i))
        elif kind == "icmp":
            body = struct.pack("!BBHHH", 8, 0, 0, i & 0xFFFF, i & 0xFFFF) + bytes(56)
            body = body[:2] + struct.pack("!H", _checksum(body)) + body[4:]
            frames.append(eth_ip + _ipv4(src, dst, 1, body, i))
        elif kind == "arp":  # who-has dst_ip from many (spoofed) senders across 10/8
            mac = b"\x02\x11" + rng.randbytes(4)
            src = bytes((10, 1 + rng.randrange(254))) + rng.randbytes(2)
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, src, bytes(6), dst)
            frames.append(b"\xff" * 6 + mac + b"\x08\x06" + arp)
        else:
            raise ValueError(f"flood: unknown kind {kind!r}")
    return frames


def send_fast(tap: str, frames: Sequence[bytes], seconds: float,
              start: float) -> tuple[float, float]:
    """Write `frames` to `tap` from monotonic time `start`, spread evenly over about
    `seconds` (in bursts of 100); returns the monotonic times the first and last went."""
    n = len(frames)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((tap, 0))
        if start > time.monotonic():
            time.sleep(start - time.monotonic())
        start = time.monotonic()
        for i, frame in enumerate(frames):
            # ENOBUFS: the kernel's queue is full; the frame is lost
            with contextlib.suppress(OSError):
                s.send(frame)
            if i % 100 == 99:
                ahead = start + seconds * (i + 1) / n - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    return start, time.monotonic()


def probe(host: str, port: int, count: int, interval: float, start: float,
          limit: float = 3.0, warm: bool = True) -> list[dict[str, float | bool]]:
    """`count` echo connections, one starting every `interval` seconds from monotonic time
    `start` (each in its own thread, so a slow one does not delay the next); each may take
    `limit` seconds. Per connection: when it started (from `start`), whether it echoed
    right, and how long connect() and the whole exchange took."""
    out: list[dict[str, float | bool]] = [{} for _ in range(count)]
    # One exchange first, so both sides know each other's MAC (a client that talked to the
    # server before): an ARP reply would otherwise queue behind the flood.
    if warm:
        with socket.create_connection((host, port), timeout=limit) as s:
            s.sendall(b"warm-up")

    def one(i: int) -> None:
        wait = start + i * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        t0 = time.monotonic()
        row: dict[str, float | bool] = {"t": round(t0 - start, 3), "ok": False,
                                        "connect": -1.0, "total": -1.0}
        msg = b"probe %d" % i
        try:
            with socket.create_connection((host, port), timeout=limit) as s:
                row["connect"] = round(time.monotonic() - t0, 4)
                s.sendall(msg)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := s.recv(100):
                    got += chunk
                row["ok"] = got == msg
                row["total"] = round(time.monotonic() - t0, 4)
        except OSError:
            pass
        out[i] = row

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=start + count * interval + limit + 5 - time.monotonic())
    return out


def send_raw(tap: str, frames: Sequence[bytes]) -> int:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((tap, 0))
        for frame in frames:
            s.send(frame)
            time.sleep(0.002)
    return len(frames)


def _main(argv: list[str]) -> int:
    cmd = argv[0]
    if cmd == "ping":
        rtts = ping(argv[1], int(argv[2]))
        print(" ".join(f"{r:.3f}" for r in rtts))
        return 0
    if cmd == "echo-clients":
        print("ok", echo_clients(argv[1], int(argv[2]), int(argv[3]), int(argv[4])))
        return 0
    if cmd == "serve-echo":
        with socket.create_server(("0.0.0.0", int(argv[1]))) as srv:
            srv.settimeout(60)
            print("ready", flush=True)
            conn, _ = srv.accept()
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)
        return 0
    if cmd == "hold":
        with socket.create_connection((argv[1], int(argv[2])), timeout=30) as s:
            s.sendall(b"x" * 1000)
            print("connected", flush=True)
            try:
                while s.recv(65536):
                    pass
                print("eof", flush=True)
            except ConnectionResetError:
                print("reset", flush=True)
        return 0
    if cmd == "flood":
        tap, dst_ip, kind, n, secs = argv[1], argv[2], argv[3], int(argv[4]), float(argv[5])
        start, port = float(argv[6]), int(argv[7])
        source = None
        if len(argv) > 8:
            host, _, sport = argv[8].partition(":")
            source = (host, int(sport))
        dst_mac = bytes.fromhex(NETSIM_MAC.replace(":", ""))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            import fcntl
            info = fcntl.ioctl(s, 0x8927, tap.encode().ljust(40, b"\0"))
        frames = flood_frames(kind, dst_mac, bytes(info[18:24]), dst_ip, n, port,
                              source=source)
        print("built", flush=True)
        first, last = send_fast(tap, frames, secs, start)
        print(f"sent {n} from {first:.6f} to {last:.6f}", flush=True)
        return 0
    if cmd == "probe":
        import json
        print(json.dumps(probe(argv[1], int(argv[2]), int(argv[3]), float(argv[4]),
                               float(argv[5]), warm=argv[6:] != ["cold"])))
        return 0
    if cmd == "hold-echo":
        with socket.create_connection((argv[1], int(argv[2])), timeout=30) as s:
            print("port", s.getsockname()[1], flush=True)
            sys.stdin.readline()  # the attack happens now
            s.sendall(b"still here")
            s.settimeout(3)
            try:
                print("echo", s.recv(100).decode(errors="replace"), flush=True)
            except OSError as exc:
                print("error", type(exc).__name__, flush=True)
        return 0
    if cmd == "raw-frames":
        tap, dst = argv[1], bytes.fromhex(argv[2].replace(":", ""))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            import fcntl
            info = fcntl.ioctl(s, 0x8927, tap.encode().ljust(40, b"\0"))
        src = bytes(info[18:24])
        if argv[3:] == ["fuzz"]:
            frames = fuzzed_segments(dst, src, KERNEL_IP, NETSIM_IP, 8080, 300)
        else:
            frames = bad_frames(dst, src, KERNEL_IP, NETSIM_IP)
        print(send_raw(tap, frames))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
