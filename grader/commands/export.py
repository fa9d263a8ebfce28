"""`grader export`: a batch's final grades as the LMS imports them (Canvas, Moodle) or a per-check CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NEEDS_ROOT = False  # it reads a batch's output and a roster: the course folder is optional


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="write a grader batch output's final grades for Canvas, Moodle, or as a per-check CSV",
        description="Read GRADES (the --out folder of grader batch), match every submission to the roster "
                    "(course.yaml's roster, or --roster) by email, SID or login, and write the final scores "
                    "(after late penalties) in the LMS's import format. Every submission matching nobody in "
                    "the roster and every roster student without a submission is listed.")
    p.add_argument("grades", type=Path, help="the output folder of grader batch")
    p.add_argument("--to", choices=("canvas", "moodle", "csv"), required=True, help="the format")
    p.add_argument("--out", "-o", type=Path, help="the file to write (default: GRADES/<format>-import.csv)")
    p.add_argument("--roster", type=Path, help="the LMS's roster CSV (default: the roster in course.yaml)")


def run(args: argparse.Namespace, root: Path | None, parser: argparse.ArgumentParser) -> int:
    from grader.course.export import ExportError, export, read_grades
    from grader.course.roster import RosterError, read_roster

    try:
        roster = read_roster(args.roster) if args.roster else _course_roster(root)
        grades = read_grades(args.grades)
        result = export(grades, roster, args.to)
    except (ExportError, RosterError) as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    out = args.out or args.grades / f"{args.to}-import.csv"
    out.write_text(result.text, encoding="utf-8")
    print(f"{out}: {result.matched} student(s)")
    for name in result.unmatched_submissions:
        print(f"  not in the roster (not exported): {name}", file=sys.stderr)
    for name in result.missing:
        print(f"  no submission (left empty): {name}", file=sys.stderr)
    if result.unmatched_submissions or result.missing:
        print(f"grader export: {len(result.unmatched_submissions)} submission(s) matched nobody in the roster, "
              f"{len(result.missing)} student(s) of the roster have no submission", file=sys.stderr)
    return 0


def _course_roster(root: Path | None):
    from grader.course import load_course
    from grader.exercises import ExerciseError, find_root

    if root is None:
        try:
            root = find_root()
        except ExerciseError:
            return None
    course = load_course(root)
    return course.roster if course else None


def export_after_batch(out: Path, fmt: str, roster) -> str:
    """`grader batch --export FORMAT`: the export of the batch just written, or why there is none."""
    from grader.course.export import ExportError, export, read_grades

    try:
        result = export(read_grades(out), roster, fmt)
    except ExportError as exc:
        return f"no {fmt} export ({exc})"
    path = out / f"{fmt}-import.csv"
    path.write_text(result.text, encoding="utf-8")
    lines = [f"{fmt} export: {path} ({result.matched} student(s))"]
    lines += [f"  not in the roster (not exported): {name}" for name in result.unmatched_submissions]
    lines += [f"  no submission (left empty): {name}" for name in result.missing]
    return "\n".join(lines)
