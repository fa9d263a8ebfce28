"""Grades into the LMS: ``grader export GRADES --to canvas|moodle|csv``.

Reads a ``grader batch`` output folder (``reports/<student>.json``: raw scores,
and with a course the late penalties and final scores), matches each
submission to the roster by email, SID or login, and writes:

- ``canvas``: Canvas's gradebook import CSV: ``Student, ID, SIS User ID, SIS
  Login ID, Section``, then one column per assignment, and a ``Points
  Possible`` row under the header. A column is headed as the roster (Canvas's
  own export) heads that assignment, ``hw1 (12345)``, so that the import
  updates it; a name Canvas does not know creates an assignment on import;
- ``moodle``: a CSV for Moodle's "Import grades from CSV": ``First name, Last
  name, ID number, Email address, Username``, one column per assignment and a
  ``<assignment> feedback`` column (map the email address to "Email address"
  and each column to its grade item on import);
- ``csv``: one row per student and check (raw points, the penalty, the final
  points), for a spreadsheet or another tool.

Final scores are after late penalties. A submission that matches nobody in the
roster, and a student of the roster without a submission, are listed, never
dropped silently (the roster's students without one get an empty cell, which
changes nothing on import).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.model import Roster, Student

FORMATS = ("canvas", "moodle", "csv")


class ExportError(ValueError):
    """The export cannot be written (the message says why)."""


@dataclass
class Graded:
    """One submission's grades from a batch report."""

    slug: str
    student: str
    identifiers: set[str]
    columns: dict[str, float]  # assignment (or exercise without one) -> final score
    max_scores: dict[str, float]
    feedback: dict[str, str] = field(default_factory=dict)  # column -> the late line
    checks: list[dict] = field(default_factory=list)


@dataclass
class Export:
    text: str
    matched: int
    unmatched_submissions: list[str]  # submissions whose student is not in the roster
    missing: list[str]  # roster students without a submission


def read_grades(folder: Path) -> list[Graded]:
    """The students of a batch output folder."""
    import json

    reports_dir = Path(folder) / "reports"
    if not reports_dir.is_dir():
        raise ExportError(f"{folder}: no reports/ folder (the output folder of grader batch)")
    out = []
    for path in sorted(reports_dir.glob("*.json")):
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ExportError(f"{path}: unreadable ({exc})") from None
        if not isinstance(r, dict) or "exercises" not in r:
            continue
        ids = {r.get("student", ""), r.get("slug", ""), r.get("source", "")}
        for key in ("email", "sid", "login"):
            ids |= {v.strip() for v in str((r.get("info") or {}).get(key, "")).split(";")}
        ids |= set((r.get("submitted") or {}).get("ids") or [])
        course = r.get("course") or {}
        columns: dict[str, float] = {}
        maxima: dict[str, float] = {}
        feedback: dict[str, str] = {}
        checks = []
        for name, entry in (r.get("exercises") or {}).items():
            result = entry.get("result") or {}
            info = (course.get("exercises") or {}).get(name) or {}
            column = info.get("assignment") or name
            raw = float(result.get("score", 0.0))
            final = float(info.get("final", raw))
            columns[column] = round(columns.get(column, 0.0) + final, 6)
            maxima[column] = maxima.get(column, 0.0) + float(result.get("max_score", 0.0) or entry.get("max_score", 0))
            penalty = float(info.get("penalty_percent", 0.0))
            for t in result.get("tests") or []:
                checks.append({"assignment": info.get("assignment", ""), "exercise": name, "check": t.get("name", ""),
                               "status": t.get("status", ""), "score": t.get("score", 0.0),
                               "max_score": t.get("max_score", 0.0), "penalty_percent": penalty,
                               "final_score": round(float(t.get("score", 0.0)) * (1 - penalty / 100), 6)})
        for line in course.get("lines") or []:
            assignment = line.split(":", 1)[0]
            feedback[assignment] = line
        out.append(Graded(r.get("slug", path.stem), r.get("student", path.stem),
                          {i.strip().lower() for i in ids if i and i.strip()}, columns, maxima, feedback, checks))
    if not out:
        raise ExportError(f"{folder}: no student reports in reports/")
    return out


def match(grades: list[Graded], roster: Roster) -> tuple[list[tuple[Student, Graded]], list[Graded], list[Student]]:
    """Pairs (roster student, submission); submissions matching nobody; roster students without a submission.
    A group submission (several emails) gives its grade to each member it names."""
    pairs, unmatched, seen = [], [], set()
    for g in grades:
        found = [s for s in roster.students if s.keys() & g.identifiers]
        if not found:
            unmatched.append(g)
        for s in found:
            if id(s) in seen:
                continue  # two submissions for one student: the first (by report name) is kept, the other listed
            seen.add(id(s))
            pairs.append((s, g))
    missing = [s for s in roster.students if id(s) not in seen]
    return pairs, unmatched, missing


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _write(rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow([_safe(c) for c in row])
    return buf.getvalue()


def _safe(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def canvas_header(column: str, roster: Roster | None) -> str:
    """The header Canvas updates an existing assignment from: ``hw1 (12345)``, its name and id as Canvas's own
    gradebook export (the roster) writes them; the bare name (a new assignment on import) when it has none."""
    import re

    wanted = " ".join(column.lower().split())
    for header in (roster.headers if roster else []):
        found = re.fullmatch(r"(.+?)\s*\((\d+)\)", header)
        if found and " ".join(found.group(1).lower().split()) == wanted:
            return header
    return column


def export(grades: list[Graded], roster: Roster | None, fmt: str) -> Export:
    """The file's text and who was matched; ``roster`` None: the ``csv`` format only, every submission as is."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    columns = sorted({c for g in grades for c in g.columns})
    maxima = {c: max((g.max_scores.get(c, 0.0) for g in grades), default=0.0) for c in columns}
    if roster is None:
        if fmt != "csv":
            raise ExportError(f"--to {fmt} needs a roster (roster: in course.yaml, or --roster CSV): the LMS "
                              f"matches grades to its own students")
        pairs = [(Student(name=g.student), g) for g in grades]
        unmatched, missing = [], []
    else:
        pairs, unmatched, missing = match(grades, roster)
    if fmt == "canvas":
        rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                 *[canvas_header(c, roster) for c in columns]],
                ["Points Possible", "", "", "", "", *[_fmt(maxima[c]) for c in columns]]]
        for s, g in pairs:
            rows.append([s.name, s.lms_id, s.sid, s.login, s.section, *[_fmt(g.columns[c]) if c in g.columns else ""
                                                                         for c in columns]])
        for s in missing:
            rows.append([s.name, s.lms_id, s.sid, s.login, s.section, *[""] * len(columns)])
    elif fmt == "moodle":
        rows = [["First name", "Last name", "ID number", "Email address", "Username",
                 *[h for c in columns for h in (c, f"{c} feedback")]]]
        for s, g in pairs:
            first, _, last = s.name.partition(" ")
            rows.append([first, last, s.sid, s.email, s.login,
                         *[v for c in columns for v in ((_fmt(g.columns[c]) if c in g.columns else ""),
                                                         g.feedback.get(c, ""))]])
    else:
        rows = [["student", "email", "sid", "login", "assignment", "exercise", "check", "status", "score",
                 "max_score", "penalty_percent", "final_score"]]
        for s, g in pairs:
            for c in g.checks:
                rows.append([s.name or g.student, s.email, s.sid, s.login, c["assignment"], c["exercise"], c["check"],
                             c["status"], _fmt(c["score"]), _fmt(c["max_score"]), _fmt(c["penalty_percent"]),
                             _fmt(c["final_score"])])
    return Export(_write(rows), len(pairs), [g.student for g in unmatched], [s.name or s.email or s.sid
                                                                               for s in missing])
