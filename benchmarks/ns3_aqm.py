"""The bench_aqm scenario in ns-3: one bulk CUBIC flow through a 10 Mbit/s bottleneck whose
sender-side queue is drop-tail (1000 packets), CoDel or FQ-CoDel.

Run: ``.venv/bin/python benchmarks/ns3_aqm.py [--json]`` (needs the optional ``ns3`` package;
importing it takes 15-60 s, which is not timed). Called by benchmarks/bench_aqm.py.

The scenario matches bench_aqm's netsim side:

- two nodes, one PointToPoint link of 10 Mbit/s and 10 ms each way, MTU 1500; the device queue
  holds 1 packet, so that the queue disc in front of it (installed before the addresses, so ns-3
  does not put its default FqCoDel there) is where packets wait: ``FifoQueueDisc`` of 1000
  packets (netsim's drop-tail default), ``CoDelQueueDisc`` (target 5 ms, interval 100 ms,
  1000 packets, as netsim's codel) or ``FqCoDelQueueDisc`` (ns-3's defaults: 1024 flows,
  10240 packets, quantum from the MTU); ECN off;
- TCP: ``TcpCubic`` (ns-3's default; it has HyStart, netsim's CUBIC does not; ``--cc newreno``
  for ``TcpNewReno``), segment size
  1448, SACK, timestamps, window scaling, delayed ACK every 2nd segment, initial cwnd 3,
  send and receive buffers 4 MiB (as bench_aqm gives netsim);
- ``--traffic udp``: instead of TCP, 1472-byte UDP datagrams at 1.2 times the link's packet
  rate (an OnOff application always on): the queue discipline alone, with no TCP to differ;
- goodput: bytes at the sink between ``--warmup`` and ``--duration``; queueing delay: the
  queue disc's ``SojournTime`` of every packet dequeued in that span (mean and 95th percentile).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from typing import Any

_CPP = r"""
#include <vector>
#include <algorithm>
namespace netsim_aqm {
std::vector<double> sojourns;
double warmup = 0.0;
uint64_t rx = 0;
void SinkRx(ns3::Ptr<const ns3::Packet> p, const ns3::Address &) { rx += p->GetSize(); }
void HookSink(ns3::Ptr<ns3::Application> sink) {
    rx = 0;
    sink->TraceConnectWithoutContext("Rx", ns3::MakeCallback(&SinkRx));
}
void Sojourn(ns3::Time t) {
    if (ns3::Simulator::Now().GetSeconds() >= warmup) sojourns.push_back(t.GetSeconds());
}
void Hook(ns3::Ptr<ns3::QueueDisc> q) {
    sojourns.clear();
    q->TraceConnectWithoutContext("SojournTime", ns3::MakeCallback(&Sojourn));
}
double Mean() {
    if (sojourns.empty()) return -1.0;
    double s = 0; for (double x : sojourns) s += x; return s / sojourns.size();
}
double Percentile(double p) {
    if (sojourns.empty()) return -1.0;
    std::vector<double> v(sojourns); std::sort(v.begin(), v.end());
    size_t rank = (size_t)std::max(1.0, std::ceil(p / 100.0 * v.size()));
    return v[rank - 1];
}
}
"""

QDISCS = {
    "droptail": ("ns3::FifoQueueDisc", {"MaxSize": "1000p"}),
    "codel": ("ns3::CoDelQueueDisc", {"MaxSize": "1000p"}),
    "fq_codel": ("ns3::FqCoDelQueueDisc", {}),
}


CCS = {"cubic": "ns3::TcpCubic", "newreno": "ns3::TcpNewReno"}


def run_ns3(qdisc: str, *, duration: float = 20.0, warmup: float = 5.0, rate_bps: float = 10e6,
            delay: float = 0.010, seed: int = 1, cc: str = "cubic",
            traffic: str = "tcp") -> dict[str, Any]:
    import cppyy
    from ns import ns

    if not hasattr(cppyy.gbl, "netsim_aqm"):
        cppyy.cppdef(_CPP)
    aqm = cppyy.gbl.netsim_aqm
    kind, attrs = QDISCS[qdisc]
    ns.RngSeedManager.SetSeed(seed)
    ns.RngSeedManager.SetRun(1)
    cd = ns.Config.SetDefault
    cd("ns3::TcpL4Protocol::SocketType", ns.StringValue(CCS[cc]))
    cd("ns3::TcpSocket::SegmentSize", ns.UintegerValue(1448))
    cd("ns3::TcpSocket::InitialCwnd", ns.UintegerValue(3))
    cd("ns3::TcpSocket::SndBufSize", ns.UintegerValue(4 << 20))
    cd("ns3::TcpSocket::RcvBufSize", ns.UintegerValue(4 << 20))
    cd("ns3::TcpSocket::DelAckCount", ns.UintegerValue(2))
    cd("ns3::TcpSocketBase::Sack", ns.BooleanValue(True))
    cd("ns3::TcpSocketBase::Timestamp", ns.BooleanValue(True))
    cd("ns3::TcpSocketBase::WindowScaling", ns.BooleanValue(True))
    cd("ns3::TcpSocketBase::MinRto", ns.TimeValue(ns.Seconds(1.0)))
    for name, value in attrs.items():
        cd(f"{kind}::{name}", ns.QueueSizeValue(ns.QueueSize(value)))

    nodes = ns.NodeContainer()
    nodes.Create(2)
    p2p = ns.PointToPointHelper()
    p2p.SetDeviceAttribute("DataRate", ns.DataRateValue(ns.DataRate(int(rate_bps))))
    p2p.SetDeviceAttribute("Mtu", ns.UintegerValue(1500))
    p2p.SetChannelAttribute("Delay", ns.TimeValue(ns.Seconds(delay)))
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns.QueueSizeValue(ns.QueueSize("1p")))
    devices = p2p.Install(nodes)
    stack = ns.InternetStackHelper()
    stack.Install(nodes)
    tch = ns.TrafficControlHelper()
    tch.SetRootQueueDisc(kind)
    qdiscs = tch.Install(devices)  # before Assign, which would install FqCoDel otherwise
    addresses = ns.Ipv4AddressHelper()
    addresses.SetBase(ns.Ipv4Address("10.0.0.0"), ns.Ipv4Mask("255.255.255.0"))
    ifaces = addresses.Assign(devices)

    port = 5001
    factory = "ns3::TcpSocketFactory" if traffic == "tcp" else "ns3::UdpSocketFactory"
    sink_helper = ns.PacketSinkHelper(
        factory, ns.InetSocketAddress(ns.Ipv4Address.GetAny(), port).ConvertTo())
    sink_apps = sink_helper.Install(nodes.Get(1))
    sink_apps.Start(ns.Seconds(0.0))
    if traffic == "tcp":
        bulk = ns.BulkSendHelper(
            factory, ns.InetSocketAddress(ifaces.GetAddress(1), port).ConvertTo())
        bulk.SetAttribute("MaxBytes", ns.UintegerValue(0))
        bulk.SetAttribute("SendSize", ns.UintegerValue(1 << 16))
        bulk.Install(nodes.Get(0)).Start(ns.Seconds(0.0))
    else:
        # 1472-byte datagrams (1502 bytes on the PPP wire) at 1.2 times the link's packet rate
        cbr = ns.OnOffHelper(factory,
                             ns.InetSocketAddress(ifaces.GetAddress(1), port).ConvertTo())
        cbr.SetConstantRate(ns.DataRate(int(1.2 * rate_bps * 1472 / 1502)), 1472)
        cbr.Install(nodes.Get(0)).Start(ns.Seconds(0.0))
    aqm.warmup = warmup
    aqm.Hook(qdiscs.Get(0))
    aqm.HookSink(sink_apps.Get(0))

    cpu0 = time.process_time()
    ns.Simulator.Stop(ns.Seconds(warmup))
    ns.Simulator.Run()
    at_warmup = int(aqm.rx)
    ns.Simulator.Stop(ns.Seconds(duration - warmup))
    ns.Simulator.Run()
    at_end = int(aqm.rx)
    cpu = time.process_time() - cpu0
    result = {
        "simulator": "ns-3",
        "qdisc": qdisc,
        "cc": cc,
        "goodput_bps": (at_end - at_warmup) * 8 / (duration - warmup),
        "traffic": traffic,
        "sojourn_mean": float(aqm.Mean()),
        "sojourn_p95": float(aqm.Percentile(95.0)),
        "samples": int(aqm.sojourns.size()),
        "cpu_seconds": cpu,
    }
    ns.Simulator.Destroy()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qdiscs", default=",".join(QDISCS))
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--cc", choices=tuple(CCS), default="cubic")
    parser.add_argument("--traffic", choices=("tcp", "udp"), default="tcp",
                        help="a bulk TCP flow, or UDP at 1.2 times the link rate")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("ns") is None:
        print("ns3_aqm: the ns3 package is not installed (pip install -e '.[ns3]')",
              file=sys.stderr)
        return 2
    for name in args.qdiscs.split(","):
        if name not in QDISCS:
            parser.error(f"--qdiscs: unknown {name!r}; use {', '.join(QDISCS)}")
        result = run_ns3(name, duration=args.duration, warmup=args.warmup, cc=args.cc,
                         traffic=args.traffic)
        print(json.dumps(result) if args.json else result, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
