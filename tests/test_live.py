"""Live mode: netsim's stack on a TAP device in a network namespace, against the Linux kernel.

The tests marked live make their own namespace (``nstest-PID-N``) with a TAP whose kernel side is
10.0.0.1/24, runs ``python -m netsim live ...`` inside it as 10.0.0.2, drives it with Linux
tools (``nc``, Python sockets, raw AF_PACKET frames, nftables) and removes the namespace even
when the test fails. Nothing outside those namespaces is touched. The first tests check the
live environment itself over a pipe and a socket pair, and run anywhere (no root needed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path

import pytest
from live_helpers import (
    KERNEL_IP,
    NETSIM_IP,
    NETSIM_MAC,
    SETUP,
    Netns,
    capture,
    netns,
    running_netsim,
    start_netsim,
    tshark_fields,
    tshark_problems,
)

from netsim.apps.bulk import expected_sha256

live = pytest.mark.live

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


def assert_no_rst_before_close(pcap: Path) -> None:
    """Both sides closed with FINs: no RST while the connection lived. netsim closes second
    here (LAST-ACK), and once the kernel's ACK of its FIN arrives the connection is gone
    (CLOSED), so a segment the kernel sends after that, such as the duplicate ACK that
    answers a tail loss probe retransmitted while the kernel's ACKs were late (seen about once
    in ten runs), is answered <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1), as Linux does too.
    Only such a RST is allowed: from netsim, after the ACK of its FIN, at that ACK's number."""
    fins = {int(r[0]) for r in tshark_fields(pcap, f"tcp.flags.fin == 1 && ip.src == "
                                                   f"{NETSIM_IP}", "tcp.seq_raw")}
    assert len(fins) == 1, f"netsim's FIN (one sequence number): {fins}"
    (fin,) = fins
    fin_acked = tshark_fields(pcap, f"ip.src == {KERNEL_IP} && tcp.ack_raw == "
                                    f"{(fin + 1) % (1 << 32)}", "frame.number")
    rsts = tshark_fields(pcap, "tcp.flags.reset == 1", "frame.number", "ip.src", "tcp.seq_raw")
    for number, src, seq in rsts:
        assert src == NETSIM_IP and fin_acked and int(number) > int(fin_acked[0][0]) and \
            int(seq) == (fin + 1) % (1 << 32), (f"a RST before both sides closed: frame "
                                                f"{number} from {src}", rsts, fin_acked[:1])


# ---------------------------------------------------------------------- the environment (no root)
def test_fd_input_runs_at_its_real_arrival_time_between_timers() -> None:
    from netsim.live.env import LiveEnvironment

    env = LiveEnvironment()
    r, w = os.pipe()
    events: list[tuple[str, float]] = []
    try:
        def on_pipe() -> None:
            os.read(r, 100)
            events.append(("pipe", env.now))

        def timer(name: str, delay: float) -> Generator[object, object, None]:
            yield env.timeout(delay)
            events.append((name, env.now))

        env.add_reader(r, on_pipe)
        env.process(timer("t50", 0.05))
        env.process(timer("t150", 0.15))
        writer = threading.Timer(0.1, os.write, (w, b"x"))
        writer.start()
        started = time.monotonic()
        env.run(until=0.2)
        elapsed = time.monotonic() - started
        writer.join()
    finally:
        env.close()
        os.close(r)
        os.close(w)
    assert [name for name, _ in events] == ["t50", "pipe", "t150"]
    times = dict(events)
    assert times["t50"] == pytest.approx(0.05) and times["t150"] == pytest.approx(0.15)
    assert 0.09 <= times["pipe"] <= 0.14, "the input got its real arrival time"
    assert 0.19 <= elapsed < 0.5, "the run took real time, and waited rather than spun"


def test_sigint_becomes_stop_requested() -> None:
    from netsim.live.env import LiveEnvironment

    # CI may start the suite with SIGINT ignored (a background job): compare with what was
    # installed before, not with Python's default handler.
    before = signal.getsignal(signal.SIGINT)
    env = LiveEnvironment()
    env.install_signal_handlers()
    try:
        def interrupt() -> Generator[object, object, None]:
            yield env.timeout(0.05)
            os.kill(os.getpid(), signal.SIGINT)

        env.process(interrupt())
        env.run(until=env.any_of([env.stop_requested, env.timeout(3.0)]))
        assert env.stop_requested.triggered and env.stop_requested.value == signal.SIGINT
        assert env.now < 1.0
    finally:
        env.close()
    assert signal.getsignal(signal.SIGINT) is before


def test_stack_on_a_socket_pair_answers_arp_and_ping_through_impairment() -> None:
    """A socket pair stands in for the TAP: the same TapPort, environment, Node and Link."""
    from ipaddress import IPv4Address

    from netsim.live.env import LiveEnvironment
    from netsim.live.impair import ImpairedPort
    from netsim.live.tap import TapPort
    from netsim.node import Node, call_at
    from netsim.sim.link import LinkConfig
    from netsim.stack.host import Stack
    from netsim.wire import icmp
    from netsim.wire.arp import ArpPacket
    from netsim.wire.ethernet import build_ethernet
    from netsim.wire.ipv4 import build_ipv4
    from netsim.wire.mac import BROADCAST, MacAddress

    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    kernel.setblocking(False)
    env = LiveEnvironment()
    tap = TapPort("fake0", fd=ours.detach())
    stack = Stack("live")
    iface = stack.add_interface("fake0", NETSIM_MAC, f"{NETSIM_IP}/24")
    node = Node(env, stack)
    node.attach(iface, ImpairedPort(env, tap, LinkConfig(delay=0.03)))
    tap.register(env)
    kmac = MacAddress("02:00:00:00:00:01")
    kip, nip = IPv4Address(KERNEL_IP), IPv4Address(NETSIM_IP)
    got: list[tuple[float, bytes]] = []

    def on_kernel_side() -> None:
        while True:
            try:
                got.append((env.now, kernel.recv(65536)))
            except BlockingIOError:
                return

    env.add_reader(kernel.fileno(), on_kernel_side)
    arp = build_ethernet(BROADCAST, kmac, 0x0806, ArpPacket.request(kmac, kip, nip).build())
    ping = build_ethernet(MacAddress(NETSIM_MAC), kmac, 0x0800,
                          build_ipv4(kip, nip, 1, icmp.echo(8, 7, 1, b"live" * 8).build()))
    call_at(env, 0.1, lambda _ev: kernel.send(arp))
    call_at(env, 0.2, lambda _ev: kernel.send(ping))
    try:
        env.run(until=0.45)
    finally:
        env.close()
        tap.close()
        kernel.close()
    kinds = [(round(t, 2), frame[12:14], frame[20:22] if frame[12:14] == b"\x08\x06"
              else frame[34:35]) for t, frame in got]
    # gratuitous ARP at start-up, the ARP reply, the echo reply: each 30 ms late, both ways
    assert [k[1:] for k in kinds] == [(b"\x08\x06", b"\x00\x01"), (b"\x08\x06", b"\x00\x02"),
                                      (b"\x08\x00", b"\x00")]
    assert [t for t, _ in got][1] == pytest.approx(0.1 + 0.06, abs=0.03)
    assert [t for t, _ in got][2] == pytest.approx(0.2 + 0.06, abs=0.03)
    assert got[2][1][-32:] == b"live" * 8
    assert tap.stats.rx_frames == 2 and tap.stats.tx_frames == 3


def test_live_mode_imports_nothing_of_the_simulation() -> None:
    """live/ and sim/ share the link model through netsim.link, not through each other."""
    code = ("import sys, netsim.live.host, netsim.live.impair; "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] == ['netsim', 'sim']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, cwd=str(SETUP.parent.parent)).stdout
    assert out.strip() == "[]", out


def test_live_isn_and_cookie_keys_are_secret_per_process_while_simulation_repeats(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 6528 §3: the ISN's hash takes a secret key. Two live hosts (on a socket pair
    standing in for the TAP) pick different ISNs for the same 4-tuple at the same time, and
    different cookie keys; two simulated stacks pick the same (a seed repeats a run)."""
    from ipaddress import IPv4Address

    import netsim.live.host as live_host
    from netsim.live.tap import TapPort
    from netsim.stack.host import Stack
    from netsim.stack.tcp.isn import isn

    class FakeTap(TapPort):
        def __init__(self, name: str, **options: bool) -> None:
            ours, self.kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            ours.setblocking(False)
            super().__init__(name, fd=ours.detach(), **options)

        mtu = 1500  # type: ignore[assignment]
        kernel_mac = b"\x02\x00\x00\x00\x00\x01"  # type: ignore[assignment]

    monkeypatch.setattr(live_host, "TapPort", FakeTap)
    hosts = [live_host.LiveHost(live_host.LiveConfig(tap="fake0")) for _ in range(2)]
    try:
        a, b = IPv4Address(NETSIM_IP), IPv4Address(KERNEL_IP)
        keys = [h.stack.tcp.cfg.isn_key for h in hosts]
        assert len(set(keys)) == 2 and b"netsim" not in keys
        assert isn(keys[0], 1.0, a, 8080, b, 40000) != isn(keys[1], 1.0, a, 8080, b, 40000)
        assert hosts[0].stack.tcp.cookie_secret != hosts[1].stack.tcp.cookie_secret
    finally:
        for h in hosts:
            h.close()
    sims = [Stack("netsim").tcp for _ in range(2)]
    assert sims[0].cfg.isn_key == sims[1].cfg.isn_key
    assert sims[0].cookie_secret == sims[1].cookie_secret


# ---------------------------------------------------------------------- ARP and ping
@live
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
@live
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
    assert_no_rst_before_close(pcap)
    # one FIN each way (Linux may send its FIN twice: a tail loss probe while netsim, on a
    # busy machine, is still working through the frames before it; the same FIN both times)
    fins = tshark_fields(pcap, "tcp.flags.fin == 1", "ip.src", "tcp.seq")
    assert sorted({row[0] for row in fins}) == [KERNEL_IP, NETSIM_IP]
    assert len({row[1] for row in fins if row[0] == KERNEL_IP}) == 1, fins
    assert [row[0] for row in fins].count(NETSIM_IP) == 1, fins
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


@live
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
    # what a receiver elsewhere can check: the stream of `netsim live send`'s default seed
    assert m.group(2) == expected_sha256(MB10, 1)
    assert rst_frames(pcap) == []
    # Linux announced window scaling; more than 64 KiB in flight means we applied its shift.
    assert bytes_in_flight_max(pcap, NETSIM_IP) > 65535
    assert tshark_problems(pcap) == []


@live
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
    # The trace (read back with netsim.trace) shows the same negotiation from netsim's side.
    from netsim.trace.export import read_jsonl

    recorder = read_jsonl(trace)
    (synack_tx,) = [s for s in recorder.segments(direction="tx") if s.flags == "S."]
    assert f"ecr {tsval}" in synack_tx.options and f"wscale {a_wscale}" in synack_tx.options
    assert "sackOK" in synack_tx.options
    states = [(r.old, r.new) for r in recorder.states()]
    assert states[:2] == [("LISTEN", "SYN-RECEIVED"), ("SYN-RECEIVED", "ESTABLISHED")]
    assert tshark_problems(pcap) == []


@live
def test_jumbo_mtu_9000_is_picked_up_from_the_tap(tools: None, payload: Path,
                                                  tmp_path: Path) -> None:
    pcap, stats = tmp_path / "jumbo.pcap", tmp_path / "stats.json"
    with netns(mtu=9000) as jumbo, running_netsim(jumbo, "sink", "--port", "9000", "--count",
                                                  "1", "--pcap", str(pcap),
                                                  "--stats", str(stats)) as sim:
        assert "mtu 9000" in sim.lines[0]
        with payload.open("rb") as src:
            subprocess.run(["ip", "netns", "exec", jumbo.name, "nc", "-N", NETSIM_IP, "9000"],
                           stdin=src, check=True, timeout=60, capture_output=True)
        assert sim.wait(timeout=30) == 0, sim.stderr
    assert f"{MB10} bytes" in sim.output and sha256_file(payload) in sim.output
    (synack,) = tshark_fields(pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 1",
                              "tcp.options.mss_val")
    assert synack == ["8960"], "MSS = MTU 9000 - 40"
    sizes = tshark_fields(pcap, f"ip.src == {KERNEL_IP} && tcp.len > 0", "tcp.len")
    tap = json.loads(stats.read_text())["tap"]
    # Linux sent full jumbo segments: as frames, or (TSO, netsim.live.offload) as the segment
    # size of the super-segments it handed netsim
    assert max(int(row[0]) for row in sizes) == 8960 - 12 or \
        tap["rx_gso_size_max"] == 8960 - 12, "Linux sent full jumbo segments"
    assert tshark_problems(pcap) == []


@live
def test_python_socket_clients_200_sequential_and_20_concurrent(ns: Netns, tools: None) -> None:
    with running_netsim(ns, "echo-server", "--port", "7", "-q") as sim:
        assert ns.helper("echo-clients", NETSIM_IP, "7", "200", "1", timeout=90).split() == \
            ["ok", "200"]
        assert ns.helper("echo-clients", NETSIM_IP, "7", "20", "20", timeout=60).split() == \
            ["ok", "20"]
        assert sim.stop() == 0, sim.stderr
    assert "220 connections, 220 finished, 0 errors" in sim.output


@live
def test_netsim_echo_client_against_linux_echo_server(ns: Netns, tools: None) -> None:
    server = ns.popen(sys.executable, str(Path(__file__).parent / "live_helpers.py"),
                      "serve-echo", "7007", stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        message = "hello from netsim " * 500  # 9000 bytes: several segments
        sim = start_netsim(ns, "echo-client", "--connect", f"{KERNEL_IP}:7007", "--message",
                           message, "--json")
        assert sim.wait(timeout=30) == 0, sim.stderr
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    result = json.loads(sim.lines[-1])
    assert result["match"] and result["sent"] == result["received"] == len(message)


@live
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
@live
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


@live
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
@live
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


@live
def test_damaged_tcp_segments_with_good_checksums_do_not_stop_the_stack(ns: Netns,
                                                                         tools: None) -> None:
    with running_netsim(ns, "echo-server", "--port", "8080") as sim:
        assert int(ns.helper("raw-frames", ns.tap, NETSIM_MAC, "fuzz")) == 300
        assert len(ns.helper("ping", NETSIM_IP, "3").split()) == 3
        echoed = ns.run("nc", "-N", NETSIM_IP, "8080", input=b"still alive\n", timeout=20)
        assert echoed.stdout == b"still alive\n"
        assert sim.stop() == 0, sim.stderr


@live
def test_impairment_delay_shows_in_ping_rtt(ns: Netns, tools: None) -> None:
    with running_netsim(ns, "up", "--delay", "25ms") as sim:
        rtts = [float(x) for x in ns.helper("ping", NETSIM_IP, "5").split()]
        assert sim.stop() == 0
    # the start line names the impairment, without the link model's MTU (65535, for the
    # TAP's super-segments), which would read as the interface's
    first = sim.output.splitlines()[0]
    assert "impairment: delay 25 ms" in first and first.count("mtu ") == 1, first
    assert len(rtts) == 5
    # 25 ms each way inside netsim; never less, and not much more on an idle machine.
    assert all(50.0 <= rtt < 150.0 for rtt in rtts), rtts


# ---------------------------------------------------------------------- setup errors
def one_line_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2, (proc.returncode, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@live
def test_setup_errors_are_one_line_with_status_2(ns: Netns) -> None:
    live = [sys.executable, "-m", "netsim", "live", "up"]
    err = one_line_error(ns.run(*live, "--tap", "nosuch0", check=False))
    assert "nosuch0" in err and "netns_setup.sh" in err
    err = one_line_error(ns.run(*live, "--tap", "lo", check=False))
    assert "not a TAP" in err
    with running_netsim(ns, "up") as sim:
        err = one_line_error(ns.run(*live, "--tap", ns.tap, check=False))
        assert "busy" in err
        assert sim.stop(signal.SIGTERM) == 0
    if shutil.which("unshare"):
        hidden = ns.run("unshare", "--mount", "sh", "-c",
                        'mount -t tmpfs none /dev/net && exec "$@"', "sh", *live,
                        "--tap", ns.tap, check=False)
        assert "/dev/net/tun" in one_line_error(hidden)


@pytest.mark.parametrize(("args", "flag"), [
    (["--ip", "10.0.0.2"], "--ip"),
    (["--ip", "10.0.0.300/24"], "--ip"),
    (["--ip", "10.0.0.0/24"], "--ip"),
    (["--mac", "01:00:5e:00:00:01"], "--mac"),
    (["--gateway", "192.168.1.1"], "--gateway"),
    (["--loss", "2"], "--loss"),
    (["--mtu", "12"], "--mtu"),
    (["--syncookies", "3"], "--syncookies"),
    (["--syncookies", "sometimes"], "--syncookies"),
])
def test_bad_arguments_are_one_line_errors_before_touching_a_tap(
        args: list[str], flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    from netsim.cli import main

    assert main(["live", "up", "--tap", "nosuch-tap0", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err, err


@pytest.mark.parametrize("args", [["--connect", "10.0.0.1"], ["--connect", "host:80"],
                                  ["--connect", "10.0.0.1:0"]])
def test_bad_connect_addresses_are_one_line_errors(args: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from netsim.cli import main

    assert main(["live", "send", "--tap", "nosuch-tap0", "--bytes", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--connect" in err, err


@live
def test_not_root_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from netsim.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["live", "up", "--tap", "tap0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs root" in err, err


@live
def test_netns_setup_is_idempotent_and_run_echo_works_end_to_end(tools: None) -> None:
    name = f"nstest-{os.getpid()}-setup"
    setup = [str(SETUP)]
    try:
        for _ in range(2):
            subprocess.run([*setup[:1], "up", "--ns", name, "--mtu", "4000"], check=True,
                           capture_output=True, timeout=30)
        show = subprocess.run(["ip", "-n", name, "-brief", "addr", "show", "tap0"],
                              capture_output=True, text=True, timeout=10, check=True).stdout
        assert "10.0.0.1/24" in show and show.count("10.0.0.1") == 1
        link = subprocess.run(["ip", "-n", name, "link", "show", "tap0"], capture_output=True,
                              text=True, timeout=10, check=True).stdout
        assert "qlen 4096" in link, link  # a burst towards netsim queues, not drops
    finally:
        for _ in range(2):
            subprocess.run([*setup[:1], "down", "--ns", name], check=True, capture_output=True,
                           timeout=30)
    assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                      timeout=10).stdout
    # (the Python running these tests, also in a checkout without its own .venv)
    demo = subprocess.run([str(SETUP.parent / "run_echo.sh"), "hello, kernel"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NETSIM_PYTHON": sys.executable})
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "echo > hello, kernel" in demo.stdout and "OK" in demo.stdout
