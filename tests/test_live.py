"""Live mode: netsim's stack on a TAP device in a network namespace, against the Linux kernel.

Each test makes its own namespace (``nstest-PID-N``) with a TAP whose kernel side is
10.0.0.1/24, runs ``python -m netsim live ...`` inside it as 10.0.0.2, drives it with Linux
tools (``nc``, Python sockets, raw AF_PACKET frames, nftables) and removes the namespace even
when the test fails. Nothing outside those namespaces is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from live_helpers import (
    KERNEL_IP,
    NETSIM_IP,
    NETSIM_MAC,
    Netns,
    capture,
    netns,
    running_netsim,
    start_netsim,
    tshark_fields,
    tshark_problems,
)

pytestmark = pytest.mark.live

MB10 = 10 * 1024 * 1024


@pytest.fixture
def tools(require_tool: Callable[[str], str]) -> None:
    for tool in ("nc", "tshark", "tcpdump", "ss"):
        require_tool(tool)


@pytest.fixture
def ns() -> Netns:  # type: ignore[misc]
    with netns() as created:
        yield created


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live") / "payload.bin"
    path.write_bytes(os.urandom(MB10))
    return path


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def nc_echo(ns: Netns, payload: Path, out: Path, port: int, timeout: float = 90) -> None:
    """Linux `nc` sends `payload` to netsim's echo server and writes what comes back to `out`."""
    with payload.open("rb") as src, out.open("wb") as dst:
        proc = subprocess.run(["ip", "netns", "exec", ns.name, "nc", "-N", NETSIM_IP, str(port)],
                              stdin=src, stdout=dst, stderr=subprocess.PIPE, timeout=timeout,
                              check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def rst_frames(pcap: Path) -> list[list[str]]:
    return tshark_fields(pcap, "tcp.flags.reset == 1", "frame.number", "ip.src")


# ---------------------------------------------------------------------- ARP and ping
def test_kernel_ping_gets_replies_with_correct_checksums(ns: Netns, tools: None,
                                                         tmp_path: Path) -> None:
    pcap = tmp_path / "ping.pcap"
    with capture(ns, pcap), running_netsim(ns, "up") as sim:
        rtts = ns.helper("ping", NETSIM_IP, "20").split()
        assert sim.stop() == 0
    assert len(rtts) == 20, f"replies to 20 pings: {rtts}"
    replies = tshark_fields(pcap, f"icmp.type == 0 && ip.src == {NETSIM_IP}",
                            "icmp.checksum.status", "ip.checksum.status")
    assert len(replies) == 20
    assert all(row == ["1", "1"] for row in replies), replies  # 1: checksum good
    arp = tshark_fields(pcap, f"arp.opcode == 2 && arp.src.proto_ipv4 == {NETSIM_IP}",
                        "arp.src.hw_mac")
    assert arp and arp[0][0] == NETSIM_MAC, "netsim answered the kernel's ARP request"
    assert tshark_problems(pcap) == []


# ---------------------------------------------------------------------- bulk TCP
def test_nc_to_echo_server_10mb_round_trip_closes_cleanly(ns: Netns, tools: None,
                                                          payload: Path, tmp_path: Path) -> None:
    pcap = tmp_path / "echo.pcap"
    out = tmp_path / "echoed.bin"
    with running_netsim(ns, "echo-server", "--port", "8080", "--count", "1",
                        "--pcap", str(pcap)) as sim:
        nc_echo(ns, payload, out, 8080)
        assert sim.wait(timeout=30) == 0, sim.stderr  # exits by itself after one connection
    assert out.stat().st_size == MB10
    assert sha256_file(out) == sha256_file(payload)
    assert "1 connections, 1 finished, 0 errors, 10485760 bytes echoed" in sim.output
    assert rst_frames(pcap) == [], "both sides closed with FINs, no RST"
    fins = tshark_fields(pcap, "tcp.flags.fin == 1", "ip.src")
    assert sorted(row[0] for row in fins) == [KERNEL_IP, NETSIM_IP]
    assert tshark_problems(pcap) == []


def bytes_in_flight_max(pcap: Path, sender: str) -> int:
    """The most data `sender` had sent but not yet seen acknowledged (from a capture)."""
    rows = tshark_fields(pcap, "tcp", "ip.src", "tcp.seq", "tcp.len", "tcp.ack",
                         "tcp.flags.ack")
    highest = acked = 0
    most = 0
    for src, seq, length, ack, ack_flag in rows:
        if src == sender:
            highest = max(highest, int(seq) + int(length))
        elif ack_flag in ("1", "True"):
            acked = max(acked, int(ack))
        if highest and acked:
            most = max(most, (highest - acked) % (1 << 32))
    return most


def test_netsim_send_to_nc_listen_10mb_intact(ns: Netns, tools: None, tmp_path: Path) -> None:
    received = tmp_path / "received.bin"
    pcap = tmp_path / "send.pcap"
    with received.open("wb") as sink:
        listener = ns.popen("nc", "-l", KERNEL_IP, "9001", stdout=sink, stderr=subprocess.PIPE)
        try:
            ns.wait_listening(9001)
            sim = start_netsim(ns, "send", "--connect", f"{KERNEL_IP}:9001", "--bytes",
                               str(MB10), "--pcap", str(pcap))
            assert sim.wait(timeout=60) == 0, sim.stderr
            assert listener.wait(timeout=30) == 0
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait(timeout=10)
    m = re.search(r"send: (\d+) bytes .* sha256 ([0-9a-f]{64})", sim.output)
    assert m, sim.output
    assert int(m.group(1)) == MB10 == received.stat().st_size
    assert sha256_file(received) == m.group(2)
    assert rst_frames(pcap) == []
    # Linux announced window scaling; more than 64 KiB in flight means we applied its shift.
    assert bytes_in_flight_max(pcap, NETSIM_IP) > 65535
    assert tshark_problems(pcap) == []


def test_linux_syn_options_are_negotiated(ns: Netns, tools: None, tmp_path: Path) -> None:
    pcap = tmp_path / "syn.pcap"
    trace = tmp_path / "trace.jsonl"
    data = os.urandom(4 * 1024 * 1024)
    with running_netsim(ns, "sink", "--port", "9000", "--count", "1", "--pcap", str(pcap),
                        "--trace", str(trace)) as sim:
        proc = ns.run("nc", "-N", NETSIM_IP, "9000", input=data, timeout=60)
        assert proc.returncode == 0
        assert sim.wait(timeout=30) == 0, sim.stderr
    assert f"{len(data)} bytes" in sim.output
    assert hashlib.sha256(data).hexdigest() in sim.output

    fields = ("tcp.options.mss_val", "tcp.options.sack_perm", "tcp.options.timestamp.tsval",
              "tcp.options.timestamp.tsecr", "tcp.options.wscale.shift", "tcp.window_size_value")
    (syn,) = tshark_fields(pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 0", *fields)
    (synack,) = tshark_fields(pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 1", *fields)
    mss, sack_perm, tsval, _tsecr, wscale, _win = syn
    assert mss == "1460" and sack_perm and tsval and wscale, f"Linux's SYN: {syn}"
    a_mss, a_sack, a_tsval, a_tsecr, a_wscale, _ = synack
    assert a_mss == "1460", "MSS = MTU 1500 - 40"
    assert a_sack, "SACK-permitted answered"
    assert a_tsval and a_tsecr == tsval, "timestamps answered, echoing Linux's TSval"
    assert a_wscale and int(a_wscale) > 0, "window scaling answered (1 MiB receive buffer)"
    # Linux applied our shift: it kept more than 64 KiB unacknowledged towards us.
    assert bytes_in_flight_max(pcap, KERNEL_IP) > 65535
    # Every later segment from netsim carries timestamps and respects Linux's MSS.
    later = tshark_fields(pcap, f"ip.src == {NETSIM_IP} && tcp.flags.syn == 0",
                          "tcp.options.timestamp.tsval", "tcp.len")
    assert later and all(row[0] for row in later)
    assert all(int(row[1]) <= 1460 - 12 for row in later)
    # The trace shows the same negotiation from netsim's side.
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    (synack_tx,) = [r for r in records if r.get("type") == "SegmentRecord"
                    and r["direction"] == "tx" and r["flags"] == "S."]
    assert f"ecr {tsval}" in synack_tx["options"] and f"wscale {a_wscale}" in \
        synack_tx["options"] and "sackOK" in synack_tx["options"]
    states = [(r["old"], r["new"]) for r in records if r.get("type") == "StateRecord"]
    assert states[:2] == [("LISTEN", "SYN-RECEIVED"), ("SYN-RECEIVED", "ESTABLISHED")]
    assert tshark_problems(pcap) == []


def test_python_socket_clients_200_sequential_and_20_concurrent(ns: Netns, tools: None) -> None:
    with running_netsim(ns, "echo-server", "--port", "7", "-q") as sim:
        assert ns.helper("echo-clients", NETSIM_IP, "7", "200", "1", timeout=90).split() == \
            ["ok", "200"]
        assert ns.helper("echo-clients", NETSIM_IP, "7", "20", "20", timeout=60).split() == \
            ["ok", "20"]
        assert sim.stop() == 0, sim.stderr
    assert "220 connections, 220 finished, 0 errors" in sim.output


def test_ctrl_c_closes_open_connections_with_fin(ns: Netns, tools: None, tmp_path: Path) -> None:
    pcap = tmp_path / "stop.pcap"
    with running_netsim(ns, "sink", "--port", "9000", "--pcap", str(pcap)) as sim:
        client = ns.popen(sys.executable, str(Path(__file__).parent / "live_helpers.py"),
                          "hold", NETSIM_IP, "9000", stdout=subprocess.PIPE, text=True)
        try:
            assert client.stdout is not None
            assert client.stdout.readline().strip() == "connected"
            assert sim.stop(signal.SIGINT) == 0, sim.stderr
            out, _ = client.communicate(timeout=15)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(timeout=10)
    assert out.strip() == "eof", "the client saw a FIN, not a reset"
    assert re.search(r"sink: 10\.0\.0\.1:\d+ 1000 bytes", sim.output), sim.output
    assert rst_frames(pcap) == []


# ---------------------------------------------------------------------- loss
def test_10mb_both_directions_at_5pct_netsim_loss(ns: Netns, tools: None, payload: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "echoed.bin"
    stats = tmp_path / "stats.json"
    # A 20 ms minimum RTO keeps the test short; what is tested is recovery, not the timer.
    with running_netsim(ns, "echo-server", "--port", "8080", "--count", "1", "--loss", "0.05",
                        "--seed", "3", "--min-rto", "20ms", "--stats", str(stats)) as sim:
        nc_echo(ns, payload, out, 8080, timeout=120)
        assert sim.wait(timeout=60) == 0, sim.stderr
    assert sha256_file(out) == sha256_file(payload)
    lost = json.loads(stats.read_text())["impairment"]
    assert lost["to_kernel"]["dropped"]["loss"] > 100
    assert lost["from_kernel"]["dropped"]["loss"] > 100


def test_10mb_both_directions_at_5pct_kernel_ingress_drop(ns: Netns, tools: None,
                                                          require_tool: Callable[[str], str],
                                                          payload: Path, tmp_path: Path) -> None:
    require_tool("nft")
    rules = (f'table netdev lossy {{\n chain ingress {{\n'
             f'  type filter hook ingress device "{ns.tap}" priority 0;\n'
             '  meta l4proto tcp numgen random mod 100 < 5 counter drop\n }\n}\n')
    ns.run("nft", "-f", "-", input=rules.encode())
    out = tmp_path / "echoed.bin"
    with running_netsim(ns, "echo-server", "--port", "8080", "--count", "1",
                        "--min-rto", "20ms") as sim:
        nc_echo(ns, payload, out, 8080, timeout=120)
        assert sim.wait(timeout=60) == 0, sim.stderr
    assert sha256_file(out) == sha256_file(payload)
    listing = ns.run("nft", "list", "table", "netdev", "lossy").stdout.decode()
    dropped = int(re.search(r"counter packets (\d+)", listing).group(1))  # type: ignore[union-attr]
    assert dropped > 100, listing


# ---------------------------------------------------------------------- malformed input
def test_bad_frames_are_dropped_counted_and_service_continues(ns: Netns, tools: None,
                                                              tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    pcap = tmp_path / "bad.pcap"
    with running_netsim(ns, "echo-server", "--port", "8080", "--stats", str(stats),
                        "--pcap", str(pcap)) as sim:
        assert len(ns.helper("ping", NETSIM_IP, "2").split()) == 2  # ARP resolved, baseline
        sent = int(ns.helper("raw-frames", ns.tap, NETSIM_MAC))
        assert len(ns.helper("ping", NETSIM_IP, "3").split()) == 3
        echoed = ns.run("nc", "-N", NETSIM_IP, "8080", input=b"still alive\n", timeout=20)
        assert echoed.stdout == b"still alive\n"
        assert sim.stop() == 0, sim.stderr
    summary = json.loads(stats.read_text())
    drops = summary["drops"]
    malformed = sum(n for key, n in drops.items() if key != "tcp.out_of_window")
    assert sent >= 15
    assert malformed == sent, drops  # every bad frame dropped, and counted once
    assert {"ipv4.checksum", "tcp.checksum", "icmp.checksum"} <= set(drops)
    # Nothing netsim itself sent is malformed.
    assert tshark_problems(pcap, f"eth.src == {NETSIM_MAC}") == []


# ---------------------------------------------------------------------- setup errors
def one_line_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_setup_errors_are_one_line_with_status_2(ns: Netns) -> None:
    live = [sys.executable, "-m", "netsim", "live", "up"]
    err = one_line_error(ns.run(*live, "--tap", "nosuch0", check=False))
    assert "nosuch0" in err and "netns_setup.sh" in err
    err = one_line_error(ns.run(*live, "--tap", ns.tap, "--ip", "10.0.0.2", check=False))
    assert "--ip" in err
    err = one_line_error(ns.run(*live, "--tap", ns.tap, "--ip", "10.0.0.300/24", check=False))
    assert "--ip" in err
    err = one_line_error(ns.run(*live, "--tap", "lo", check=False))
    assert "not a TAP" in err
    with running_netsim(ns, "up") as sim:
        err = one_line_error(ns.run(*live, "--tap", ns.tap, check=False))
        assert "busy" in err
        assert sim.stop(signal.SIGTERM) == 0
    if shutil.which("setpriv"):
        proc = ns.run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      *live, "--tap", ns.tap, check=False)
        assert "root" in one_line_error(proc)
    if shutil.which("unshare"):
        hidden = ns.run("unshare", "--mount", "sh", "-c",
                        'mount -t tmpfs none /dev/net && exec "$@"', "sh", *live,
                        "--tap", ns.tap, check=False)
        assert "/dev/net/tun" in one_line_error(hidden)
