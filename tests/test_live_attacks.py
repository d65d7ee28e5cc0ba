"""Under attack, live: floods written to the TAP of a namespace this test creates, against
`netsim live echo-server`, while a real client (Linux sockets in the namespace) keeps
connecting. Each flood is bounded (at most 30,000 frames in 0.4 s) and the namespace goes
away even when a test fails. Measured: the service the client gets during and right after
the flood, and the memory of the netsim process (RSS from /proc).

What is asserted: every probe started after a flood's last frame is served within 1 s; under
the 30,000-SYN spoofed flood at least 4 of every 5 probes started during it are served within
1 s, as Linux serves them (issue 23's bar; benchmarks/bench_syn_flood.py runs the same flood
against the kernel side by side); netsim's peak RSS grows by less than 64 MiB.
What makes that hold on a busy machine although Python answers a SYN in ~20 us of CPU, slower
than the flood's 75,000 a second: SYNs wait in netsim's SYN queue (netsim.live.synqueue) while
the frames of connections go to the stack at once; a SYN whose sender's MAC is known (a real
client on the link resolved netsim's address first, and netsim learned its own from that)
is answered ahead of the spoofed ones, whose SYN-ACKs would wait for ARP anyway; and while
the kernel's queue towards netsim is not drained, reading comes before answering the others
(a client's SYN the kernel has to drop costs it a 1 s retransmission). Other floods: the
service is back within 1 s of the flood's end, and all but one probe during it is served.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from live_helpers import HERE, NETSIM_IP, Netns, netns, running_netsim

pytestmark = pytest.mark.live

PORT = 8080
FLOOD_SECONDS = 0.4
RSS_GROWTH_LIMIT_KB = 64 * 1024  # what a flood may add to netsim's resident memory


@pytest.fixture
def ns(require_tool: Callable[[str], str]) -> Netns:  # type: ignore[misc]
    require_tool("ip")
    with netns() as created:
        yield created


def rss_kb(pid: int, field_name: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field_name} for process {pid}")


@dataclass
class Outcome:
    during: list[dict[str, Any]]  # probes started while the flood was being sent
    after: list[dict[str, Any]]  # probes started after its last frame
    rss_before: int
    rss_peak: int
    stats: dict[str, Any] = field(default_factory=dict)
    extra: str = ""

    def counter(self, name: str) -> int:
        return int(self.stats["counters"].get(name, 0))

    def describe(self) -> str:
        return json.dumps({"during": self.during, "after": self.after,
                           "rss_before_kb": self.rss_before, "rss_peak_kb": self.rss_peak,
                           "counters": self.stats.get("counters"), "extra": self.extra},
                          indent=1)


def fast(row: dict[str, Any], limit: float = 1.0) -> bool:
    return bool(row.get("ok")) and 0 <= float(row["total"]) < limit


def under_flood(ns: Netns, tmp_path: Path, kind: str, count: int, *netsim_args: str,
                hold: bool = False, probes: int = 10, interval: float = 0.1) -> Outcome:
    """Run the echo server, send the flood and probe the service; with `hold`, the flood is
    spoofed from the 4-tuple of a real connection opened first, which afterwards sends a
    message and must get its echo (`Outcome.extra`)."""
    stats = tmp_path / f"{kind}.json"
    procs: list[subprocess.Popen[str]] = []
    with running_netsim(ns, "echo-server", "--port", str(PORT), "--stats", str(stats),
                        "--quiet", *netsim_args) as sim:
        try:
            pid = sim.proc.pid  # ip netns exec execs python in place
            before = rss_kb(pid)
            target: list[str] = []
            holder = None
            if hold:
                holder = ns.popen(sys.executable, str(HERE), "hold-echo", NETSIM_IP,
                                  str(PORT), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                procs.append(holder)
                assert holder.stdout is not None
                line = holder.stdout.readline().split()
                assert line[:1] == ["port"], line
                target = [f"10.0.0.1:{line[1]}"]
            start = time.monotonic() + 2.5  # both helpers started and frames built by then
            flood = ns.popen(sys.executable, str(HERE), "flood", ns.tap, NETSIM_IP, kind,
                             str(count), str(FLOOD_SECONDS), f"{start:.6f}", str(PORT),
                             *target, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
            procs.append(flood)
            # the first probe 50 ms into the flood (the half-open queue is full by then)
            prober = ns.popen(sys.executable, str(HERE), "probe", NETSIM_IP, str(PORT),
                              str(probes), str(interval), f"{start + 0.05:.6f}",
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(prober)
            flood_out, flood_err = flood.communicate(timeout=60)
            probe_out, probe_err = prober.communicate(timeout=60)
            assert flood.returncode == 0, flood_err
            assert prober.returncode == 0, probe_err
            # and three more from right after the flood's end (a slow machine may send it
            # for longer than planned, past the probes above)
            late = ns.helper("probe", NETSIM_IP, str(PORT), "3", "0.1",
                             f"{time.monotonic() + 0.2:.6f}", "cold")
            extra = ""
            if holder is not None:
                extra, err = holder.communicate("go\n", timeout=15)
                extra += err
            words = flood_out.split()  # probe times count from start + 0.05
            begin, end = float(words[-3]) - start - 0.05, float(words[-1]) - start - 0.05
            peak = rss_kb(pid, "VmHWM")
            # (1: some connection ended in an error, e.g. a probe that gave up; not a crash)
            assert sim.stop() in (0, 1), sim.stderr
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
    rows = json.loads(probe_out)
    after = [r for r in rows if r["t"] >= end] + json.loads(late)
    return Outcome([r for r in rows if begin <= r["t"] < end], after,
                   before, peak, json.loads(stats.read_text()), extra.strip())


def check_service(out: Outcome, *, during_ok: int = 0, during_fast: int = 0) -> None:
    """Every probe started after the flood's end is served within 1 s; of those started
    during it, at least `during_ok` are served at all (within the probe's 3 s: a client's SYN
    that the flood pushed out of the TAP's queue is sent again after 1 s) and at least
    `during_fast` within 1 s; and memory stays bounded."""
    assert out.after, out.describe()
    assert all(fast(r) for r in out.after), out.describe()
    assert sum(bool(r["ok"]) for r in out.during) >= during_ok, out.describe()
    assert sum(fast(r) for r in out.during) >= during_fast, out.describe()
    assert out.rss_peak - out.rss_before < RSS_GROWTH_LIMIT_KB, out.describe()


def test_spoofed_syn_flood_30000_cookies_keep_serving(ns: Netns, tmp_path: Path) -> None:
    # probes 75 ms apart from 50 ms into the 0.4 s flood: 5 of them start during it
    out = under_flood(ns, tmp_path, "syn", 30000, probes=10, interval=0.075)
    assert len(out.during) >= 4, out.describe()
    # issue 23: 4 of 5 (or better) of the clients that try during the flood get in within
    # 1 s, as against Linux under the same flood
    check_service(out, during_fast=math.ceil(0.8 * len(out.during)))
    assert out.counter("tcp.syncookies_sent") >= 1000, out.describe()
    assert out.counter("tcp.syncookies_valid") >= 1, out.describe()
    assert out.counter("tcp.drop.syn_backlog_full") == 0


def test_spoofed_syn_flood_without_cookies_denies_service(ns: Netns, tmp_path: Path) -> None:
    """The contrast (and proof the test above can fail): with cookies off the half-open queue
    stays full of spoofed entries, and new clients are dropped."""
    out = under_flood(ns, tmp_path, "syn", 30000, "--syncookies", "0", probes=6,
                      interval=0.1)
    # once the queue is full of spoofed entries (by the flood's end), nobody gets in; (the
    # probes during the flood may: their SYNs go ahead of the spoofed ones, and the queue
    # fills only as fast as netsim answers those)
    assert not any(fast(r) for r in out.after), out.describe()
    assert out.counter("tcp.drop.syn_backlog_full") >= 1000, out.describe()
    assert out.counter("tcp.syncookies_sent") == 0


def test_ack_flood_to_the_listener_from_spoofed_sources(ns: Netns, tmp_path: Path) -> None:
    out = under_flood(ns, tmp_path, "ack", 20000, probes=6, interval=0.1)
    check_service(out, during_ok=len(out.during) - 1)
    assert out.counter("tcp.tx_rst") >= 1000, out.describe()  # RFC 9293 §3.10.7.2


@pytest.mark.parametrize("kind", ["ack", "rst", "data"])
def test_blind_flood_on_an_established_connection(ns: Netns, tmp_path: Path,
                                                  kind: str) -> None:
    """ACKs, RSTs or data with random sequence numbers, spoofed from the 4-tuple of a real
    connection: the connection survives (RFC 5961 §3 and §5), answers to segments without
    data are throttled (RFC 5961 §7: one per 0.5 s), and other clients are served."""
    out = under_flood(ns, tmp_path, kind, 20000, hold=True, probes=6, interval=0.1)
    check_service(out, during_ok=len(out.during) - 1)
    assert out.extra == "echo still here", out.describe()
    if kind != "data":
        # a few answers at most: a 0.4 s flood (plus the queue's tail) gets one or two
        answered = out.counter("tcp.challenge_ack") + out.counter("tcp.oow_ack_limited")
        assert out.counter("tcp.challenge_ack") <= 3, out.describe()
        if kind == "ack":
            assert out.counter("tcp.oow_ack_limited") >= 1000, out.describe()
        assert answered >= 1 or kind == "rst", out.describe()


def test_icmp_echo_flood(ns: Netns, tmp_path: Path) -> None:
    out = under_flood(ns, tmp_path, "icmp", 20000, probes=6, interval=0.1)
    check_service(out, during_ok=len(out.during) - 1)
    assert out.counter("icmp.rx") >= 1000, out.describe()


def test_arp_flood_from_many_senders_keeps_the_cache_bounded(ns: Netns, tmp_path: Path) -> None:
    out = under_flood(ns, tmp_path, "arp", 20000, probes=6, interval=0.1)
    check_service(out, during_ok=len(out.during) - 1)
    assert out.counter("arp.rx_request") >= 1000, out.describe()


# ---------------------------------------------------------------------- options via a cookie
def test_a_connection_from_a_cookie_uses_linux_s_window_scaling_sack_and_timestamps(
        ns: Netns, tmp_path: Path, require_tool: Callable[[str], str]) -> None:
    """With cookies always on, Linux's SYN (mss, sackOK, TS, wscale 7) gets a cookie SYN-ACK
    whose TSval carries wscale and SACK; the connection built from the returning ACK scales
    windows and uses SACK both ways (2% loss in each direction makes it need SACK)."""
    for tool in ("nc", "tshark", "tcpdump"):
        require_tool(tool)
    from live_helpers import tshark_fields

    data = bytes(range(256)) * 8192  # 2 MiB
    src, out = tmp_path / "data.bin", tmp_path / "echoed.bin"
    src.write_bytes(data)
    pcap, stats = tmp_path / "cookie.pcap", tmp_path / "stats.json"
    with running_netsim(ns, "echo-server", "--port", str(PORT), "--count", "1",
                        "--syncookies", "always", "--loss", "0.02", "--seed", "5",
                        "--min-rto", "20ms", "--pcap", str(pcap), "--stats", str(stats)) as sim:
        with src.open("rb") as fin, out.open("wb") as fout:
            proc = subprocess.run(["ip", "netns", "exec", ns.name, "nc", "-N", NETSIM_IP,
                                   str(PORT)], stdin=fin, stdout=fout, stderr=subprocess.PIPE,
                                  timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        assert sim.wait(timeout=60) == 0, sim.stderr
    assert out.read_bytes() == data
    counters = json.loads(stats.read_text())["counters"]
    assert counters["tcp.syncookies_sent"] == 1 and counters["tcp.syncookies_valid"] == 1
    fields = ("tcp.options.sack_perm", "tcp.options.timestamp.tsval",
              "tcp.options.wscale.shift")
    (syn,) = tshark_fields(pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 0", *fields)
    (synack,) = tshark_fields(pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 1", *fields)
    assert syn[0] and syn[1] and syn[2], f"Linux's SYN offers SACK, TS, wscale: {syn}"
    assert synack[0] and synack[2], f"the cookie SYN-ACK answers SACK and wscale: {synack}"
    assert int(synack[1]) & 0x3F == int(syn[2]) | 0x10  # the options, kept in the TSval
    # Window scaling: Linux had more than 64 KiB in flight towards netsim
    rows = tshark_fields(pcap, f"ip.src == {NETSIM_IP} && tcp.flags.syn == 0",
                         "tcp.window_size_value", "tcp.options.sack_le")
    assert any(int(r[0]) > 0 for r in rows)
    from test_live import bytes_in_flight_max

    assert bytes_in_flight_max(pcap, "10.0.0.1") > 65535
    assert any(r[1] for r in rows), "netsim's ACKs carry SACK blocks"
    assert counters.get("tcp.sack_recoveries", 0) >= 1, counters  # Linux's SACKs were used
