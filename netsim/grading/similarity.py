"""Notes for the teacher about where a submission's code came from, found by parsing it.

The source is parsed with `ast`, never run. Two notes:

- *uses netsim's reference implementation*: the file imports the assignment's reference
  (``from netsim.stack.arp import ArpTable as ArpCache``) or subclasses it;
- *looks like a copy*: a class or function of the file is, after normalising, the same as (or
  nearly the same as) netsim's reference or a teacher's solution (lessons/teachers/solutions).
  Normalising drops docstrings, comments and layout and renames every identifier to its order
  of first appearance, so renaming variables or reformatting does not hide a copy. Only a
  unit's body is compared (the starter dictates the signature), and a body of fewer than
  `MIN_TOKENS` tokens (a one-line function) is not: there are too few ways to write it.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import re
import threading
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netsim.grading.framework import Assignment

MAX_SOURCE = 256 * 1024  # bytes of a submission the grader parses at all
MIN_TOKENS = 60  # smaller bodies are too generic to call a copy
# CPython 3.11's ast is not thread-safe (a batch grades in threads): two parses at once can
# raise "SystemError: AST constructor recursion depth mismatch". Every parse and unparse of
# the grading process holds this lock.
AST_LOCK = threading.RLock()
MAX_TOKENS = 6000  # larger units are not compared (the comparison is quadratic)
THRESHOLD = 0.9  # share of equal normalised tokens that counts as a copy
#: CPU seconds the comparison may take in the trusted process: a file made of many large
#: units of one shape would otherwise cost minutes per submission (found by a hostile reader)
BUDGET = 5.0
SOLUTIONS = Path(__file__).resolve().parents[2] / "lessons" / "teachers" / "solutions"

_UnitDef = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class _Normalise(ast.NodeTransformer):
    """Rename identifiers canonically; drop docstrings."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _n(self, name: str) -> str:
        if name.startswith("__") and name.endswith("__"):
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def generic_visit(self, node: ast.AST) -> ast.AST:
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        for attr in ("name", "id", "arg", "attr", "asname"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                setattr(node, attr, self._n(value))
        return super().generic_visit(node)


def _tokens(unit: ast.AST) -> list[str]:
    """The normalised tokens of a unit's body. Its signature (name, arguments, annotations,
    bases) is left out: the starter dictates it, so it says nothing about where the code came
    from, and counted in it made a one-line body such as ``return (isn + n) % 2**32`` (the
    only way to write assignment 06's `wrap`) big enough to compare and a "copy"."""
    node = _Normalise().visit(unit)
    body = getattr(node, "body", None)
    parts = body if isinstance(body, list) else [node]
    dumped = " ".join(ast.dump(p, annotate_fields=False, include_attributes=False)
                      for p in parts)
    return re.findall(r"\w+|[^\w\s]", dumped)


def _units(tree: ast.AST, limit: int = MAX_TOKENS) -> list[tuple[str, list[str]]]:
    out = []
    for node in getattr(tree, "body", []):
        if isinstance(node, _UnitDef):
            name = node.name
            toks = _tokens(node)
            if MIN_TOKENS <= len(toks) <= limit:
                out.append((name, toks))
    return out


@cache
def _corpus(reference: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Normalised units of netsim's reference (the named classes/functions) and of every
    teacher's solution."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for entry in filter(None, reference.split(";")):
        mod_name, _, names = entry.partition(":")
        wanted = set(filter(None, names.split(",")))
        spec = importlib.util.find_spec(mod_name) if mod_name else None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            tree = ast.parse(Path(spec.origin).read_text())
            for node in tree.body:
                if isinstance(node, _UnitDef) and node.name in wanted:
                    name = node.name
                    out.append((f"netsim's {mod_name}.{name}", tuple(_tokens(node))))
    if SOLUTIONS.is_dir():
        for f in sorted(SOLUTIONS.glob("*.py")):
            for name, toks in _units(ast.parse(f.read_text())):
                out.append((f"the teacher's solution {f.name}: {name}", tuple(toks)))
    return tuple(out)


def similarity_notes(source: str, assignment: Assignment, target: str,
                     compare_copies: bool = True) -> list[str]:
    """Notes for the teacher (empty when nothing stands out); without `compare_copies`, only
    the reuse of netsim's reference (the comparison behind "looks like a copy" is most of the
    cost)."""
    with AST_LOCK:
        try:
            return _notes(source, assignment, target, compare_copies)
        except SystemError:  # the notes are optional: never fail a grading over them
            return []


def _notes(source: str, assignment: Assignment, target: str, compare_copies: bool) -> list[str]:
    if len(source) > MAX_SOURCE:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    notes = []
    reuse = _reuse(tree, assignment, target)
    if reuse:
        notes.append("uses netsim's reference implementation: " + ", ".join(reuse))
    if not compare_copies:
        return notes
    corpus = _corpus(assignment.reference)
    copies = []
    deadline = time.thread_time() + BUDGET  # this grading's own CPU (batches run in threads)
    out_of_time = False
    # a unit as large as one of the corpus is compared too (a verbatim copy of netsim's
    # DvTable, 6263 tokens, went unnoticed under MAX_TOKENS; found by a hostile reader)
    limit = max([MAX_TOKENS, *(len(ref) * 5 // 4 for _, ref in corpus)])
    for name, toks in _units(tree, limit):
        best, ratio = "", 0.0
        for origin, ref in corpus:
            if abs(len(ref) - len(toks)) > (1 - THRESHOLD) * max(len(ref), len(toks)) * 2:
                continue
            if time.thread_time() > deadline:
                out_of_time = True
                break
            matcher = difflib.SequenceMatcher(None, toks, ref, autojunk=False)
            if matcher.quick_ratio() < THRESHOLD:  # an upper bound of ratio(), and cheap
                continue
            r = matcher.ratio()
            if r > ratio:
                best, ratio = origin, r
        if ratio >= THRESHOLD:
            copies.append(f"{name} ~ {best} ({100 * ratio:.0f}% of normalised tokens equal)")
        if out_of_time:
            notes.append(f"not compared in full with the reference and the solutions: that "
                         f"took more than {BUDGET:g} s of CPU")
            break
    if copies:
        notes.append("looks like a copy (names and layout aside): " + "; ".join(copies))
    return notes


def helper_notes(folder: Path, assignment: Assignment) -> list[str]:
    """Notes on the student's helper files next to the submission (`Assignment.helpers`,
    e.g. assignment 10's sender.py and tcp_receiver.py): one that takes netsim's reference."""
    notes = []
    for name, cls in assignment.helpers.items():
        path = folder / name
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE:
                continue
            with AST_LOCK:
                tree = ast.parse(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError,
                MemoryError, SystemError):
            continue
        reuse = _reuse(tree, assignment, cls)
        if reuse:
            notes.append(f"{name} uses netsim's reference implementation: " + ", ".join(reuse))
    return notes


def _reuse(tree: ast.AST, assignment: Assignment, target: str) -> list[str]:
    """Names the file takes from the reference modules, and how."""
    out: list[str] = []
    for entry in filter(None, assignment.reference.split(";")):
        out += _reuse_of(tree, entry, target)
    return sorted(set(out))


def _reuse_of(tree: ast.AST, reference: str, target: str) -> list[str]:
    """Names the file takes from one reference module ("module:Name,name"), and how."""
    mod_name, _, names = reference.partition(":")
    ref_names = set(names.split(","))
    bound: dict[str, str] = {}  # local name -> reference name
    module_aliases = set()
    parent, _, last = mod_name.rpartition(".")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == mod_name:
            for alias in node.names:
                if alias.name in ref_names:
                    bound[alias.asname or alias.name] = alias.name
                elif alias.name == "*":  # from netsim...reference import *: all its names
                    for ref in ref_names:
                        bound.setdefault(ref, ref)
        elif isinstance(node, ast.ImportFrom) and node.module == parent:
            for alias in node.names:  # from netsim.stack.tcp import tcp_receiver as m
                if alias.name == last:
                    module_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == mod_name:
                    module_aliases.add(alias.asname or mod_name)
    for node in ast.walk(tree):  # Target = m.Reference, or A, B = m.X, m.Y
        if not isinstance(node, ast.Assign):
            continue
        for lhs in node.targets:
            pairs = (list(zip(lhs.elts, node.value.elts, strict=False))
                     if isinstance(lhs, ast.Tuple) and isinstance(node.value, ast.Tuple)
                     else [(lhs, node.value)])
            for name, value in pairs:
                if isinstance(name, ast.Name) and isinstance(value, ast.Attribute) and \
                        value.attr in ref_names and ast.unparse(value.value) in module_aliases:
                    bound[name.id] = value.attr
                elif isinstance(name, ast.Name) and isinstance(value, ast.Name) and \
                        value.id in bound:  # Target = Reference, after importing it
                    bound[name.id] = bound[value.id]
    out = []
    if not target:  # functions: any reference function bound in the file
        return sorted(f"{local} is {mod_name}.{ref}" for local, ref in bound.items())
    if target in bound:
        out.append(f"{target} is (a subclass of) {mod_name}.{bound[target]}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == target:
            for base in node.bases:
                text = ast.unparse(base)
                if text in bound or any(text == f"{m}.{r}" for m in module_aliases
                                        for r in ref_names):
                    ref = bound.get(text, text.rpartition(".")[2])
                    out.append(f"{target} is (a subclass of) {mod_name}.{ref}")
    for local, ref in bound.items():  # 06: wrap/unwrap taken from the reference module
        if local != target:
            out.append(f"{local} is {mod_name}.{ref}")
    for node in ast.walk(tree):  # def wrap(n, isn): return tcp_receiver.wrap(n, isn)
        if isinstance(node, ast.Attribute) and node.attr in ref_names and \
                ast.unparse(node.value) in module_aliases:
            out.append(f"calls {mod_name}.{node.attr}")
    return sorted(set(out))
