"""netsim.trace: the Recorder (what it keeps, filters, the on/off switch), its accessors, and
the exports (JSON lines round trip, CSV, pandas)."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from netsim.errors import NetsimError, UsageError
from netsim.stack.events import (
    CwndRecord,
    DropRecord,
    EventRecord,
    RttRecord,
    SegmentRecord,
    StateRecord,
)
from netsim.stack.tcp.config import TcpConfig
from netsim.trace import KINDS, Recorder, TraceFormatError, peer_of, read_jsonl

sys.path.insert(0, str(Path(__file__).parent))
from trace_helpers import transfer  # noqa: E402

CLIENT = "10.0.0.1:49152>10.0.0.2:9000"
SERVER = "10.0.0.2:9000>10.0.0.1:49152"


@pytest.fixture(scope="module")
def lossy() -> Recorder:
    """60 kB h1 -> h2 with the 4th and the 25th data frame lost."""
    return transfer(60_000, lose=[3, 24])


# ---------------------------------------------------------------------- what is recorded
def test_recorder_keeps_every_kind_of_record_from_both_hosts(lossy: Recorder) -> None:
    kinds = Counter(type(r) for r in lossy)
    for cls in (SegmentRecord, CwndRecord, RttRecord, StateRecord, EventRecord, DropRecord):
        assert kinds[cls] > 0, cls.__name__
    assert {"h1", "h2"} <= set(lossy.hosts())
    assert lossy.connections() == [CLIENT, SERVER]
    times = [r.time for r in lossy]
    assert times == sorted(times)


def test_segments_accessor_filters_by_connection_and_direction(lossy: Recorder) -> None:
    tx = lossy.segments(CLIENT, "tx")
    rx = lossy.segments(CLIENT, "rx")
    assert tx and rx
    assert all(s.conn == CLIENT and s.direction == "tx" and s.host == "h1" for s in tx)
    assert all(s.direction == "rx" for s in rx)
    assert len(lossy.segments(CLIENT)) == len(tx) + len(rx)
    # What h1 sent and h2 received: the same bytes, minus the two frames the link lost.
    sent = sum(s.length for s in tx)
    got = sum(s.length for s in lossy.segments(SERVER, "rx"))
    assert sent - got == 2 * 1448
    assert lossy.bytes_sent(CLIENT) == sent
    with pytest.raises(UsageError, match="direction"):
        lossy.segments(CLIENT, "up")


def test_loss_shows_as_link_drops_retransmissions_and_a_fast_retransmit(lossy: Recorder) -> None:
    drops = lossy.drops(where="link")
    assert len(drops) == 2 and all(d.reason == "loss" for d in drops)
    data = [s for s in lossy.segments(CLIENT, "tx") if s.length]
    lost = sorted({data[3].seq_rel, data[24].seq_rel})  # the frames the link was told to lose
    assert sorted(s.seq_rel for s in data if s.retransmit) == lost
    assert lossy.events(CLIENT, "fast_retransmit")
    assert any(c.event == "fast_retransmit" for c in lossy.cwnd(CLIENT))


def test_states_accessor_shows_the_client_lifecycle(lossy: Recorder) -> None:
    path = [(s.old, s.new) for s in lossy.states(CLIENT)]
    assert path[0] == ("CLOSED", "SYN-SENT")
    assert ("SYN-SENT", "ESTABLISHED") in path
    assert path[-1][1] in ("TIME-WAIT", "CLOSED")


def test_rtt_accessor_has_samples_near_the_path_rtt(lossy: Recorder) -> None:
    samples = [r.sample for r in lossy.rtt(CLIENT) if r.sample is not None]
    assert samples
    # 2 x 10 ms propagation plus serialisation at 20 Mbit/s: never below 20 ms.
    assert min(samples) >= 0.020 and max(samples) < 0.2


def test_connection_names_accept_objects_and_peer_of_swaps_the_ends(lossy: Recorder) -> None:
    assert peer_of(CLIENT) == SERVER
    assert peer_of(peer_of(CLIENT)) == CLIENT

    class FakeConn:
        name = CLIENT

    class FakeStream:
        conn = FakeConn()

    assert lossy.segments(FakeStream()) == lossy.segments(CLIENT)
    assert lossy.host_of(SERVER) == "h2"
    assert lossy.sender() == CLIENT
    assert lossy.sender(SERVER) == CLIENT


# ---------------------------------------------------------------------- filters and switch
def test_host_filter_keeps_only_that_hosts_records() -> None:
    everything = transfer(30_000)
    only_h1 = transfer(30_000, recorder=Recorder(hosts={"h1"}))
    assert only_h1.hosts() == ["h1"]
    assert only_h1.records == [r for r in everything if r.host == "h1"]


def test_kind_filter_keeps_only_those_record_types() -> None:
    rec = transfer(30_000, recorder=Recorder(kinds={"cwnd", StateRecord}))
    assert {type(r) for r in rec} == {CwndRecord, StateRecord}
    with pytest.raises(UsageError, match="kinds"):
        Recorder(kinds={"segments"})


def test_connection_filter_by_port_keeps_one_of_two_connections() -> None:
    both = transfer(20_000, ports=(9000, 9001))
    assert len(both.connections()) == 4
    one = transfer(20_000, ports=(9000, 9001), recorder=Recorder(connections={":9001"}))
    conns = one.connections()
    assert len(conns) == 2 and all(":9001" in c for c in conns)
    assert len(one.segments()) == len([s for s in both.segments() if ":9001" in s.conn])


def test_disabled_recorder_keeps_nothing_and_can_be_switched_on() -> None:
    off = transfer(20_000, recorder=Recorder(enabled=False))
    assert len(off) == 0 and not off.enabled
    rec = Recorder()
    rec.enabled = False
    rec.record(StateRecord(0.0, "h1", CLIENT, "CLOSED", "SYN-SENT", "active open"))
    assert len(rec) == 0
    rec.enabled = True
    rec.record(StateRecord(1.0, "h1", CLIENT, "CLOSED", "SYN-SENT", "active open"))
    assert [r.time for r in rec] == [1.0]


def test_trace_connections_false_leaves_that_connection_out() -> None:
    rec = transfer(20_000, client_cfg=TcpConfig(trace_connections=False))
    # The client's connection is untraced; the server's end (default config) is traced.
    assert rec.connections() == [SERVER]


# ---------------------------------------------------------------------- JSON lines
def test_jsonl_round_trip_gives_equal_records(lossy: Recorder, tmp_path: Path) -> None:
    path = lossy.to_jsonl(tmp_path / "t.jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == len(lossy)
    first = json.loads(lines[0])
    assert first["type"] in KINDS and "time" in first and "host" in first
    back = read_jsonl(path)
    assert back.records == lossy.records
    assert [type(r) for r in back] == [type(r) for r in lossy]
    # SACK blocks come back as tuples, missing RTT samples as None
    assert any(s.sack for s in back.segments())
    assert any(r.sample is None for r in lossy.rtt()) == any(r.sample is None for r in back.rtt())


def test_jsonl_writes_every_time_as_a_float_as_the_compiled_build_does(
        lossy: Recorder, tmp_path: Path) -> None:
    """Fields typed float are written as floats ("time":0.0, not 0), from the first record
    on: the compiled build's clock makes them floats, and the interpreted build wrote the
    records at time 0 as ints (SimPy's clock starts at the int 0), so the two builds' traces
    differed (tests/test_compiled_build.py compares the builds' outputs)."""
    lines = lossy.to_jsonl(tmp_path / "t.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[0]["time"] == 0  # the handshake starts at the simulation's start
    checked = 0
    for row in rows:
        cls = KINDS[row["type"]]
        for f in dataclasses.fields(cls):
            if "float" in str(f.type) and row[f.name] is not None:
                assert type(row[f.name]) is float, (row, f.name)
                checked += 1
    assert checked >= len(rows)


def test_read_jsonl_reports_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {"type": "drop", "time": 0.5, "host": "h1", "where": "tcp", "reason": "checksum",
            "detail": ""}
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(TraceFormatError, match=r"bad.jsonl:2"):
        read_jsonl(path)
    path.write_text(json.dumps({**good, "type": "bogus"}) + "\n")
    with pytest.raises(TraceFormatError, match="bogus"):
        read_jsonl(path)
    path.write_text(json.dumps({**good, "extra": 1}) + "\n")
    with pytest.raises(TraceFormatError, match=":1"):
        read_jsonl(path)
    with pytest.raises(UsageError, match="not a file"):
        read_jsonl(tmp_path / "missing.jsonl")
    assert issubclass(TraceFormatError, NetsimError)


# ---------------------------------------------------------------------- CSV
def test_csv_writes_one_file_per_kind_with_every_record(lossy: Recorder, tmp_path: Path) -> None:
    written = lossy.to_csv(tmp_path / "csv")
    names = {p.name for p in written}
    present = {name for name, cls in KINDS.items() if any(isinstance(r, cls) for r in lossy)}
    assert names == {f"{k}.csv" for k in present}
    with (tmp_path / "csv" / "segment.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    segs = lossy.segments()
    assert len(rows) == len(segs)
    assert list(rows[0]) == [f.name for f in dataclasses.fields(SegmentRecord)]
    for row, seg in zip(rows, segs, strict=True):
        assert float(row["time"]) == seg.time and int(row["seq"]) == seg.seq
        assert row["retransmit"] == str(seg.retransmit)
        assert row["sack"] == ";".join(f"{a}-{b}" for a, b in seg.sack)


def test_csv_of_one_kind_goes_to_the_named_file(lossy: Recorder, tmp_path: Path) -> None:
    (out,) = lossy.to_csv(tmp_path / "cwnd.csv", kind="cwnd")
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["cwnd"]) for r in rows] == [c.cwnd for c in lossy.cwnd()]
    with pytest.raises(UsageError, match="directory"):
        lossy.to_csv(tmp_path / "all.csv")
    with pytest.raises(UsageError, match="kind"):
        lossy.to_csv(tmp_path / "x.csv", kind="nope")


# ---------------------------------------------------------------------- pandas
def test_dataframe_has_a_row_per_record_and_round_trips(lossy: Recorder) -> None:
    pytest.importorskip("pandas")
    df = lossy.to_dataframe()
    assert len(df) == len(lossy)
    assert Counter(df["type"]) == Counter(type(r).__name__.removesuffix("Record").lower()
                                          for r in lossy)
    seg = lossy.to_dataframe("segment")
    assert list(seg["seq"]) == [s.seq for s in lossy.segments()]
    assert Recorder.from_dataframe(df).records == lossy.records
    assert Recorder.from_dataframe(seg).records == lossy.segments()


def test_dataframe_without_pandas_says_how_to_install_it(lossy: Recorder,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(NetsimError, match=r"pip install 'netsim\[pandas\]'"):
        lossy.to_dataframe()


# ---------------------------------------------------------------------- from a pcap
LINUX_PCAP = Path(__file__).resolve().parent / "data" / "captures" / "linux-nc-lossy.pcap"
TCPDUMP = re.compile(r"^(\d+\.\d+) IP (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]+)\]"
                     r"(?:, seq (\d+)(?::(\d+))?)?(?:, ack (\d+))?, win (\d+)")


@pytest.fixture(scope="module")
def linux() -> tuple[Recorder, list[tuple[str, ...]]]:
    if not LINUX_PCAP.exists():
        pytest.skip(f"{LINUX_PCAP} (the shared Linux reference capture) is not here")
    from netsim.trace.pcap import records_from_pcap

    lines = LINUX_PCAP.with_suffix(".tcpdump.txt").read_text().splitlines()
    parsed = [m.groups() for m in map(TCPDUMP.match, lines) if m]
    origin = lines[0].split()[0]  # times are relative to the first frame (here an ARP)
    return records_from_pcap(LINUX_PCAP, hosts={"10.66.0.1": "sender"}), [(origin,)] + parsed


def test_pcap_segments_agree_with_tcpdump(linux: tuple[Recorder, list[tuple[str, ...]]]) -> None:
    rec, (origin, *dumped) = linux
    tx = rec.segments(direction="tx")
    assert len(tx) == len(dumped) > 100
    first = float(origin[0])
    for seg, (t, sip, sport, _dip, _dport, flags, seq, _end, ack, win) in zip(tx, dumped,
                                                                               strict=True):
        assert seg.conn.startswith(f"{sip}:{sport}>")
        assert seg.flags == flags
        assert seg.window == int(win)
        assert seg.time == pytest.approx(float(t) - first, abs=2e-6)
        if seq is not None:
            assert seg.seq == int(seq)
        if ack is not None:
            assert seg.ack == int(ack)
    assert {s.host for s in tx if s.conn.startswith("10.66.0.1")} == {"sender"}


def test_pcap_records_have_both_ends_relative_numbers_and_retransmissions(
        linux: tuple[Recorder, list[tuple[str, ...]]]) -> None:
    rec, _ = linux
    conn = "10.66.0.1:50522>10.66.0.2:7007"
    assert rec.sender() == conn
    tx = rec.segments(conn, "tx")
    assert tx[0].flags == "S" and tx[0].seq_rel == 0
    assert len(rec.segments(peer_of(conn), "rx")) == len(tx)  # each frame seen from both ends
    data = [s for s in tx if s.length]
    assert sum(s.length for s in data if not s.retransmit) == 300_000
    # The capture point was before the loss: each lost frame shows up twice.
    retx = [s for s in data if s.retransmit]
    firsts = {(s.seq_rel, s.length) for s in data if not s.retransmit}
    assert retx and all((s.seq_rel, s.length) in firsts for s in retx)
    assert any(s.sack for s in rec.segments(conn, "rx"))
