"""The autograders of lessons/assignments: references score full marks, starters zero, and
plausible wrong implementations lose points with feedback that names their mistake.

Every submission is graded once, all in parallel, by a module-scoped fixture; the tests then
read the reports.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from model_grades import SharedGrades

from netsim.cli import main
from netsim.grading import ASSIGNMENTS, get_assignment, resolve_name
from netsim.grading.framework import GradeReport
from netsim.grading.report import gradescope_json, junit_xml, text_report
from netsim.grading.supervisor import grade_many, grade_submission

# The module's fixture grades every reference, starter and wrong submission at once: on a
# busy machine that alone can take longer than the default 300 s per test
pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
SOLUTION_01 = (LESSONS / "teachers" / "solutions" / "tcp_parsing.py").read_text()
SOLUTION_11 = (LESSONS / "teachers" / "solutions" / "learning_switch.py").read_text()
SOLUTION_12 = (LESSONS / "teachers" / "solutions" / "dv_router.py").read_text()

REFERENCES = {
    "01-checksum-tcp-parsing": SOLUTION_01,
    "02-rto-estimator": "from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n",
    "03-reassembler": "from netsim.stack.tcp.reassembly import SegmentReassembler as "
                      "Reassembler\n",
    "04-reno": "from netsim.stack.tcp.congestion.reno import Reno as MyReno\n",
    "05-arp-cache": "from netsim.stack.arp import ArpTable as ArpCache\n",
    "06-tcp-receiver": "from netsim.stack.tcp.tcp_receiver import StreamReceiver as TcpReceiver"
                       ", unwrap, wrap\n",
    "07-tcp-sender": "from netsim.stack.tcp.tcp_sender import StreamSender as TcpSender\n",
    "07b-sender-timer": "from netsim.stack.tcp.lab_sender import LabSender as Sender\n",
    "08-network-interface": "from netsim.stack.netif import EthernetArp as NetworkInterface\n",
    "09-router": "from netsim.stack.forwarding import Router\n",
    "10-tcp-peer": "from netsim.stack.tcp.lab_peer import LabPeer as TcpPeer\n",
    "11-learning-switch": "from netsim.stack.learning import LearningTable as LearningSwitch\n",
    "12-dv-router": "from netsim.stack.dv import DvTable as DvRouter\n",
}

RTO_BASE = "from netsim.stack.tcp.rto import Rfc6298Estimator\n"
RENO_BASE = "from netsim.stack.tcp.congestion.reno import Reno\n"
ARP_BASE = "from netsim.stack.arp import ArpTable\n"
REASM_BASE = "from netsim.stack.tcp.reassembly import SegmentReassembler\n"
RECV_BASE = "from netsim.stack.tcp.tcp_receiver import StreamReceiver, unwrap, wrap\n"
SEND_BASE = "from netsim.stack.tcp.tcp_sender import StreamSender\n"
LAB_BASE = "from netsim.stack.tcp.lab_sender import LabSender\n"
ROUTER_BASE = "from netsim.stack.forwarding import Router as Reference, drop\n"
PEER_BASE = "from netsim.stack.tcp.lab_peer import LabPeer\n"
SWITCH_BASE = "from netsim.stack.learning import LearningTable\n"
DV_BASE = "from netsim.stack.dv import DvTable\n"
NIC_BASE = "from netsim.stack.arp import ArpTable\nfrom netsim.stack.netif import EthernetArp\n"

# A simple dictionary-based reassembler: correct unless a flag turns a bug on.
NAIVE_REASM = '''
class Reassembler:
    TRIM = True
    def __init__(self):
        self.next_index = 0
        self.held = {}
        self.last = None
    def insert(self, index, data, is_last, window_end):
        if is_last and index + len(data) <= window_end:
            self.last = index + len(data)
        data = data[:max(0, window_end - index)]
        if self.TRIM and index < self.next_index:
            data = data[self.next_index - index:]
            index = self.next_index
        if data and len(data) > len(self.held.get(index, b"")):
            self.held[index] = data
        out = bytearray()
        again = True
        while again:
            again = False
            for i in sorted(self.held):
                d = self.held[i]
                if i <= self.next_index < i + len(d) or (not self.TRIM and i < self.next_index):
                    del self.held[i]
                    out += d[self.next_index - i:] if self.TRIM else d
                    self.next_index = max(self.next_index, i + len(d))
                    again = True
                    break
                if i + len(d) <= self.next_index:
                    del self.held[i]
                    again = True
                    break
        return bytes(out)
    @property
    def pending_bytes(self):
        return sum(len(d) for d in self.held.values())
    @property
    def finished(self):
        return self.last is not None and self.next_index >= self.last
    def blocks(self):
        spans = []
        for i in sorted(self.held):
            s, e = i, i + len(self.held[i])
            if spans and s <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], e))
            else:
                spans.append((s, e))
        return spans
'''

# (assignment, name, source, check that must fail, words its feedback must contain)
WRONG: list[tuple[str, str, str, str, str]] = [
    # 01: checksum and TCP parsing
    ("01-checksum-tcp-parsing", "no_end_around_carry", SOLUTION_01 + '''
def internet_checksum(data):
    if len(data) % 2:
        data += b"\\x00"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    return ~total & 0xFFFF
''', "checksum_end_around_carry", "carries"),
    ("01-checksum-tcp-parsing", "odd_byte_padded_left", SOLUTION_01 + '''
_good = internet_checksum
def internet_checksum(data):
    if len(data) % 2:
        data = data[:-1] + b"\\x00" + data[-1:]
    return _good(data)
''', "checksum_odd_length", "LOW byte"),
    ("01-checksum-tcp-parsing", "data_offset_ignored", SOLUTION_01 + '''
_good_parse = parse_tcp_header
def parse_tcp_header(segment):
    h = _good_parse(segment)
    return TcpHeader(h.src_port, h.dst_port, h.seq, h.ack, h.data_offset, h.flags, h.window,
                     h.checksum, h.urgent, b"", bytes(segment[20:]))
''', "tcp_data_offset", "data_offset * 4"),
    ("01-checksum-tcp-parsing", "no_pseudo_header", SOLUTION_01 + '''
def tcp_checksum_ok(src_ip, dst_ip, segment):
    return internet_checksum(segment) == 0
''', "tcp_checksum", "pseudo-header"),
    # 02: RTO estimator
    ("02-rto-estimator", "alpha_quarter", RTO_BASE + '''
class RtoEstimator(Rfc6298Estimator):
    ALPHA = 1 / 4
''', "srtt_update", "alpha = 0.25"),
    ("02-rto-estimator", "rttvar_after_srtt", RTO_BASE + '''
class RtoEstimator(Rfc6298Estimator):
    def on_sample(self, rtt):
        if self.srtt is None:
            return super().on_sample(rtt)
        self.srtt = 7 / 8 * self.srtt + rtt / 8
        self.rttvar = 3 / 4 * self.rttvar + abs(self.srtt - rtt) / 4
        self._base = min(max(self.srtt + max(self.granularity, 4 * self.rttvar),
                             self.min_rto), self.max_rto)
        self.backoffs = 0
''', "rttvar_update", "NEW SRTT"),
    ("02-rto-estimator", "backoff_not_doubling", RTO_BASE + '''
class RtoEstimator(Rfc6298Estimator):
    def on_timeout(self):
        pass
''', "backoff_doubles", "did not change on a timeout"),
    ("02-rto-estimator", "backoff_never_reset", RTO_BASE + '''
class RtoEstimator(Rfc6298Estimator):
    def on_sample(self, rtt):
        b = self.backoffs
        super().on_sample(rtt)
        self.backoffs = b
''', "backoff_until_sample", "reset the backoff"),
    ("02-rto-estimator", "no_min_rto", RTO_BASE + '''
class RtoEstimator(Rfc6298Estimator):
    def __init__(self, min_rto=1.0, max_rto=60.0, initial_rto=1.0, granularity=0.001):
        super().__init__(0.0001, max_rto, initial_rto, granularity)
''', "min_rto", "min_rto"),
    # 03: reassembler
    ("03-reassembler", "overlap_delivered_twice", NAIVE_REASM + '''
Reassembler.TRIM = False
''', "overlap_assembled", "returned again"),
    ("03-reassembler", "window_off_by_one", REASM_BASE + '''
class Reassembler(SegmentReassembler):
    def insert(self, index, data, is_last, window_end):
        return super().insert(index, data, is_last, window_end + 1)
''', "window", "window_end is exclusive"),
    ("03-reassembler", "overlap_counted_twice", NAIVE_REASM, "overlap_held", "counted"),
    ("03-reassembler", "window_ignored", REASM_BASE + '''
class Reassembler(SegmentReassembler):
    def insert(self, index, data, is_last, window_end):
        return super().insert(index, data, is_last, 1 << 40)
''', "window", "window"),
    # 04: Reno
    ("04-reno", "abc_missing", RENO_BASE + '''
class MyReno(Reno):
    def on_ack(self, acked, rtt, flight, now):
        if self.cwnd < self.ssthresh:
            self.cwnd += acked
        else:
            super().on_ack(acked, rtt, flight, now)
''', "abc", "at most L*SMSS"),
    ("04-reno", "ssthresh_not_halved", RENO_BASE + '''
class MyReno(Reno):
    def on_loss(self, flight, now):
        self.ssthresh = max(flight, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss
''', "fast_retransmit", "not halved"),
    ("04-reno", "cwnd_not_reset_after_rto", RENO_BASE + '''
class MyReno(Reno):
    def on_rto(self, flight, now):
        self.ssthresh = max(flight // 2, 2 * self.mss)
''', "rto", "not reset to 1 SMSS"),
    ("04-reno", "ssthresh_from_cwnd", RENO_BASE + '''
class MyReno(Reno):
    def on_loss(self, flight, now):
        self.ssthresh = max(self.cwnd // 2, 2 * self.mss)
        self.cwnd = self.ssthresh + 3 * self.mss
''', "fast_retransmit", "FlightSize"),
    ("04-reno", "no_congestion_avoidance", RENO_BASE + '''
class MyReno(Reno):
    def on_ack(self, acked, rtt, flight, now):
        self.cwnd += min(acked, 2 * self.mss)
''', "congestion_avoidance", "still growing"),
    # 05: ARP
    ("05-arp-cache", "entries_never_expire", ARP_BASE + '''
class ArpCache(ArpTable):
    def __init__(self, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        super().__init__(float("inf"), retries, retry_interval, max_pending)
''', "expiry", "never expire"),
    ("05-arp-cache", "pending_unbounded", ARP_BASE + '''
class ArpCache(ArpTable):
    def __init__(self, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        super().__init__(timeout, retries, retry_interval, 10 ** 9)
''', "pending_bounded", "grow"),
    ("05-arp-cache", "one_retry_too_many", ARP_BASE + '''
class ArpCache(ArpTable):
    def __init__(self, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        super().__init__(timeout, retries + 1, retry_interval, max_pending)
''', "retries", "give up after"),
    ("05-arp-cache", "merge_flag_ignored", ARP_BASE + '''
class ArpCache(ArpTable):
    def update(self, ip, mac, now, create=True):
        return super().update(ip, mac, now, True)
''', "merge_flag", "must not add"),
    ("06-tcp-receiver", "ackno_ignores_syn", RECV_BASE + '''
class TcpReceiver(StreamReceiver):
    def ackno(self):
        a = super().ackno()
        return None if a is None else (a - 1) % 2**32
''', "syn", "SYN occupies one sequence number"),
    ("06-tcp-receiver", "window_not_shifted", RECV_BASE + '''
class TcpReceiver(StreamReceiver):
    def window_field(self, window, shift):
        return min(window, 65535)
''', "window_field", "not scaled"),
    ("06-tcp-receiver", "unwrap_without_checkpoint", RECV_BASE.replace(", unwrap", "") + '''
TcpReceiver = StreamReceiver
def unwrap(seqno, isn, checkpoint):
    return (seqno - isn) % 2**32
''', "unwrap_checkpoint", "checkpoint was ignored"),
    ("07-tcp-sender", "data_end_before_syn", SEND_BASE + '''
class TcpSender(StreamSender):
    def data_end(self):
        return (super().data_end() - 1) % 2**32
''', "start", "SYN occupies sequence number ISN"),
    ("07-tcp-sender", "syn_ack_drops_byte", SEND_BASE + '''
class TcpSender(StreamSender):
    def acknowledge(self, ackno):
        return super().acknowledge((ackno + 1) % 2**32)
''', "old_acks", "drops nothing"),
    ("07-tcp-sender", "fin_ack_counts_a_byte", SEND_BASE + '''
class TcpSender(StreamSender):
    def acknowledge(self, ackno):
        before = self.buffered()
        n = super().acknowledge(ackno)
        return n + 1 if n and n == before else n
''', "fin", "never drop more bytes than are held"),
    # 07b: the whole sender (window, timer)
    ("07b-sender-timer", "newest_segment_resent", LAB_BASE + '''
class Sender(LabSender):
    def tick(self, elapsed):
        out = super().tick(elapsed)
        return [self._outstanding[-1][1]] if out else out
''', "oldest", "OLDEST outstanding segment"),
    ("07b-sender-timer", "zero_window_backs_off", LAB_BASE + '''
class Sender(LabSender):
    def tick(self, elapsed):
        zero = self._window == 0
        self._window = self._window or 1
        out = super().tick(elapsed)
        self._window = 0 if zero else self._window
        return out
''', "zero_window", "no count and no backoff"),
    ("07b-sender-timer", "unsent_ack_taken", LAB_BASE + '''
class Sender(LabSender):
    def receive(self, ackno, window):
        if ackno is not None:
            self._next = max(self._next, (ackno - self._isn) % 2**32)
        super().receive(ackno, window)
''', "acks", "not yet sent"),
    # 08: network interface
    ("08-network-interface", "nic_request_per_datagram", NIC_BASE + '''
class NetworkInterface(EthernetArp):
    def __init__(self, mac, ip, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        super().__init__(mac, ip, ArpTable(timeout, retries, retry_interval, max_pending))
    def send_datagram(self, datagram, next_hop, now):
        frames = super().send_datagram(datagram, next_hop, now)
        if not frames:
            return [self._request(next_hop)]
        return frames
''', "arp_request", "one request per resolution"),
    ("08-network-interface", "nic_no_retries", NIC_BASE + '''
class NetworkInterface(EthernetArp):
    def __init__(self, mac, ip, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        super().__init__(mac, ip, ArpTable(timeout, retries, retry_interval, max_pending))
    def tick(self, now):
        return super().tick(now)._replace(frames=[])
''', "retries", "retry_interval"),
    ("08-network-interface", "nic_learns_everyone", NIC_BASE + '''
class NetworkInterface(EthernetArp):
    def __init__(self, mac, ip, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        super().__init__(mac, ip, ArpTable(timeout, retries, retry_interval, max_pending))
        self.arp.update = lambda ip, mac, now, create=True: ArpTable.update(
            self.arp, ip, mac, now, True)
''', "answer_request", "does not teach"),
    # 09: router
    ("09-router", "router_ttl_one_forwarded", ROUTER_BASE + '''
class Router(Reference):
    def decide(self, datagram, ttl, dst, total):
        return super().decide(datagram, 2 if ttl == 1 else ttl, dst, total)
''', "ttl_expired", "TTL 0"),
    ("09-router", "router_host_unreachable", ROUTER_BASE + '''
class Router(Reference):
    def decide(self, datagram, ttl, dst, total):
        d = super().decide(datagram, ttl, dst, total)
        return drop("no_route", (3, 1)) if d.reason == "no_route" else d
''', "no_route", "host unreachable"),
    ("09-router", "router_checksum_stale", ROUTER_BASE + '''
class Router(Reference):
    def decide(self, datagram, ttl, dst, total):
        d = super().decide(datagram, ttl, dst, total)
        if d.action != "forward":
            return d
        return d._replace(datagram=d.datagram[:10] + datagram[10:12] + d.datagram[12:])
''', "checksum", "not updated"),
    # 10: the whole TCP peer
    ("10-tcp-peer", "peer_no_empty_ack", PEER_BASE + '''
class TcpPeer(LabPeer):
    def receive(self, seg):
        return [s for s in super().receive(seg) if s[3] or s[4] or s[6]]
''', "ack_data", "sequence space"),
    ("10-tcp-peer", "peer_rst_anywhere", PEER_BASE + '''
class TcpPeer(LabPeer):
    def _rst_acceptable(self, seqno, ackno):
        return self._receiver.ackno() is not None or super()._rst_acceptable(seqno, ackno)
''', "rst_synchronized", "receive window"),
    ("10-tcp-peer", "peer_no_linger", PEER_BASE + '''
class TcpPeer(LabPeer):
    def receive(self, seg):
        out = super().receive(seg)
        if self._done():
            self._active = False
        return out
''', "active_close", "lingers"),
    # found by a hostile reader: the RST window test without wraparound
    ("10-tcp-peer", "peer_rst_window_no_wrap", PEER_BASE + '''
class TcpPeer(LabPeer):
    def _acceptable(self, seqno, length):
        nxt = self._receiver.ackno()
        if nxt is None or length > 0:
            return True
        window = self._window_field()
        return seqno == nxt if window == 0 else nxt <= seqno < nxt + window
''', "rst_synchronized", "RST"),
    # 11: learning switch
    ("11-learning-switch", "switch_floods_back", SWITCH_BASE + '''
class LearningSwitch(LearningTable):
    def receive(self, port, src, dst, vlan, now):
        out = super().receive(port, src, dst, vlan, now)
        return out + [port] if len(out) > 1 else out
''', "unknown_flooded", "never leaves by the port it came in on"),
    ("11-learning-switch", "switch_forwards_back", SWITCH_BASE + '''
class LearningSwitch(LearningTable):
    def receive(self, port, src, dst, vlan, now):
        return super().receive(port, src, dst, vlan, now) or [port]
''', "filter_same_port", "filtered"),
    ("11-learning-switch", "switch_never_ages", SWITCH_BASE + '''
class LearningSwitch(LearningTable):
    def __init__(self, ageing_time=300.0):
        super().__init__(1e12)
''', "ageing", "exactly"),
    # found by a hostile reader: a moved station keeps its old time, so it ages too soon
    ("11-learning-switch", "switch_move_keeps_time", SOLUTION_11.replace(
        "        self.macs[(vlan, src)] = [port, now]\n",
        "        e = self.macs.get((vlan, src))\n"
        "        if e is not None and e[0] != port and now < e[1] + self.ageing_time:\n"
        "            e[0] = port\n"
        "        else:\n"
        "            self.macs[(vlan, src)] = [port, now]\n"), "refresh", "new port"),
    # ... and a flood list taken once, before a port plugged in later
    ("11-learning-switch", "switch_ports_frozen", SOLUTION_11.replace(
        "        return [p for p in self.ports if p != port]\n",
        "        if not hasattr(self, 'frozen'):\n"
        "            self.frozen = list(self.ports)\n"
        "        return [p for p in self.frozen if p != port]\n"), "unknown_flooded",
     "added later"),
    # 12: distance-vector router
    ("12-dv-router", "dv_no_split_horizon", DV_BASE + '''
class DvRouter(DvTable):
    def __init__(self, split_horizon="poisoned_reverse", timeout=180.0, garbage_collection=120.0):
        super().__init__("off", timeout, garbage_collection)
''', "split_horizon", "split horizon"),
    ("12-dv-router", "dv_cost_ignored", DV_BASE + '''
class DvRouter(DvTable):
    def receive(self, interface, neighbour, vector, cost, now):
        super().receive(interface, neighbour, vector, 0, now)
''', "learn_new", "cost"),
    ("12-dv-router", "dv_worse_from_anyone", DV_BASE + '''
class DvRouter(DvTable):
    def receive(self, interface, neighbour, vector, cost, now):
        for network, _ in vector:
            route = self.routes.get(network)
            if route is not None and route.next_hop is not None:
                route.next_hop = neighbour  # every neighbour believed as if the next hop
        super().receive(interface, neighbour, vector, cost, now)
''', "better_route", "ignored"),
    # 12: distance-vector router; each scored 27/27 for a hostile reader (or lost points only
    # when the random sequences happened on it in their time budget)
    ("12-dv-router", "dv_switch_keeps_timer", SOLUTION_12.replace(
        "                route.interface = interface\n"
        "                route.expires = now + self.timeout\n",
        "                route.interface = interface\n"), "timeout", "starts a new timeout"),
    ("12-dv-router", "dv_triggered_no_split_horizon", SOLUTION_12.replace(
        "            if interface is not None and route.interface == interface \\\n",
        "            if not changed_only and interface is not None and route.interface == "
        "interface \\\n"), "triggered", "split horizon applies to triggered updates"),
    ("12-dv-router", "dv_down_restarts_gc", SOLUTION_12.replace(
        "            if route.interface == interface and route.metric < INFINITY:\n",
        "            if route.interface == interface:\n"), "interface_down",
     "FIRST set to 16"),
    ("12-dv-router", "dv_next_hop_16_restarts_gc", SOLUTION_12.replace(
        "            same = route.next_hop == neighbour\n",
        "            same = route.next_hop == neighbour\n"
        "            if same and metric >= INFINITY:\n"
        "                self._delete(route, now)\n"
        "                continue\n"), "garbage_collection", "FIRST set to 16"),
    ("12-dv-router", "dv_connect_keeps_learned", SOLUTION_12.replace(
        "        self.routes[network] = Route(cost, None, interface, None)\n",
        "        if network not in self.routes or self.routes[network].next_hop is None:\n"
        "            self.routes[network] = Route(cost, None, interface, None)\n"),
     "interface_down", "connect() replaces it"),
    ("12-dv-router", "dv_halfway_any_metric", SOLUTION_12.replace(
        "\n                       and metric == route.metric)", ")"), "halfway",
     "WORSE metric from another neighbour"),
    # deadline() kept in a field: set by expire(), lowered for a new route only, so a garbage
    # collection started by receive() comes late (invisible in the simulations' route changes)
    ("12-dv-router", "dv_deadline_cached", SOLUTION_12.replace(
        "        self.routes: dict[str, Route] = {}\n",
        "        self.routes: dict[str, Route] = {}\n"
        "        self.cached: float | None = None\n").replace(
        "                                                 now + self.timeout)\n",
        "                                                 now + self.timeout)\n"
        "                    self.cached = min(self.cached or now + self.timeout, "
        "now + self.timeout)\n").replace(
        "                del self.routes[network]\n",
        "                del self.routes[network]\n"
        "        self.cached = self._times()\n").replace(
        "    def deadline(self) -> float | None:\n",
        "    def deadline(self) -> float | None:\n"
        "        return self.cached\n\n"
        "    def _times(self) -> float | None:\n"), "deadline", "counts too"),
    # the half-way test made before the next hop's refresh, and for the next hop too
    ("12-dv-router", "dv_halfway_before_refresh", SOLUTION_12.replace(
        "            if same and metric < INFINITY:\n"
        "                route.expires = now + self.timeout\n"
        "            halfway = (route.metric < INFINITY and route.expires is not None\n",
        "            halfway = (route.metric < INFINITY and route.expires is not None\n").replace(
        "                       and metric == route.metric)\n",
        "                       and metric == route.metric)\n"
        "            if same and metric < INFINITY:\n"
        "                route.expires = now + self.timeout\n").replace(
        "                    or (halfway and not same):", "                    or halfway:"),
     "triggered", "half-way"),
    ("12-dv-router", "dv_simple_sends_back_16", SOLUTION_12.replace(
        "                if self.split_horizon == \"simple\":\n",
        "                if self.split_horizon == \"simple\" and route.metric < INFINITY:\n"),
     "split_horizon", "those at 16"),
    ("12-dv-router", "dv_connect_not_flagged", SOLUTION_12.replace(
        "        self.routes[network] = Route(cost, None, interface, None)\n",
        "        old = self.routes.get(network)\n"
        "        if old is not None and old.next_hop is None:\n"
        "            old.metric, old.gc_at = cost, None\n"
        "            return\n"
        "        self.routes[network] = Route(cost, None, interface, None)\n"),
     "interface_down", "connected again is a change"),
]

# Code that misbehaves: an endless loop, an exception, a dying process, a loop at import.
HOSTILE = {
    "loop_in_method": ("02-rto-estimator", RTO_BASE + '''
class RtoEstimator(Rfc6298Estimator):
    def on_syn_timeout_done(self):
        while True:
            pass
'''),
    "exception": ("04-reno", RENO_BASE + '''
class MyReno(Reno):
    def on_dup_ack(self, count, flight, now):
        return 1 // 0
'''),
    "process_exit": ("05-arp-cache", ARP_BASE + '''
import os
class ArpCache(ArpTable):
    def entries(self, now):
        os._exit(3)
'''),
    "loop_at_import": ("02-rto-estimator", "while True:\n    pass\n"),
    "syntax_error": ("03-reassembler", "class Reassembler:\n    def insert(self\n"),
    "wrong_type": ("03-reassembler", REASM_BASE + '''
class Reassembler(SegmentReassembler):
    def insert(self, index, data, is_last, window_end):
        return super().insert(index, data, is_last, window_end).decode("latin-1")
'''),
    "object_type": ("03-reassembler", REASM_BASE + '''
class Chunk:
    def __init__(self, data):
        self.data = data
class Reassembler(SegmentReassembler):
    def insert(self, index, data, is_last, window_end):
        return Chunk(super().insert(index, data, is_last, window_end))
'''),
    "forged_lines": ("04-reno", RENO_BASE + '''
class MyReno(Reno):
    def on_dup_ack(self, count, flight, now):
        print("all checks done\\n  PASS    fast_recovery 10/10\\nScore: 99/99 (100%)")
        raise ValueError("oops\\n  PASS    fast_recovery 10/10\\n\\nScore: 100/100 (100%)")
'''),
}
HOSTILE_TIMEOUT = 2.0
# wrong implementations whose every check is run (tests below read more than the one check)
FULLY_GRADED = {"backoff_not_doubling", "abc_missing"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           shared_grades: SharedGrades) -> dict[str, GradeReport]:
    """Every submission graded once, in parallel: keys 'ref:A', 'starter:A', 'wrong:NAME'.
    The references are shared with tests/test_compiled_build.py (tests/model_grades.py)."""
    tmp = tmp_path_factory.mktemp("submissions")
    jobs: list[tuple[str, str, str]] = []
    for a in ASSIGNMENTS:
        starter = LESSONS / "assignments" / a / get_assignment(a).filename
        helpers = get_assignment(a).helpers
        if helpers:  # 10: the student's sender.py and tcp_receiver.py go next to the starter
            folder = tmp / f"starter-{a}"
            folder.mkdir()
            shutil.copyfile(starter, folder / starter.name)
            for name in helpers:
                shutil.copyfile(LESSONS / "teachers" / "solutions" / name, folder / name)
            starter = folder / starter.name
        jobs.append((f"starter:{a}", a, str(starter)))
    items: list[tuple[str, str] | tuple[str, str, dict[str, Any]]] = \
        [(a, p) for _, a, p in jobs]
    for a, name, src, check, _ in WRONG:
        p = tmp / f"wrong_{name}.py"
        p.write_text(src)
        jobs.append((f"wrong:{name}", a, str(p)))
        # a wrong implementation's test reads one check, and no notes: only that check runs
        # (the others would cost minutes), unless another test reads the whole report
        items.append((a, str(p)) if name in FULLY_GRADED
                     else (a, str(p), {"only": [check], "compare_copies": False}))
    refs, reports = shared_grades.references(REFERENCES, items)
    out = {f"ref:{a}": rep for a, rep in refs.items()}
    out |= {key: rep for (key, _, _), rep in zip(jobs, reports, strict=True)}
    hostile = []
    for name, (a, src) in HOSTILE.items():
        p = tmp / f"hostile_{name}.py"
        p.write_text(src)
        hostile.append((name, a, str(p)))
    reps = grade_many([(a, p) for _, a, p in hostile], timeout=HOSTILE_TIMEOUT,
                      import_timeout=5.0)
    out.update({f"hostile:{n}": r for (n, _, _), r in zip(hostile, reps, strict=True)})
    return out


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_reference_implementation_scores_full_marks(graded: dict[str, GradeReport],
                                                    assignment: str) -> None:
    rep = graded[f"ref:{assignment}"]
    assert rep.full_marks, text_report(rep)
    kinds = {c.kind for c in get_assignment(assignment).checks}
    assert {"unit", "simulation"} <= kinds  # unit checks and a check inside a full simulation
    assert len(rep.results) >= 10


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_starter_file_imports_and_scores_zero(graded: dict[str, GradeReport],
                                              assignment: str) -> None:
    rep = graded[f"starter:{assignment}"]
    assert rep.score == 0, text_report(rep)
    # The file imported: the checks ran and met the TODOs, nothing died or timed out.
    assert all(r.status in ("error", "fail") for r in rep.results)
    assert any("NotImplementedError" in r.output and "TODO" in r.output for r in rep.results)


@pytest.mark.parametrize(("assignment", "name", "check", "words"),
                         [(a, n, c, w) for a, n, _, c, w in WRONG],
                         ids=[n for _, n, _, _, _ in WRONG])
def test_wrong_implementation_loses_points_with_feedback(graded: dict[str, GradeReport],
                                                         assignment: str, name: str,
                                                         check: str, words: str) -> None:
    rep = graded[f"wrong:{name}"]
    assert rep.score < rep.max_score
    result = rep.result(check)
    assert result.status == "fail", text_report(rep)
    assert words in result.output, result.output
    # feedback shows what was expected and what happened
    assert "expected" in result.output and "got" in result.output


def test_each_assignment_has_three_wrong_implementations_caught() -> None:
    for a in ASSIGNMENTS:
        assert sum(1 for w in WRONG if w[0] == a) >= 3


def test_feedback_shows_the_script_up_to_the_failure(graded: dict[str, GradeReport]) -> None:
    out = graded["wrong:backoff_not_doubling"].result("stack_retransmit_timer").output
    assert "TCP script so far:" in out
    assert "Flags [S]" in out and "expect nothing" in out  # every step, from the SYN on
    unit = graded["wrong:rttvar_after_srtt"].result("rttvar_update").output
    assert "script so far:" in unit and "est.on_sample(0.5)" in unit


def test_endless_loop_is_reported_as_timeout(graded: dict[str, GradeReport]) -> None:
    rep = graded["hostile:loop_in_method"]
    r = rep.result("syn_timeout_3s")
    assert r.status == "timeout" and "time limit" in r.output
    # the grader went on with the other checks in a fresh process
    assert rep.result("first_sample").passed and rep.result("backoff_doubles").passed
    assert rep.seconds < 25


def test_exception_in_student_code_is_reported(graded: dict[str, GradeReport]) -> None:
    rep = graded["hostile:exception"]
    r = rep.result("fast_recovery")
    assert r.status == "error"
    assert "ZeroDivisionError" in r.output and "hostile_exception.py" in r.output
    assert rep.result("slow_start").passed


def test_student_text_cannot_pass_for_the_graders_lines(graded: dict[str, GradeReport]) -> None:
    """An exception message and printed text with line breaks: shown (the teacher sees them),
    but on one line or behind "| ", never as a line of its own that reads like a result."""
    rep = graded["hostile:forged_lines"]
    r = rep.result("fast_recovery")
    assert r.status == "error" and "Score: 100/100" in r.output and "Score: 99/99" in r.output
    lines = [ln.strip() for ln in text_report(rep).splitlines()]
    assert sum(ln.startswith("Score:") for ln in lines) == 1, text_report(rep)
    assert sum(ln.startswith("PASS") for ln in lines) == sum(x.passed for x in rep.results)
    assert rep.score < rep.max_score
    shown = [t["output"] for t in json.loads(gradescope_json(rep))["tests"]]
    for block in [r.output, *shown]:
        assert "\n  PASS" not in block and "\nScore:" not in block, block


def test_dying_process_and_import_problems_are_reported(graded: dict[str, GradeReport]) -> None:
    died = graded["hostile:process_exit"]
    assert died.result("expiry").status == "error"
    assert "died" in died.result("expiry").output
    assert died.result("pending_queue").passed  # the next runner carried on
    loop = graded["hostile:loop_at_import"]
    assert loop.score == 0 and all(r.status == "timeout" for r in loop.results)
    syntax = graded["hostile:syntax_error"]
    assert syntax.score == 0 and "SyntaxError" in syntax.results[0].output


def test_gradescope_json_is_well_formed(graded: dict[str, GradeReport]) -> None:
    rep = graded["wrong:abc_missing"]
    doc = json.loads(gradescope_json(rep))
    assert doc["score"] == rep.score
    assert len(doc["tests"]) == len(rep.results)
    for t in doc["tests"]:
        assert {"name", "score", "max_score", "output"} <= set(t)
        assert 0 <= t["score"] <= t["max_score"]
    assert sum(t["max_score"] for t in doc["tests"]) == rep.max_score
    failing = next(t for t in doc["tests"] if t["name"] == "abc")
    assert failing["score"] == 0 and "L*SMSS" in failing["output"]


def test_junit_xml_is_well_formed(graded: dict[str, GradeReport]) -> None:
    rep = graded["hostile:loop_in_method"]
    root = ET.fromstring(junit_xml(rep))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(rep.results)
    assert int(suite.get("errors", "0")) >= 1  # the timeout
    names_with_error = {c.get("name") for c in cases if c.find("error") is not None}
    assert "syn_timeout_3s" in names_with_error


def test_cli_exit_status_and_formats(tmp_path: Path) -> None:
    ref = tmp_path / "rto.py"
    ref.write_text(REFERENCES["02-rto-estimator"])
    out = tmp_path / "results.json"
    assert main(["grade", "02", str(ref), "--format", "gradescope", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["score"] == get_assignment("02").max_score
    starter = LESSONS / "assignments" / "02-rto-estimator" / "rto_estimator.py"
    xml_out = tmp_path / "junit.xml"
    assert main(["grade", "02-rto-estimator", str(starter), "--format", "junit",
                 "-o", str(xml_out), "--timeout", "5"]) == 1
    ET.parse(xml_out)
    assert main(["grade", "99", str(ref)]) == 2  # unknown assignment: a usage error
    assert main(["grade", "02", str(tmp_path / "missing.py")]) == 2


def test_batch_mode_writes_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text(REFERENCES["03-reassembler"])
    (subs / "bob").mkdir()
    (subs / "bob" / "reassembler.py").write_text(
        (LESSONS / "assignments" / "03-reassembler" / "reassembler.py").read_text())
    (subs / "carol").mkdir()  # handed in nothing
    table = tmp_path / "grades.csv"
    assert main(["grade", "03", "--batch", str(subs), "--csv", str(table)]) == 1
    rows = list(csv.DictReader(table.open()))
    by = {r["submission"]: r for r in rows}
    full = str(get_assignment("03").max_score)
    assert by["alice.py"]["score"] == full and by["alice.py"]["max_score"] == full
    assert by["bob"]["score"] == "0" and "in_order" in by["bob"]["not_passed"]
    assert "no submission" in by["carol"]["not_passed"]
    assert "window" in rows[0]  # one column per check
    assert "alice.py" in capsys.readouterr().out
    # alice only re-exported netsim's reference: the teacher is told
    assert "reference implementation" in by["alice.py"]["notes"] and not by["bob"]["notes"]


def test_reference_reuse_is_noted_for_the_teacher(graded: dict[str, GradeReport]) -> None:
    assert any("Rfc6298Estimator" in n for n in graded["ref:02-rto-estimator"].notes)
    assert any("Reno" in n for n in graded["wrong:abc_missing"].notes)  # a subclass
    # the teacher's solution handed in as it is: a copy, found by comparing the code
    copied = " ".join(graded["ref:01-checksum-tcp-parsing"].notes)
    assert "looks like a copy" in copied and "teacher's solution tcp_parsing.py" in copied
    assert "internet_checksum ~" in copied
    assert not graded["starter:02-rto-estimator"].notes
    assert "note: uses netsim's reference" in text_report(graded["ref:05-arp-cache"])


def test_assignment_names_resolve() -> None:
    assert resolve_name("4") == "04-reno"
    assert resolve_name("reno") == "04-reno"
    assert resolve_name("05-arp-cache") == "05-arp-cache"


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    rep = grade_submission("01", tmp_path / "nothing.py")
    assert rep.score == 0 and "no such file" in rep.results[0].output


@pytest.mark.parametrize(("args", "words"), [
    (["--batch", "{subs}", "-j", "-1"], "--jobs: -1"),
    (["--batch", "{empty}"], "holds no submissions"),
    (["--batch", "{subs}", "--csv", "{tmp}"], "--csv:"),
    (["{tmp}/notes.txt"], "not a Python file"),
    (["{tmp}"], "is a folder"),
    (["{tmp}/missing.py"], "no such file"),
    (["{subs}/a.py", "--timeout", "-1"], "--timeout"),
])
def test_cli_refuses_bad_input_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        args: list[str], words: str) -> None:
    subs, empty = tmp_path / "subs", tmp_path / "empty"
    subs.mkdir()
    empty.mkdir()
    (subs / "a.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text("x = 1\n")
    argv = [a.format(subs=subs, empty=empty, tmp=tmp_path) for a in args]
    t0 = time.monotonic()
    assert main(["grade", "02", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert time.monotonic() - t0 < 5  # refused before any grading


def test_syntax_error_is_reported_once(graded: dict[str, GradeReport]) -> None:
    rep = graded["hostile:syntax_error"]
    assert "SyntaxError" in rep.problem
    text = text_report(rep)
    assert text.count("SyntaxError") == 1, text
    assert all(r.output.startswith("not run:") for r in rep.results)


def test_batch_shows_progress_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.py").write_text("x = 1\n")
    (subs / "b.py").write_text("y = 2\n")
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["grade", "05", "--batch", str(subs), "--timeout", "2"]) == 0
    shown = tty.getvalue()
    assert "grade [" in shown and "2/2" in shown and "ETA" in shown
    assert "a.py" in capsys.readouterr().out


def test_a_renamed_reformatted_copy_is_noted() -> None:
    from netsim.grading.similarity import similarity_notes
    a = get_assignment("01")
    renamed = SOLUTION_01
    for old, new in (("data", "buf"), ("total", "acc"), ("segment", "seg"), ("offset", "off")):
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    renamed = "\n".join(line.split("#")[0].rstrip() for line in renamed.splitlines())
    notes = " ".join(similarity_notes(renamed, a, ""))
    assert "looks like a copy" in notes and "tcp_parsing.py" in notes
    # asked not to compare (the corpus tests, which read no notes): no copy note, and the
    # reuse of netsim's reference is still noted
    assert similarity_notes(renamed, a, "", compare_copies=False) == []
    reuse = REFERENCES["02-rto-estimator"]
    assert similarity_notes(reuse, get_assignment("02"), "RtoEstimator", compare_copies=False) \
        == similarity_notes(reuse, get_assignment("02"), "RtoEstimator") != []
    # an independent implementation is not a copy of the reference
    assert similarity_notes(NAIVE_REASM, get_assignment("03"), "Reassembler") == []
    # the source is parsed, never run, and odd sources are no trouble
    assert similarity_notes("import os\nos._exit(3)\n" + "(" * 5000, a, "") == []


@pytest.mark.parametrize("source", [
    "def wrap(n, isn):\n    return (n + isn) % 2**32\n",
    "def wrap(n: int, isn: int) -> int:\n    return (isn + n) & 0xFFFFFFFF\n",
    'M = 1 << 32\n\ndef wrap(n, isn):\n    """The 32-bit sequence number."""\n'
    "    return (isn + n) % M\n",
])
def test_a_one_line_function_is_no_copy(source: str) -> None:
    """Assignment 06's `wrap` has one way to be written: each correct one was "a copy" of
    netsim's or the solution's (the signature, which the starter dictates, was counted)."""
    from netsim.grading.similarity import similarity_notes
    asg = get_assignment("06-tcp-receiver")
    assert similarity_notes(source, asg, asg.target) == []
    # the whole solution handed in (renamed) is still a copy, its wrap aside
    solution = (ROOT / "lessons" / "teachers" / "solutions" / "tcp_receiver.py").read_text()
    notes = " ".join(similarity_notes(solution.replace("checkpoint", "cp"), asg, asg.target))
    assert "unwrap ~" in notes and "TcpReceiver ~" in notes
    assert not re.search(r"(?<!un)wrap ~", notes), notes


def test_values_from_the_student_side_are_checked() -> None:
    from netsim.grading.codec import BadValue, clean_text, decode, encode, loads
    assert decode(encode((1, b"\x00", [None, 2.5], {"k": float("inf")}))) == \
        (1, b"\x00", [None, 2.5], {"k": float("inf")})
    deep: object = 1
    for _ in range(100):
        deep = [deep]
    for bad in ({"$f": "nan"}, 10 ** 60, "x" * (2 << 20), deep, {"$b": "!!"},
                {"$evil": 1}, {"$ip": "300.1.1.1"}, {"a": 1, "$ref": 2}):
        with pytest.raises(BadValue):
            decode(bad)
    with pytest.raises(BadValue):
        loads(b'{"id": 1, "ok": NaN}')
    with pytest.raises(BadValue):
        loads(b"[1]")
    text = clean_text("\x1b[31mred\x1b[0m\x00\x07 ok\u202e\n" + "y" * 10_000, 100)
    assert text.startswith("red ok\n") and "\x1b" not in text and "more characters" in text
    # the direction marks reorder what a reader sees, like the overrides
    assert clean_text("a\u200eb\u200fc\u061cd", 100) == "abcd"


def test_a_value_of_the_wrong_type_fails_the_check_with_its_name(
        graded: dict[str, GradeReport]) -> None:
    rep = graded["hostile:wrong_type"]
    r = rep.result("in_order")
    assert r.status == "error" and "insert() gave a value of type str" in r.output, r.output
    assert "must be bytes" in r.output
    assert rep.score == 0


def test_an_object_returned_for_a_plain_value_is_named_as_such(
        graded: dict[str, GradeReport]) -> None:
    """Not the grader's internal name for a remote object and its address (which also
    changed from run to run)."""
    r = graded["hostile:object_type"].result("in_order")
    assert r.status == "error" and "insert() gave an object of a class of yours" in r.output
    assert "Ref" not in r.output and "0x" not in r.output, r.output


def test_stop_at_first_failure_and_only_skip_the_other_checks() -> None:
    """The corpus tests read only the first failing check, and the tests of WRONG one named
    check: grading stops there, or runs just that one, when asked."""
    from netsim.grading.supervisor import grade_submission
    wrong = next((Path(__file__).parent / "data" / "wrong_impls" / "02-rto-estimator").glob("*.py"))
    full = grade_submission("02-rto-estimator", wrong)
    quick = grade_submission("02-rto-estimator", wrong, stop_at_first_failure=True)
    first = next(i for i, r in enumerate(full.results) if not r.passed)
    assert [r.status for r in quick.results[:first + 1]] == \
        [r.status for r in full.results[:first + 1]]
    assert first + 1 < len(full.results)  # something was left to skip
    assert all(r.status == "skipped" for r in quick.results[first + 1:])
    assert quick.score <= full.score < full.max_score

    failing, passing = full.results[first], full.results[0 if first else -1]
    assert passing.passed
    one = grade_submission("02-rto-estimator", wrong, only=[failing.name, passing.name])
    assert [r.name for r in one.results] == [r.name for r in full.results]
    ran = {r.name: r for r in one.results if r.status != "skipped"}
    assert set(ran) == {failing.name, passing.name}
    assert (ran[failing.name].status, ran[failing.name].output) == ("fail", failing.output)
    assert ran[passing.name].passed
    assert one.score == passing.points < one.max_score == full.max_score
    with pytest.raises(ValueError, match="only: 02-rto-estimator has no check named nope"):
        grade_submission("02-rto-estimator", wrong, only=["nope"])


@pytest.mark.parametrize(("source", "words"), [
    ("from netsim.stack.tcp import tcp_receiver\n\ndef wrap(n, isn):\n"
     "    return tcp_receiver.wrap(n, isn)\n", "calls netsim.stack.tcp.tcp_receiver.wrap"),
    ("from netsim.stack.tcp.tcp_receiver import unwrap as u\n",
     "u is netsim.stack.tcp.tcp_receiver.unwrap"),
    ("import netsim.stack.tcp.tcp_receiver as r\nwrap = r.wrap\n",
     "wrap is netsim.stack.tcp.tcp_receiver.wrap"),
])
def test_a_helper_taken_from_the_reference_is_noted(source: str, words: str) -> None:
    """Not only the target class: 06's wrap/unwrap handed over to netsim's own are named
    for the teacher (a one-line wrapper is too short to be called a copy)."""
    from netsim.grading.similarity import similarity_notes
    asg = get_assignment("06-tcp-receiver")
    notes = " ".join(similarity_notes(source, asg, asg.target))
    assert "uses netsim's reference implementation" in notes and words in notes, notes


def test_the_copy_check_cannot_be_made_to_run_for_minutes() -> None:
    """Many large functions of one shape, each close in size to a unit of the reference, made
    the trusted process spend minutes per submission; the comparison now stops on a budget."""
    import time

    from netsim.grading.similarity import BUDGET, MAX_SOURCE, similarity_notes
    lines = []
    for k in range(188):
        lines.append(f"def f{k}(a, b, c):")
        lines += [f"    a{i % 7} = b{i % 5} + c{i % 3}" for i in range(76)]
    lines.append("class TcpReceiver: pass\ndef wrap(n, i): return 0\n"
                 "def unwrap(s, i, c): return 0")
    source = "\n".join(lines)
    assert len(source) < MAX_SOURCE  # it is parsed and compared, not skipped for its size
    asg = get_assignment("06-tcp-receiver")
    t0 = time.thread_time()
    notes = similarity_notes(source, asg, asg.target)
    assert time.thread_time() - t0 < BUDGET + 2.0, notes
    assert not any("looks like a copy" in n for n in notes)


@pytest.mark.parametrize("source", [
    "import netsim.stack.tcp.tcp_receiver as m\n"
    "TcpReceiver, wrap, unwrap = m.StreamReceiver, m.wrap, m.unwrap\n",
    "from netsim.stack.tcp import tcp_receiver as m\nTcpReceiver = m.StreamReceiver\n",
    "import netsim.stack.tcp.tcp_receiver\n"
    "TcpReceiver = netsim.stack.tcp.tcp_receiver.StreamReceiver\n",
    "from netsim.stack.tcp.tcp_receiver import *\nTcpReceiver = StreamReceiver\n",
    "from netsim.stack.tcp.tcp_receiver import *\nclass TcpReceiver(StreamReceiver):\n    pass\n",
])
def test_the_reference_note_sees_a_module_alias(source: str) -> None:
    from netsim.grading.similarity import similarity_notes
    asg = get_assignment("06-tcp-receiver")
    assert any("reference implementation" in n for n in similarity_notes(source, asg,
                                                                          asg.target))


@pytest.mark.parametrize(("assignment", "source"), [
    ("10-tcp-peer", "from netsim.stack.tcp.lab_peer import *\nTcpPeer = LabPeer\n"),
    ("11-learning-switch", "from netsim.stack.learning import *\n"
                           "class LearningSwitch(LearningTable):\n    pass\n"),
])
def test_a_star_import_of_the_reference_is_noted(assignment: str, source: str) -> None:
    from netsim.grading.similarity import similarity_notes
    asg = get_assignment(assignment)
    assert any("reference implementation" in n for n in similarity_notes(source, asg,
                                                                          asg.target))


def test_a_copy_of_a_large_reference_class_is_noted() -> None:
    """netsim's DvTable is over 6000 normalised tokens: a verbatim copy renamed DvRouter was
    not compared at all (units that large were skipped) and got no note (found by a hostile
    reader)."""
    from netsim.grading.similarity import similarity_notes
    source = (ROOT / "netsim" / "stack" / "dv.py").read_text().replace("DvTable", "DvRouter")
    asg = get_assignment("12-dv-router")
    notes = " ".join(similarity_notes(source, asg, asg.target))
    assert "looks like a copy" in notes and "DvRouter ~ netsim's netsim.stack.dv.DvTable" in notes


def test_a_death_at_import_says_its_exit_status(tmp_path: Path) -> None:
    """A sandbox that ends while importing says how it ended (a resource limit, a signal or
    exit() look alike otherwise)."""
    from netsim.grading.supervisor import grade_submission
    dies = tmp_path / "rto_estimator.py"
    dies.write_text("import os\nos._exit(3)\n")
    rep = grade_submission("02-rto-estimator", dies)
    assert rep.score == 0
    assert "the process running your code died (exit status 3)" in rep.problem, rep.problem
