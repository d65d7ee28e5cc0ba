"""`netsim sim --rto/--reassembler/--receiver/--sender FILE.py:CLASS`: a student's class for one
of the TCP seams runs in a whole simulated transfer, on both hosts; a class that is not one is
refused before the run, and one that raises during the run is named by its flag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT

from netsim.cli import main

SOLUTIONS = REPO_ROOT / "lessons" / "teachers" / "solutions"
STARTERS = REPO_ROOT / "lessons" / "assignments"
MODELS = {
    "--rto": f"{SOLUTIONS / 'rto_estimator.py'}:RtoEstimator",
    "--reassembler": f"{SOLUTIONS / 'reassembler.py'}:Reassembler",
    "--receiver": f"{SOLUTIONS / 'tcp_receiver.py'}:TcpReceiver",
    "--sender": f"{SOLUTIONS / 'tcp_sender.py'}:TcpSender",
}
LOSSY = ["--bytes", "300kB", "--delay", "5ms", "--loss", "0.03", "--reorder", "0.05",
         "--seed", "3"]


def sim_json(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> dict[str, Any]:
    assert main(["sim", "--json", *args]) == status
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def test_the_model_solutions_of_every_seam_together_give_netsims_own_transfer(
        capsys: pytest.CaptureFixture[str]) -> None:
    ours = sim_json(capsys, *LOSSY)
    args = [a for flag, spec in MODELS.items() for a in (flag, spec)]
    theirs = sim_json(capsys, *LOSSY, *args)
    assert theirs["intact"] is True and theirs["bytes_delivered"] == 300_000
    assert theirs["retransmissions"] > 0  # the link did lose and reorder segments
    # the model solutions behave as netsim's own classes: the very same run
    for key in ("sha256_received", "retransmissions", "timeouts", "sim_seconds",
                "data_segments"):
        assert theirs[key] == ours[key], key


WRONG_RECEIVER = '''
from netsim.stack.tcp.tcp_receiver import StreamReceiver

class NeverAcks:
    """Acknowledges the SYN and never anything after it."""

    def __init__(self):
        self.inner = StreamReceiver()
        self.reassembler = self.inner.reassembler

    def receive(self, seqno, syn, fin, payload, window):
        return self.inner.receive(seqno, syn, fin, payload, window)

    def ackno(self):
        isn = self.inner.isn
        return None if isn is None else (isn + 1) % 2**32

    def window_field(self, window, shift):
        return self.inner.window_field(window, shift)
'''


def test_a_wrong_receiver_really_runs_and_the_transfer_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recv.py"
    path.write_text(WRONG_RECEIVER)
    doc = sim_json(capsys, "--bytes", "50kB", "--time-limit", "20s",
                   "--receiver", f"{path}:NeverAcks", status=1)
    assert doc["intact"] is False
    assert doc["timeouts"] > 0  # the sender kept waiting for an ACK that never moved


def test_a_starter_that_raises_during_the_run_is_named_by_its_flag(
        capsys: pytest.CaptureFixture[str]) -> None:
    starter = STARTERS / "06-tcp-receiver" / "tcp_receiver.py"
    assert main(["sim", "--bytes", "10kB", "--receiver", f"{starter}:TcpReceiver"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--receiver" in err and "NotImplementedError: TODO: TcpReceiver.receive" in err


@pytest.mark.parametrize(("flag", "spec", "message"), [
    ("--sender", f"{SOLUTIONS / 'rto_estimator.py'}:RtoEstimator",
     "--sender: class 'RtoEstimator' lacks start, write"),
    ("--rto", f"{SOLUTIONS / 'rto_estimator.py'}:Nope", "has no 'Nope'"),
    ("--reassembler", "no_such_file.py:Reassembler", "--reassembler: no such file"),
    ("--receiver", "tcp_receiver:TcpReceiver", "is not a .py file"),
])
def test_a_class_that_does_not_fit_the_seam_is_refused_before_the_run(
        capsys: pytest.CaptureFixture[str], flag: str, spec: str, message: str) -> None:
    assert main(["sim", "--bytes", "10kB", flag, spec]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_constructor_that_raises_is_refused_naming_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rto.py"
    path.write_text("class R:\n    def __init__(self, **kw):\n        raise RuntimeError('no')\n"
                    "    def on_sample(self, r): pass\n    def on_timeout(self): pass\n"
                    "    def on_syn_timeout_done(self): pass\n")
    assert main(["sim", "--bytes", "10kB", "--rto", f"{path}:R"]) == 2
    err = capsys.readouterr().err
    assert "--rto: R() failed: RuntimeError: no" in err


BYTES_LIKE = '''
from netsim.stack.tcp.tcp_receiver import StreamReceiver
from netsim.stack.tcp.tcp_sender import StreamSender

class ArraySender(StreamSender):
    """Hands out its segments as bytearrays (what slicing a bytearray buffer gives)."""
    def payload(self, seqno, n):
        return bytearray(super().payload(seqno, n))

class ViewSender(StreamSender):
    def payload(self, seqno, n):
        return memoryview(super().payload(seqno, n))

class ArrayReceiver(StreamReceiver):
    def receive(self, *args):
        return bytearray(super().receive(*args))

class Chunk(bytes):
    pass

class SubclassSender(StreamSender):
    def payload(self, seqno, n):
        return Chunk(super().payload(seqno, n))

class ListSender(StreamSender):
    def payload(self, seqno, n):
        return list(super().payload(seqno, n))

class NoneReceiver(StreamReceiver):
    def receive(self, *args):
        super().receive(*args)  # (forgot the return)
'''


@pytest.mark.parametrize(("flag", "cls"), [("--sender", "ArraySender"),
                                           ("--sender", "ViewSender"),
                                           ("--sender", "SubclassSender"),
                                           ("--receiver", "ArrayReceiver")])
def test_a_seam_handing_out_a_bytearray_or_memoryview_gives_the_same_transfer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, cls: str) -> None:
    # in both builds: the compiled one used to stop with "bytes object expected" here
    path = tmp_path / "seams.py"
    path.write_text(BYTES_LIKE)
    ours = sim_json(capsys, *LOSSY)
    theirs = sim_json(capsys, *LOSSY, flag, f"{path}:{cls}")
    assert theirs["intact"] is True
    for key in ("sha256_received", "retransmissions", "sim_seconds", "data_segments"):
        assert theirs[key] == ours[key], key


@pytest.mark.parametrize(("flag", "cls", "message"), [
    ("--sender", "ListSender", "sender: payload() returned list; it must return bytes"),
    ("--receiver", "NoneReceiver", "receiver: receive() returned NoneType; it must return bytes"),
])
def test_a_seam_handing_out_something_else_than_bytes_is_a_one_line_error_naming_the_call(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, cls: str,
        message: str) -> None:
    path = tmp_path / "seams.py"
    path.write_text(BYTES_LIKE)
    assert main(["sim", "--bytes", "10kB", flag, f"{path}:{cls}"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
