"""Grade reports for people and for machines: text, Gradescope's results.json, JUnit XML, CSV.

Every string that may come from the student's side (feedback, the submission's name, notes)
goes through `netsim.grading.codec.clean_text` (escape sequences and control characters
removed, capped); XML additionally loses what XML 1.0 cannot hold, and a CSV cell that a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is
prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from netsim.grading.codec import clean_text, one_line
from netsim.grading.framework import GradeReport

_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "timeout": "TIMEOUT"}


def text_report(report: GradeReport, verbose: bool = True) -> str:
    """One line per check, and the feedback under each check that did not pass."""
    lines = [f"{report.assignment}: {one_line(report.submission, 300)}"]
    lines += [f"sandbox: {m}" for m in report.sandbox]
    lines.append("")
    if report.problem:
        lines += [f"  {ln}" for ln in clean_text(report.problem).splitlines()] + [""]
    width = max((len(r.name) for r in report.results), default=10) + 2
    for r in report.results:
        label = _LABEL.get(r.status, r.status.upper())
        lines.append(f"  {label:7} {r.name:{width}} {r.points:>2}/{r.max_points:<2}  "
                     f"{r.description}")
        if verbose and not r.passed and r.output and not r.output.startswith("not run: "):
            lines += ["          " + ln if ln else "" for ln in clean_text(r.output).splitlines()]
            lines.append("")
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    lines += ["", f"Score: {report.score}/{report.max_score} ({pct:.0f}%)"
              + ("  -- full marks" if report.full_marks else "")]
    lines += [f"note: {one_line(n, 1000)}" for n in report.notes]
    return "\n".join(lines)


def _feedback(r: Any) -> str:
    head = f"{r.description}\n"
    if r.passed:
        return head + "passed"
    return head + f"{r.status}: {clean_text(r.output)}"


def gradescope_json(report: GradeReport) -> str:
    """Gradescope's autograder results.json (score, tests with name/score/max_score/output)."""
    tests = []
    for i, r in enumerate(report.results, 1):
        tests.append({
            "name": r.name,
            "number": str(i),
            "score": r.points,
            "max_score": r.max_points,
            "status": "passed" if r.passed else "failed",
            "output": _feedback(r),
            "visibility": "visible",
        })
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    doc = {
        "score": report.score,
        "execution_time": report.seconds,
        "output": f"{report.assignment}: {report.score}/{report.max_score} ({pct:.0f}%)"
                  + (f"\n{clean_text(report.problem, 1000)}" if report.problem else ""),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
    }
    return json.dumps(doc, indent=2)


def junit_xml(report: GradeReport) -> str:
    """A JUnit XML report: one testcase per check; failure or error elements carry the
    feedback."""
    failures = sum(1 for r in report.results if r.status == "fail")
    errors = sum(1 for r in report.results if r.status in ("error", "timeout"))
    suites = ET.Element("testsuites", name="netsim grade", tests=str(len(report.results)),
                        failures=str(failures), errors=str(errors), time=f"{report.seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=report.assignment,
                          tests=str(len(report.results)), failures=str(failures),
                          errors=str(errors), time=f"{report.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="score", value=f"{report.score}/{report.max_score}")
    ET.SubElement(props, "property", name="submission",
                  value=_xml_safe(clean_text(report.submission, 300)))
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=report.assignment, name=r.name,
                             time=f"{r.seconds:.3f}")
        if r.passed:
            continue
        output = clean_text(r.output)
        first = (output.splitlines() or [r.status])[0]
        tag = "failure" if r.status == "fail" else "error"
        elem = ET.SubElement(case, tag, message=_xml_safe(f"{r.description}: {first}"[:500]),
                             type=r.status)
        elem.text = _xml_safe(output)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (a student's output may contain any)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20
                   and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff")


def batch_csv(rows: Sequence[tuple[str, GradeReport | None]], check_names: Sequence[str]) -> str:
    """One row per submission: score, maximum, percent, each check's points, what failed."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["submission", "score", "max_score", "percent", *check_names, "not_passed",
                "notes"])
    for raw_name, rep in rows:
        name = _cell(raw_name)
        if rep is None:
            w.writerow([name, 0, "", "", *([""] * len(check_names)), "no submission file found",
                        ""])
            continue
        by = {r.name: r for r in rep.results}
        pct = 100.0 * rep.score / rep.max_score if rep.max_score else 0.0
        bad = [f"{r.name} ({r.status})" for r in rep.results if not r.passed]
        w.writerow([name, rep.score, rep.max_score, f"{pct:.1f}",
                    *(by[c].points if c in by else "" for c in check_names), _cell("; ".join(bad)),
                    _cell("; ".join(([rep.problem.splitlines()[0]] if rep.problem else [])
                                    + rep.notes))])
    return buf.getvalue()


def _cell(text: str) -> str:
    """A CSV cell from text: cleaned, capped, and never a spreadsheet formula."""
    text = clean_text(text, 1000).replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
