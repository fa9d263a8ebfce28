"""``gradebook.csv``: one row per student, one column per exercise, and why a score is 0."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.batch.common import atomic_write
from grader.exercises import Exercise


def write_gradebook(out: Path, reports: dict[str, dict], exercises: list[Exercise]) -> Path:
    """``gradebook.csv``: student, (email, sid), one column per exercise, total, max, percent, notes."""
    infos = sorted({k for r in reports.values() for k in (r.get("info") or {})})
    header = ["student", *infos, *[ex.name for ex in exercises], "total", "max_score", "percent", "notes"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for slug in sorted(reports, key=lambda s: (reports[s]["student"].lower(), s)):
        r = reports[slug]
        row = [_csv_safe(r["student"]), *[_csv_safe((r.get("info") or {}).get(k, "")) for k in infos]]
        notes = []
        for ex in exercises:
            entry = r["exercises"].get(ex.name) or {}
            result = entry.get("result")
            row.append(f"{result['score']:g}" if result else "0")
            if entry.get("missing"):
                notes.append(f"{ex.name}: missing ({entry['missing']})")
            elif entry.get("error"):
                notes.append(f"{ex.name}: not graded ({entry['error']})")
        row += [f"{r.get('score', 0):g}", f"{r.get('max_score', 0):g}", f"{r.get('percent', 0):.1f}",
                _csv_safe("; ".join(notes))]
        writer.writerow(row)
    path = out / "gradebook.csv"
    atomic_write(path, buf.getvalue())
    return path


def _csv_safe(text: str) -> str:
    """No formula injection when the gradebook is opened in a spreadsheet."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
