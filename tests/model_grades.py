"""Submissions that several test files grade, each graded once per test session: the
teachers' model solutions (lessons/teachers/solutions/: tests/test_grading_corpus.py,
test_grading_attacks_07b.py and test_grading_tcp_peer.py all check that a model keeps full
marks) and files that re-export netsim's reference parts (tests/test_grading.py, and
test_compiled_build.py when the compiled build is the one this session runs). Grading one
runs every check of its assignment: tens of seconds. The conftest's `shared_grades` fixture
holds the reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netsim.grading.framework import GradeReport

SOLUTIONS = Path(__file__).resolve().parent.parent / "lessons" / "teachers" / "solutions"
SOLUTION_FILES = {"01-checksum-tcp-parsing": "tcp_parsing.py",
                  "02-rto-estimator": "rto_estimator.py", "03-reassembler": "reassembler.py",
                  "04-reno": "my_reno.py", "05-arp-cache": "arp_cache.py",
                  "06-tcp-receiver": "tcp_receiver.py", "07-tcp-sender": "tcp_sender.py",
                  "07b-sender-timer": "sender.py",
                  "08-network-interface": "network_interface.py", "09-router": "router.py",
                  "10-tcp-peer": "tcp_peer.py",
                  "11-learning-switch": "learning_switch.py", "12-dv-router": "dv_router.py"}
TIMEOUT = 20.0  # seconds per check, for these and for what is graded beside them

Job = tuple[str, str] | tuple[str, str, dict[str, Any]]


class SharedGrades:
    """Reports graded the first time a test asks for them (every check, as a student's file
    is), in one parallel `grade_many` call with that test's own submissions."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self._reports: dict[tuple[str, str], GradeReport] = {}

    def models(self, assignments: list[str], others: list[Job]
               ) -> tuple[dict[str, GradeReport], list[GradeReport]]:
        """The model solutions' reports of `assignments`, and the reports of `others`."""
        return self._grade({a: ("model", str(SOLUTIONS / SOLUTION_FILES[a]))
                            for a in assignments}, others)

    def references(self, sources: dict[str, str], others: list[Job]
                   ) -> tuple[dict[str, GradeReport], list[GradeReport]]:
        """The reports of a file holding `sources[a]` (e.g. an import of netsim's reference
        part under the name the assignment asks for) for each assignment a, and of `others`."""
        files = {}
        for a, src in sources.items():
            path = self._tmp / f"ref_{a.split('-')[0]}_{abs(hash(src)):x}.py"
            if not path.exists():
                path.write_text(src)
            files[a] = (src, str(path))
        return self._grade(files, others)

    def _grade(self, wanted: dict[str, tuple[str, str]], others: list[Job]
               ) -> tuple[dict[str, GradeReport], list[GradeReport]]:
        from netsim.grading.supervisor import grade_many

        keys = {a: (a, what) for a, (what, _) in wanted.items()}
        todo = [a for a in wanted if keys[a] not in self._reports]
        jobs: list[Job] = [(a, wanted[a][1]) for a in todo]
        reports = grade_many([*jobs, *others], timeout=TIMEOUT) if jobs or others else []
        self._reports.update(zip((keys[a] for a in todo), reports, strict=False))
        return {a: self._reports[keys[a]] for a in wanted}, reports[len(todo):]
