"""The bench_bulk scenario in ns-3: one bulk TCP transfer over one lossy point-to-point link.

Run: ``.venv/bin/python benchmarks/ns3_bulk.py [--bytes 100MB] [--json]`` (needs the optional
``ns3`` package: ``pip install -e '.[ns3]'``; importing it takes ~15 s, which is not timed).

The scenario matches ``netsim sim --bytes 100MB --rate 100Mbit --delay 10ms --loss 0.01 --mss 1448
--cc newreno`` with the loss on the data direction only (see benchmarks/bench_bulk.py):

- two nodes, one PointToPoint link of ``--rate`` and ``--delay`` each way, MTU 1500; the device
  queue is a DropTail of 1000 packets (netsim's default ``queue_packets``) and the traffic-control
  queue disc that ``Ipv4AddressHelper`` installs (FqCoDel) is removed, so the device queue is the
  only queue, as in netsim;
- a ``RateErrorModel`` (``ERROR_UNIT_PACKET``, rate ``--loss``) on the receiver's device only:
  it drops packets arriving at the receiver (the data, SYN and FIN); the ACK direction is clean;
- TCP: ``TcpNewReno`` (ns-3's default is CUBIC; ``--cc bbr``: ``TcpBbr``, with
  ``TcpSocketState::EnablePacing``, which BBR needs), segment size 1448 (the payload: with the
  12-byte timestamp option each data packet is exactly 1500 bytes of IP), SACK, timestamps and
  window scaling on (ns-3's defaults, as netsim's), delayed ACK every 2nd segment or 200 ms (ns-3's
  and netsim's default), minimum RTO 1 s (both), initial cwnd 3 segments (netsim's RFC 5681 IW for
  this MSS; ns-3's default is 10), send and receive buffers 1 MiB (netsim's default; ns-3's is 128
  KiB), Nagle on (netsim's default), 15 data retries (netsim's ``max_retries``);
- recovery: ``--recovery classic`` (default; RFC 5681/6582-style, closest to netsim's NewReno
  with RFC 6675 SACK recovery) or ``prr`` (ns-3's default, RFC 6937);
- a BulkSendApplication (``MaxBytes`` = bytes, 64 KiB writes like netsim's bulk sender) and a
  PacketSink.

Only ``Simulator::Run()`` is timed (``time.perf_counter`` and process CPU time). Counting happens
in small C++ trace sinks compiled with cppyy (no Python call per packet): data segments are
packets of more than 100 bytes started on the sender's device (first transmissions and
retransmissions), drops are the error model's, and entries into the Recovery and Loss (RTO)
congestion states come from the sender socket's ``CongState`` trace.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import resource
import sys
import time
from typing import Any

# C++ counters hooked to ns-3 trace sources; compiled once after `from ns import ns`.
_CPP = r"""
namespace netsim_bench {
uint64_t sink_bytes = 0;
double first_rx = -1.0;
double last_rx = -1.0;
uint64_t data_segments = 0;
uint64_t other_packets = 0;
uint64_t rx_drops = 0;
uint64_t recoveries = 0;
uint64_t rto_losses = 0;
uint64_t target = 0;
bool stopped = false;

void SinkRx(ns3::Ptr<const ns3::Packet> p, const ns3::Address &) {
    double now = ns3::Simulator::Now().GetSeconds();
    if (first_rx < 0) first_rx = now;
    last_rx = now;
    sink_bytes += p->GetSize();
    if (target && sink_bytes >= target && !stopped) {
        stopped = true;
        // Let the FINs go out, as netsim waits for both closes; then stop.
        ns3::Simulator::Stop(ns3::Seconds(1.0));
    }
}
void SenderTx(ns3::Ptr<const ns3::Packet> p) {
    if (p->GetSize() > 100) ++data_segments; else ++other_packets;
}
void RxDrop(ns3::Ptr<const ns3::Packet>) { ++rx_drops; }
void CongState(ns3::TcpSocketState::TcpCongState_t, ns3::TcpSocketState::TcpCongState_t now) {
    if (now == ns3::TcpSocketState::CA_RECOVERY) ++recoveries;
    if (now == ns3::TcpSocketState::CA_LOSS) ++rto_losses;
}
void HookSocket() {
    ns3::Config::ConnectWithoutContextFailSafe(
        "/NodeList/0/$ns3::TcpL4Protocol/SocketList/*/CongState", ns3::MakeCallback(&CongState));
}
void Hook(ns3::Ptr<ns3::Application> sink, ns3::Ptr<ns3::NetDevice> tx,
          ns3::Ptr<ns3::NetDevice> rx, uint64_t bytes) {
    target = bytes;
    sink->TraceConnectWithoutContext("Rx", ns3::MakeCallback(&SinkRx));
    tx->TraceConnectWithoutContext("PhyTxBegin", ns3::MakeCallback(&SenderTx));
    rx->TraceConnectWithoutContext("PhyRxDrop", ns3::MakeCallback(&RxDrop));
    // BulkSend creates its socket when it starts (t = 0); hook it just after.
    ns3::Simulator::Schedule(ns3::NanoSeconds(1), &HookSocket);
}
}
"""


def _size(text: str) -> int:
    from netsim.units import parse_size

    return parse_size(text, "--bytes")


def run_ns3(nbytes: int, *, rate_bps: float = 100e6, delay: float = 0.010, loss: float = 0.01,
            mss: int = 1448, seed: int = 1, queue_packets: int = 1000,
            recovery: str = "classic", initial_cwnd: int | None = None,
            delack_count: int = 2, routers: int = 0, cc: str = "newreno") -> dict[str, Any]:
    """Build and run the scenario; return wall/CPU time of the run and what happened."""
    t0 = time.perf_counter()
    import cppyy
    from ns import ns  # ~15 s: cppyy loads and JIT-compiles the ns-3 headers

    if not hasattr(cppyy.gbl, "netsim_bench"):
        cppyy.cppdef(_CPP)
    bench = cppyy.gbl.netsim_bench
    import_seconds = time.perf_counter() - t0

    if initial_cwnd is None:
        # netsim's RFC 5681 §3.1 initial window for this MSS (netsim/stack/tcp/congestion/reno.py)
        initial_cwnd = 2 if mss > 2190 else 3 if mss > 1095 else 4

    t_setup = time.perf_counter()
    ns.RngSeedManager.SetSeed(seed)
    ns.RngSeedManager.SetRun(1)
    cd = ns.Config.SetDefault
    cd("ns3::TcpL4Protocol::SocketType",
       ns.StringValue("ns3::TcpBbr" if cc == "bbr" else "ns3::TcpNewReno"))
    cd("ns3::TcpSocketState::EnablePacing", ns.BooleanValue(cc == "bbr"))
    cd("ns3::TcpL4Protocol::RecoveryType", ns.StringValue(
        "ns3::TcpClassicRecovery" if recovery == "classic" else "ns3::TcpPrrRecovery"))
    cd("ns3::TcpSocket::SegmentSize", ns.UintegerValue(mss))
    cd("ns3::TcpSocket::InitialCwnd", ns.UintegerValue(initial_cwnd))
    cd("ns3::TcpSocket::SndBufSize", ns.UintegerValue(1 << 20))
    cd("ns3::TcpSocket::RcvBufSize", ns.UintegerValue(1 << 20))
    cd("ns3::TcpSocket::DelAckCount", ns.UintegerValue(delack_count))
    cd("ns3::TcpSocket::DelAckTimeout", ns.TimeValue(ns.Seconds(0.2)))
    cd("ns3::TcpSocket::TcpNoDelay", ns.BooleanValue(False))
    cd("ns3::TcpSocket::DataRetries", ns.UintegerValue(15))
    cd("ns3::TcpSocketBase::Sack", ns.BooleanValue(True))
    cd("ns3::TcpSocketBase::Timestamp", ns.BooleanValue(True))
    cd("ns3::TcpSocketBase::WindowScaling", ns.BooleanValue(True))
    cd("ns3::TcpSocketBase::MinRto", ns.TimeValue(ns.Seconds(1.0)))

    # h1 - r1 - ... - rN - h2: N+1 point-to-point links of delay/(N+1) each (netsim's
    # `chain`; 0 routers is the single link), every one with its own 1000-packet DropTail.
    nodes = ns.NodeContainer()
    nodes.Create(2 + routers)
    p2p = ns.PointToPointHelper()
    p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate(int(rate_bps))))
    p2p.SetDeviceAttribute("Mtu", ns.UintegerValue(1500))
    p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.Seconds(delay / (routers + 1))))
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize",
                 ns.QueueSizeValue(ns.QueueSize(f"{queue_packets}p")))
    devices = [p2p.Install(nodes.Get(i), nodes.Get(i + 1)) for i in range(routers + 1)]
    tx_device = devices[0].Get(0)
    rx_device = devices[-1].Get(1)
    receiver = nodes.Get(routers + 1)

    em = ns.CreateObject[ns.RateErrorModel]()
    em.SetAttribute("ErrorRate", ns.DoubleValue(loss))
    em.SetAttribute("ErrorUnit", ns.StringValue("ERROR_UNIT_PACKET"))
    rx_device.SetAttribute("ReceiveErrorModel", ns.PointerValue(em))

    stack = ns.InternetStackHelper()
    stack.Install(nodes)
    addresses = ns.Ipv4AddressHelper()
    for i, link in enumerate(devices):
        addresses.SetBase(ns.Ipv4Address(f"10.0.{i}.0"), ns.Ipv4Mask("255.255.255.0"))
        ifaces = addresses.Assign(link)
        ns.TrafficControlHelper().Uninstall(link)  # Assign put an FqCoDel queue disc there
    receiver_address = ifaces.GetAddress(1)
    if routers:
        ns.Ipv4GlobalRoutingHelper.PopulateRoutingTables()

    port = 5001
    sink_helper = ns.PacketSinkHelper(
        "ns3::TcpSocketFactory",
        ns.InetSocketAddress(ns.Ipv4Address.GetAny(), port).ConvertTo())
    sink_apps = sink_helper.Install(receiver)
    sink_apps.Start(ns.Seconds(0.0))
    bulk = ns.BulkSendHelper(
        "ns3::TcpSocketFactory", ns.InetSocketAddress(receiver_address, port).ConvertTo())
    bulk.SetAttribute("MaxBytes", ns.UintegerValue(nbytes))
    bulk.SetAttribute("SendSize", ns.UintegerValue(1 << 16))
    send_apps = bulk.Install(nodes.Get(0))
    send_apps.Start(ns.Seconds(0.0))

    bench.sink_bytes = 0
    bench.first_rx = bench.last_rx = -1.0
    bench.data_segments = bench.other_packets = bench.rx_drops = 0
    bench.recoveries = bench.rto_losses = 0
    bench.stopped = False
    bench.Hook(sink_apps.Get(0), tx_device, rx_device, nbytes)
    ns.Simulator.Stop(ns.Seconds(100_000.0))  # a safety net; the sink stops the run
    setup_seconds = time.perf_counter() - t_setup

    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    ns.Simulator.Run()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    sim_end = ns.Simulator.Now().GetSeconds()
    ns.Simulator.Destroy()

    delivered = int(bench.sink_bytes)
    last = float(bench.last_rx)
    segs = int(bench.data_segments)
    needed = math.ceil(nbytes / mss)
    return {
        "simulator": "ns-3",
        "cc": cc,
        "version": _ns3_version(),
        "bytes": nbytes,
        "bytes_delivered": delivered,
        "completed": delivered >= nbytes,
        "import_seconds": import_seconds,
        "setup_seconds": setup_seconds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "sim_seconds": last if last >= 0 else sim_end,  # start (t=0) to the last byte at the sink
        "goodput_bps": delivered * 8 / last if last > 0 else 0.0,
        "data_segments": segs,
        "segments_per_wall_second": segs / wall if wall > 0 else 0.0,
        "retransmissions": max(0, segs - needed),
        "recoveries": int(bench.recoveries),
        "timeouts": int(bench.rto_losses),
        "link_drops": int(bench.rx_drops),
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "recovery": recovery,
        "initial_cwnd": initial_cwnd,
        "delack_count": delack_count,
        "mss": mss,
        "loss": loss,
        "routers": routers,
    }


def _ns3_version() -> str:
    try:
        from importlib.metadata import version

        return version("ns3")
    except Exception:  # pragma: no cover - only for the report
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bytes", default="100MB", help="bytes to transfer (default 100MB)")
    parser.add_argument("--rate", type=float, default=100e6, help="bits/s (default 100e6)")
    parser.add_argument("--delay", type=float, default=0.010, help="one-way s (default 0.010)")
    parser.add_argument("--loss", type=float, default=0.01,
                        help="packet loss rate at the receiver's device (default 0.01)")
    parser.add_argument("--mss", type=int, default=1448)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--recovery", choices=("classic", "prr"), default="classic")
    parser.add_argument("--initial-cwnd", type=int, default=None,
                        help="segments (default: netsim's RFC 5681 IW, 3 for MSS 1448)")
    parser.add_argument("--delack-count", type=int, default=2,
                        help="segments per delayed ACK (default 2; 1 acks every segment)")
    parser.add_argument("--routers", type=int, default=0,
                        help="routers in a chain h1 - r1 - ... - h2 (default 0: one link); "
                             "each of the routers+1 links has delay/(routers+1)")
    parser.add_argument("--cc", choices=("newreno", "bbr"), default="newreno",
                        help="TcpNewReno (default) or TcpBbr (with pacing)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.routers < 0:
        parser.error(f"--routers: {args.routers} is negative; use 0 or more")
    if importlib.util.find_spec("ns") is None:
        print("ns3_bulk: the ns3 package is not installed (pip install -e '.[ns3]')",
              file=sys.stderr)
        return 2
    result = run_ns3(_size(args.bytes), rate_bps=args.rate, delay=args.delay, loss=args.loss,
                     mss=args.mss, seed=args.seed, recovery=args.recovery,
                     initial_cwnd=args.initial_cwnd, delack_count=args.delack_count,
                     routers=args.routers, cc=args.cc)
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for key, value in result.items():
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            print(f"{key:<{width}}  {text}")
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
