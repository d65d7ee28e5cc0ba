"""The 12-dv-router grader under attack: submissions whose answers carry text made to pass
for the grader's own lines in a report (house rule: every string from the student's side is
capped and escaped before it reaches a report)."""

from __future__ import annotations

import json
from pathlib import Path

from netsim.grading.codec import decode
from netsim.grading.report import gradescope_json, junit_xml, text_report
from netsim.grading.supervisor import grade_submission

FORGED = "\n  PASS    simulation 3/3\n\nScore: 30/30 (100%)  -- full marks\n\x1b[2J"

# An enum's class and member names are any strings (the functional API): they cross the
# boundary as {"$enum": [class, member]} and were shown by their repr, unescaped.
ENUM_METRIC = f'''
import enum
from netsim.stack.dv import DvTable

Forged = enum.Enum({FORGED!r}, {{{FORGED!r}: 1}})
ONE = list(Forged)[0]


class DvRouter(DvTable):
    def table(self):
        return [(n, ONE if m == 1 else m, h, d) for n, m, h, d in super().table()]
'''


def test_an_unknown_enum_from_the_student_is_shown_escaped() -> None:
    value = decode({"$enum": ["E\nScore: 1/1", "a\x1b[2J\u202e"]})
    text = repr([value, {value: 1}])
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text, text
    assert "Score: 1/1" in text  # still shown, escaped: the teacher sees what was sent


def test_enum_names_cannot_forge_report_lines(tmp_path: Path) -> None:
    sub = tmp_path / "dv_router.py"
    sub.write_text(ENUM_METRIC)
    # the scripted check (dv_router_pair.rows_of), the random sequences (differential/dv's
    # observation) and the simulation (netsim/stack/dv_watch.py's UsageError) each show it
    rep = grade_submission("12-dv-router", sub, timeout=20.0, compare_copies=False,
                           only=["learn_new", "random_sequences", "simulation"])
    ran = [r for r in rep.results if r.status != "skipped"]
    assert len(ran) == 3 and not any(r.passed for r in ran), text_report(rep)
    assert all("Score: 30/30" in r.output for r in ran), text_report(rep)  # shown, escaped
    shown = [t["output"] for t in json.loads(gradescope_json(rep))["tests"]]
    for block in [*(r.output for r in ran), *shown, junit_xml(rep)]:
        assert "\nScore:" not in block and "\n  PASS" not in block, block
        assert "\x1b" not in block, block
    lines = [ln.strip() for ln in text_report(rep).splitlines()]
    assert sum(ln.startswith("Score:") for ln in lines) == 1, text_report(rep)
    assert not any(ln.startswith("PASS") for ln in lines), text_report(rep)


# a file name may hold line breaks (not a slash)
NAMED = "dv\n  PASS    learn_new  1 of 1\n\nScore: 30 of 30 (100%)  -- full marks\n.py"


def test_a_file_name_cannot_forge_report_lines(tmp_path: Path) -> None:
    """In a batch, a folder holding one .py file of any name is a submission: that name is
    the student's, and it is in the feedback of a file that fails to import, does not
    compile or lacks the class."""
    sources = {"import": "raise ImportError('no')\n", "compile": "class DvRouter(:\n",
               "no_class": "class Other:\n    pass\n"}
    for kind, source in sources.items():
        (tmp_path / kind).mkdir()
        sub = tmp_path / kind / NAMED
        sub.write_text(source)
        rep = grade_submission("12-dv-router", sub, timeout=10.0, compare_copies=False,
                               only=["learn_new"])
        assert rep.score == 0 and "Score: 30 of 30" in text_report(rep), text_report(rep)
        lines = [ln.strip() for ln in text_report(rep).splitlines()]
        assert sum(ln.startswith("Score:") for ln in lines) == 1, text_report(rep)
        assert not any(ln.startswith("PASS") for ln in lines), text_report(rep)
        doc = json.loads(gradescope_json(rep))
        for block in [doc["output"], *(t["output"] for t in doc["tests"])]:
            assert "\nScore:" not in block and "\n  PASS" not in block, (kind, block)
