"""The feedback of a differential check: the shortest failing sequence as a script, in the
style of the graders' "script so far", with both answers at the step that differs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from netsim.grading.differential.values import SHOW_LIMIT, show

if TYPE_CHECKING:
    from netsim.grading.differential.spec import Mismatch, Observation, Spec


def _fmt_obs(obs: Observation, skip: Iterable[str] = ()) -> str:
    skip = set(skip)
    return ", ".join(f"{label} {show(v)}" if label != "returned" else f"-> {show(v)}"
                     for label, v in obs if label not in skip)


def _side(obs: Observation, label: str) -> str:
    d = dict(obs)
    if label in d:
        return show(d[label])
    if label == "raised":  # this side did not raise: what it returned instead
        return "nothing (it returned " + _fmt_obs(obs).replace("-> ", "")[:SHOW_LIMIT] + ")"
    return "(nothing)"


#: the script's first line when shortening it was stopped by the time limit (a very slow
#: candidate, or a very busy machine): said, since the script may then differ from run to run
CUT_SHORT = ("a sequence on which yours and the reference differ (shortening it was stopped "
             "by the check's time limit: a shorter one may exist, and on a less busy machine "
             "the script may differ):")


def render(spec: Spec, m: Mismatch, cut: bool = False) -> tuple[str, str, str, str]:
    """(message, expected, got, script) of a mismatch, in the style of the graders; `cut`:
    shortening the sequence was stopped by the time limit."""
    who = spec.cls_name or "functions"
    params = ", ".join(f"{k}={show(v)}" for k, v in m.params)
    lines = [CUT_SHORT if cut else
             "the shortest sequence found on which yours and the reference differ:"]
    if spec.target:
        lines.append(f"  {spec.target} = {spec.cls_name}({params})")
    wd, gd = dict(m.want), dict(m.got)
    for n, call in enumerate(m.calls, 1):
        shown = call.render(spec.target)
        if n <= len(m.agreed):
            lines.append(f"  step {n}: {shown}  {_fmt_obs(m.agreed[n - 1])}")
            continue
        lines.append(f"  step {n}: {shown}")
        for label in m.differs:
            lines.append(f"      {label}: reference {_side(m.want, label)}, "
                         f"yours {_side(m.got, label)}")
        same_labels = [lb for lb, _ in m.want if lb not in m.differs and lb in gd]
        if same_labels:
            lines.append("      (both: " + _fmt_obs([(lb, wd[lb]) for lb in same_labels])
                         + ")")
    if not m.calls:
        lines.append(f"  constructing {who} raised {gd.get('raised')}")
    step = len(m.calls)
    names = ", ".join(m.differs)
    rule = "; ".join(dict.fromkeys(spec.rules[lb] for lb in m.differs if lb in spec.rules))
    message = (f"differential check: after step {step}, {names} differ(s) from netsim's "
               f"reference" + (f" ({rule})" if rule else ""))
    expected = ", ".join(f"{lb} = {_side(m.want, lb)}" for lb in m.differs)
    got = ", ".join(f"{lb} = {_side(m.got, lb)}" for lb in m.differs)
    return message, expected, got, "\n".join(lines)
