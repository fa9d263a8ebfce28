"""`grader batch`: grade a whole class, in parallel, resumably."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.exercises import all_exercises, resolve


USES_GRADER_SEED = True  # cli.py warns when $GRADER_SEED is short


def add_parser(sub) -> None:
    p = sub.add_parser(
        "batch", help="grade a folder of student submissions (a whole class) in parallel",
        description="Grade every student in SUBMISSIONS: one folder, .py file or notebook per student, a "
                    "Gradescope export (submission_metadata.yml and submission_<id>/ folders, or its .zip) "
                    "or a GitHub Classroom clone (<assignment>-submissions/<assignment>-<login>/). Each "
                    "student runs in their own sandbox; --jobs processes grade in parallel, each paying "
                    "torch's and pytest's start-up once. Writes OUT/gradebook.csv, OUT/reports/<student>.json, "
                    "OUT/summary.md, OUT/summary.json and OUT/report.html (pip install 'grader[report]'). A run that is interrupted resumes: a submission "
                    "graded before with the same files, graders, grader version and seed is not graded again.")
    p.add_argument("submissions", type=Path, help="the folder (or .zip) of submissions")
    p.add_argument("--exercise", "-e", action="append", default=[],
                   help="an exercise to grade (repeat, or separate with commas)")
    p.add_argument("--all", action="store_true", help="grade every exercise")
    p.add_argument("--out", type=Path, default=Path("grades"), help="output folder (default: grades)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="grading processes (default: all cores)")
    p.add_argument("--seed", type=int, help="seed for the test inputs (default: $GRADER_SEED or 1234)")
    p.add_argument("--layout", choices=("auto", "plain", "gradescope", "classroom"), default="auto",
                   help="how SUBMISSIONS is laid out (default: auto-detect)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="grade on a Dask distributed cluster: a scheduler address (tcp://host:8786), or "
                        "'local' for a local cluster of --jobs workers (pip install 'grader[dask]')")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop grading a student after SECONDS (default: the exercises' own time limits "
                        "plus a margin)")
    p.add_argument("--retry-errors", action="store_true",
                   help="grade again the students whose grading failed or was stopped in an earlier run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--times", type=Path, metavar="CSV",
                   help="the students' submission times, when the export has none (columns student, "
                        "submitted_at with its timezone): the course's late policy uses them")
    p.add_argument("--pushes", type=Path, metavar="FOLDER",
                   help="GitHub Classroom clones: GitHub's record of each repository's pushes, "
                        "FOLDER/<repository>.json (saved with gh api, see docs/course.md); each student is graded "
                        "on the commit their branch held at their deadline, with the time it was pushed")
    p.add_argument("--export", choices=("canvas", "moodle", "csv"),
                   help="also write OUT/<format>-import.csv, as grader export does (needs course.yaml's roster "
                        "for canvas and moodle)")
    p.add_argument("--similarity", action="store_true",
                   help="also compare the students' files per exercise and list the similar pairs in "
                        "OUT/similarity.json and the report (it never changes a grade)")
    p.add_argument("--similarity-threshold", type=float, metavar="SCORE",
                   help="the score, above 0 and at most 1, from which a pair is listed (default 0.65)")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.batch import BatchError, run_batch

    names = [n for value in args.exercise for n in value.replace(",", " ").split()]
    if args.all == bool(names):
        parser.error("name the exercise(s) with --exercise, or give --all")
    exercises = all_exercises(root) if args.all else [resolve(n, root) for n in names]
    exercises = list({ex.name: ex for ex in exercises}.values())
    if not args.submissions.exists():
        print(f"grader: error: no such file or folder: {args.submissions}", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.similarity_threshold is not None and not 0 < args.similarity_threshold <= 1:
        parser.error("--similarity-threshold must be above 0 and at most 1")
    from grader.seed import Seed, seed_from_env

    # Derived once here (a short secret is stretched): the job processes get the key. (A weak
    # one: cli.py warned.)
    seed = Seed.public(args.seed) if args.seed is not None else seed_from_env()
    from grader.course import load_course

    course = load_course(root)  # None without course.yaml: no late work, the gradebook as before
    try:
        summary = run_batch(args.submissions, exercises, args.out, jobs=args.jobs, seed=seed,
                            layout=args.layout, dask=args.dask, retry_errors=args.retry_errors,
                            progress=not args.no_progress, timeout=args.timeout, course=course,
                            times_csv=args.times, pushes=args.pushes)
    except BatchError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    from grader.commands.report import after_batch, similarity_after_batch

    if args.similarity:
        print(similarity_after_batch(args, exercises))
    print(after_batch(summary.out))
    if args.export:
        from grader.commands.export import export_after_batch

        print(export_after_batch(summary.out, args.export, course.roster if course else None))
    from grader.text import counted

    print(f"{counted(summary.students, 'student')}: {summary.graded} graded now, {summary.reused} unchanged since "
          f"the last run" + (f", {summary.without_files} without a file to grade" if summary.without_files else "")
          + f", {counted(summary.errors, 'exercise')} not graded; {summary.seconds:.1f} s. "
          f"Gradebook: {summary.out / 'gradebook.csv'}; reports: {summary.out / 'reports'}; "
          f"summary: {summary.out / 'summary.md'}")
    return 0
