"""``gradebook.csv``: one row per student, one column per exercise, and why a score is 0."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

from grader.batch.common import atomic_write, not_reached
from grader.exercises import Exercise
from grader.sandbox.isolation import LANDLOCK_LAYER, SECCOMP_LAYER, VIEW_LAYER


def write_gradebook(out: Path, reports: dict[str, dict], exercises: list[Exercise]) -> Path:
    """``gradebook.csv``: student, (email, sid), one column per exercise, total, max, percent, notes.

    Every 0 carries its cause in the notes ("syntax error, line 3", "timed out",
    "no conv.py ..."); so does a sandbox weaker than full isolation (no user
    namespace, no Landlock), with the machine it ran on. A student that an
    interrupted run did not reach has empty score cells and says so.
    """
    from grader.course.batch import gradebook_columns

    infos = sorted({k for r in reports.values() for k in (r.get("info") or {})})
    late_header, late_rows = gradebook_columns(reports)  # a course's late work: none without course.yaml
    header = ["student", *infos, *[ex.name for ex in exercises], "total", "max_score", "percent", *late_header,
              "notes"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for slug in sorted(reports, key=lambda s: (reports[s]["student"].lower(), s)):
        r = reports[slug]
        row = [_csv_safe(r["student"]), *[_csv_safe((r.get("info") or {}).get(k, "")) for k in infos]]
        entries = [r["exercises"].get(ex.name) or {} for ex in exercises]
        notes = student_notes(r, [ex.name for ex in exercises])
        if any(not_reached(e) for e in entries):
            row += [""] * len(exercises) + ["", f"{r.get('max_score', 0):g}", "", *[""] * len(late_header), notes]
            writer.writerow(row)
            continue
        for entry in entries:
            result = entry.get("result")
            row.append(f"{result['score']:g}" if result else "0")
        row += [f"{r.get('score', 0):g}", f"{r.get('max_score', 0):g}", f"{r.get('percent', 0):.1f}",
                *[_csv_safe(c) for c in late_rows.get(slug, [""] * len(late_header))], _csv_safe(notes)]
        writer.writerow(row)
    path = out / "gradebook.csv"
    atomic_write(path, buf.getvalue())
    return path


# Why checks fail, in words, by the kind the grader recorded (grader/plugin.py, sandbox/failures.py).
_KINDS = {
    "timeout": "timed out", "budget": "timed out", "died": "the process running it died",
    "memory": "ran out of memory", "output": "printed past the output limit", "forbidden": "used a forbidden library",
    "not_implemented": "not implemented (raises NotImplementedError)", "missing": "a graded function is missing",
    "exception": "raised an exception", "mismatch": "wrong values", "shape": "wrong shapes",
    "type": "returned the wrong type",
    "requires": "no points without correct values", "submission": "the file could not be graded",
    "exit": "called exit", "recursion": "recursed too deeply", "skipped": "skipped",
}


NOT_GRADED_YET = "not graded yet: the run was interrupted (run it again to finish)"


def student_notes(report: dict, names: list[str]) -> str:
    """The gradebook's notes column for one student's report (``names``: the exercises, in order)."""
    entries = [report["exercises"].get(name) or {} for name in names]
    if any(not_reached(e) for e in entries):
        return NOT_GRADED_YET
    return "; ".join(note for name, entry in zip(names, entries) for note in exercise_notes(name, entry))


def exercise_notes(name: str, entry: dict) -> list[str]:
    """The gradebook's notes on one student's exercise: the cause of a 0, a weaker sandbox."""
    result = entry.get("result")
    notes = []
    if entry.get("missing"):
        notes.append(f"{name}: 0, {entry['missing']}")
    elif entry.get("error"):
        notes.append(f"{name}: 0, not graded ({entry['error']})")
    elif result and not result.get("score"):
        notes.append(f"{name}: 0, {zero_cause(result)}")
    if entry.get("file_note") and not entry.get("missing"):
        notes.append(f"{name}: {entry['file_note']}")
    weak = weak_sandbox(result)
    if weak:
        notes.append(f"{name}: {weak}" + (f" on {entry['job']}" if entry.get("job") else ""))
    return notes


def zero_cause(result: dict) -> str:
    """Why an exercise scored 0, in a few words: the commonest cause among its failed checks."""
    failed = [t for t in result.get("tests") or [] if t.get("status") != "passed"]
    if not failed:
        return "no check scored"
    imports = [t for t in failed if t.get("kind") == "import"]
    if imports:
        first = (imports[0].get("output") or "").splitlines()[0] if imports[0].get("output") else ""
        line = re.search(r"\bline (\d+)", imports[0].get("output") or "")
        if "SyntaxError" in first or "IndentationError" in first or "TabError" in first:
            return "syntax error" + (f", line {line.group(1)}" if line else "")
        if "did not finish" in first or "time budget" in first:
            return "timed out while importing"
        return "could not be imported" + (f" ({first.split(': ', 1)[-1][:120]})" if ": " in first else "")
    causes = Counter(_KINDS.get(t.get("kind"), t.get("kind") or "failed") for t in failed)
    words, n = causes.most_common(1)[0]
    total = len(result.get("tests") or [])
    return f"{words} in every check" if n == total else f"{words} in {n} of {total} checks"


_FULL_ISOLATION = (VIEW_LAYER, LANDLOCK_LAYER, SECCOMP_LAYER)  # the layers of isolation.Plan.features()


def weak_sandbox(result: dict | None) -> str:
    """"sandbox without ..." when the grading ran with less than full isolation; else ""."""
    layers = (result or {}).get("sandbox")
    if not result or not layers:
        return ""  # nothing ran (or an older report that did not record it)
    lacking = [name for name in _FULL_ISOLATION if not any(layer.startswith(name) for layer in layers)]
    return f"sandbox without {' and '.join(lacking)}" if lacking else ""


def _csv_safe(text: str) -> str:
    """No formula injection when the gradebook is opened in a spreadsheet."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
