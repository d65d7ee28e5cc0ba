"""What the grader's trust boundary costs: µs per call through the proxy, and the time to
grade netsim's own reference for each assignment.

Run: ``.venv/bin/python benchmarks/bench_grading.py [--calls N] [--repeat R]``.

The first table times one method call and one attribute read on the reference estimator,
directly and through the proxy (the sandboxed process, a JSON line each way). The second
grades a one-line submission that re-exports netsim's reference (as tests/test_grading.py
does) and shows the wall time, the number of proxy calls and the slowest check. With
``--wrong N``, a third grades the first N wrong submissions of each assignment's corpus
(tests/data/wrong_impls, every check: a failing random_sequences check shrinks its failure)
and shows the wall and CPU time (this process and the sandboxes) and that check's time.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from netsim.grading import ASSIGNMENTS
from netsim.grading.proxy import RemoteClass, Session
from netsim.grading.sandbox import Limits, features
from netsim.grading.supervisor import grade_submission
from netsim.stack.tcp.rto import Rfc6298Estimator

REFERENCES = {
    "01-checksum-tcp-parsing": None,  # the teacher's solution, read from lessons/
    "02-rto-estimator": "from netsim.stack.tcp.rto import Rfc6298Estimator as RtoEstimator\n",
    "03-reassembler": "from netsim.stack.tcp.reassembly import SegmentReassembler as "
                      "Reassembler\n",
    "04-reno": "from netsim.stack.tcp.congestion.reno import Reno as MyReno\n",
    "05-arp-cache": "from netsim.stack.arp import ArpTable as ArpCache\n",
}
SOLUTION_01 = Path(__file__).resolve().parent.parent / "lessons" / "teachers" / "solutions" / \
    "tcp_parsing.py"
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "wrong_impls"


def per_call(calls: int, tmp: Path) -> None:
    src = tmp / "rto.py"
    src.write_text(REFERENCES["02-rto-estimator"] or "")
    session = Session(src, Limits())
    session.start(10.0)
    session.begin(600.0)
    remote = RemoteClass(session, "RtoEstimator")(min_rto=0.2)
    local = Rfc6298Estimator(min_rto=0.2)
    rows = []
    for label, fn in (("on_sample(0.1), direct", lambda: local.on_sample(0.1)),
                      ("on_sample(0.1), proxy", lambda: remote.on_sample(0.1)),
                      ("read .rto, direct", lambda: local.rto),
                      ("read .rto, proxy", lambda: remote.rto)):
        fn()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        rows.append((label, (time.perf_counter() - t0) / calls * 1e6))
    session.close()
    print(f"{'operation':28} {'µs/call':>9}")
    for label, us in rows:
        print(f"{label:28} {us:9.2f}")


def grading(repeat: int, tmp: Path) -> None:
    print(f"\n{'assignment':26} {'score':>7} {'wall s':>7} {'slowest check':>34}")
    for a in ASSIGNMENTS:
        src = REFERENCES[a]
        path = tmp / f"ref_{a[:2]}.py"
        path.write_text(src if src is not None else SOLUTION_01.read_text())
        best = None
        for _ in range(repeat):
            t0 = time.perf_counter()
            rep = grade_submission(a, path, 60.0)
            wall = time.perf_counter() - t0
            if best is None or wall < best[0]:
                best = (wall, rep)
        assert best is not None
        wall, rep = best
        slow = max(rep.results, key=lambda r: r.seconds)
        print(f"{a:26} {rep.score:>3}/{rep.max_score:<3} {wall:7.2f} "
              f"{slow.name + f' {slow.seconds:.2f} s':>34}")


def _cpu() -> float:
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def wrong(per_assignment: int) -> None:
    print(f"\n{'wrong submission':44} {'score':>7} {'wall s':>7} {'CPU s':>6} "
          f"{'random_sequences':>17}")
    total_wall = total_cpu = 0.0
    for a in ASSIGNMENTS:
        if a == "10-tcp-peer":  # graded with the model sender and receiver next to it
            continue
        for path in sorted((CORPUS / a).glob("*.py"))[:per_assignment]:
            t0, c0 = time.perf_counter(), _cpu()
            rep = grade_submission(a, path, 60.0, compare_copies=False)
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            total_wall += wall
            total_cpu += cpu
            rs = next((r for r in rep.results if r.name == "random_sequences"), None)
            shown = f"{rs.status} {rs.seconds:.2f} s" if rs is not None else "-"
            print(f"{a.split('-')[0] + ' ' + path.stem:44} {rep.score:>3}/{rep.max_score:<3} "
                  f"{wall:7.2f} {cpu:6.2f} {shown:>17}")
    print(f"{'total':44} {'':7} {total_wall:7.2f} {total_cpu:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wrong", type=int, default=0, metavar="N",
                        help="also grade the first N wrong submissions of each corpus")
    parser.add_argument("--only-wrong", action="store_true",
                        help="leave out the first two tables")
    args = parser.parse_args()
    missing = features().missing()
    print("sandbox: " + ("; ".join(missing) if missing else "all protections available"))
    with tempfile.TemporaryDirectory() as tmp:
        if not args.only_wrong:
            per_call(args.calls, Path(tmp))
            grading(args.repeat, Path(tmp))
        if args.wrong or args.only_wrong:
            wrong(args.wrong or 1)


if __name__ == "__main__":
    main()
