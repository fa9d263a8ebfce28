"""The course in `grader batch`: each student's trusted submission time, late penalties in their
report, and the gradebook's columns for them (raw score, late by, penalty, final, time source)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from grader.course.apply import outcome
from grader.course.model import Course
from grader.course.timefmt import parse_datetime
from grader.course.times import CSV_SOURCE, Submitted, from_gradescope_export, read_times_csv


def _identifiers(sub) -> set[str]:
    """How a submission names its student: the folder or file name, the login, Gradescope's emails and SIDs."""
    ids = {sub.student, sub.slug, sub.source}
    for key in ("email", "sid", "login"):
        for value in str((sub.info or {}).get(key, "")).split(";"):
            ids.add(value.strip())
    return {i.strip().lower() for i in ids if i and i.strip()}


def submission_times(folder: Path, subs, layout: str, times_csv: Path | None = None) -> dict[str, dict]:
    """slug -> {"at", "source", "ids"} for every submission: the instructor's CSV first (it is theirs),
    else a Gradescope export's own record; else no time ("time unknown")."""
    import yaml

    csv_times = read_times_csv(times_csv) if times_csv else {}
    meta = {}
    if layout == "gradescope" and (Path(folder) / "submission_metadata.yml").is_file():
        from grader.batch.discovery import _LenientLoader

        try:
            meta = yaml.load((Path(folder) / "submission_metadata.yml").read_text(errors="replace"),
                             Loader=_LenientLoader) or {}
        except yaml.YAMLError:
            meta = {}
    times = {}
    for sub in subs:
        ids = _identifiers(sub)
        found = next((csv_times[i] for i in ids if i in csv_times), None)
        if found is not None:
            got = Submitted(found, CSV_SOURCE)
        elif layout == "gradescope":
            got = from_gradescope_export(meta, sub.source)
        else:
            got = Submitted(note=f"no trusted submission time for a {layout} layout (give --times CSV)")
        times[sub.slug] = {"at": got.at.isoformat() if got.at else None, "source": got.source,
                           "ids": sorted(ids)}
    return times


def apply_to_report(course: Course, report: dict) -> None:
    """Add ``course`` (raw, late, penalty, final per assignment) and ``final_score`` to a student's report."""
    submitted = report.get("submitted") or {}
    at = parse_datetime(submitted["at"]) if submitted.get("at") else None
    per_assignment = {name: (parse_datetime(a["at"]) if a.get("at") else None, a.get("source", ""))
                      for name, a in (submitted.get("assignments") or {}).items()}
    scores = {name: float((entry.get("result") or {}).get("score", 0.0))
              for name, entry in (report.get("exercises") or {}).items()}
    result = outcome(course, scores, Submitted(at, submitted.get("source", ""), per_assignment=per_assignment),
                     set(submitted.get("ids") or []))
    report["course"] = result.to_dict()
    report["final_score"] = result.final


def gradebook_columns(reports: dict[str, dict]) -> tuple[list[str], dict[str, list[str]]]:
    """The gradebook's extra columns (none without a course) and each student's cells."""
    assignments = sorted({a for r in reports.values() for a in ((r.get("course") or {}).get("late") or {})})
    if not any("course" in r for r in reports.values()):
        return [], {}
    header = ["submitted_at", "time_source"]
    for a in assignments:
        header += [f"{a} raw", f"{a} late by", f"{a} penalty", f"{a} final"]
    header.append("final_total")
    rows = {}
    for slug, r in reports.items():
        c = r.get("course") or {}
        sub = r.get("submitted") or {}
        sources = [a["source"] for a in (sub.get("assignments") or {}).values() if a.get("source")]
        row = [_when(sub.get("at")), "; ".join(dict.fromkeys(sources)) or sub.get("source") or "time unknown"]
        for a in assignments:
            late = (c.get("late") or {}).get(a)
            exercises = [e for e in (c.get("exercises") or {}).values() if e.get("assignment") == a]
            if late is None:
                row += ["", "", "", ""]
                continue
            raw = sum(e["raw"] for e in exercises)
            final = sum(e["final"] for e in exercises)
            late_by = "nothing pushed" if ((sub.get("assignments") or {}).get(a) or {}).get("nothing") else (
                "time unknown" if late["status"] == "time unknown" else (late["late_by"] or ""))
            if late["status"] == "past the late due date":
                late_by += " (past the late due date)"
            row += [f"{raw:g}", late_by, f"{late['penalty_percent']:g}%", f"{final:g}"]
        row.append(f"{c.get('final_score', r.get('score', 0)):g}" if c else "")
        rows[slug] = row
    return header, rows


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).isoformat(timespec="seconds") if value else ""
