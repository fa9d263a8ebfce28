"""`grader validate`: check that exercises' graders are fit to grade (for instructors and CI)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader.exercises import all_exercises, resolve


USES_GRADER_SEED = True  # cli.py warns when $GRADER_SEED is short


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate", help="check an exercise's grader: reference full marks, stub 0, mutants caught, determinism",
        description="Grade the reference (full marks on several seeds, on every device present), the stub "
                    "(0, no grader error) and every mutant (loses points, with its '# expect-hint:'), and "
                    "grade twice with the same seed (identical results). Exit status 1 when anything fails.")
    p.add_argument("exercise", nargs="?", help="the exercise (ex10, 10, ex10_linreg or linreg)")
    p.add_argument("--all", action="store_true", help="validate every exercise")
    p.add_argument("--course", action="store_true",
                   help="check course.yaml only (it is also checked before any exercise is validated): "
                        "exercises, dates and their timezones, the late policy, the roster, the extensions")
    p.add_argument("--seed", type=int, help="the first seed (default: $GRADER_SEED or 1234)")
    p.add_argument("--seeds", type=int, default=3, metavar="N",
                   help="grade the reference on N seeds: SEED, SEED+1, ... (default: 3)")
    p.add_argument("--min-mutants", type=int, default=None, metavar="N",
                   help="fail with fewer than N mutants (default: 4)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    p.add_argument("--verbose", action="store_true", help="show the whole feedback of failed steps")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.plugin import seed_from_env
    from grader.validate import DEFAULT_MIN_MUTANTS, format_summary, format_text, to_json, validate_exercise

    from grader.course import CourseError, load_course

    if args.all == bool(args.exercise) and not (args.course and not args.exercise and not args.all):
        parser.error("name one exercise, or give --all (or --course)")
    try:
        course = load_course(root)
    except CourseError as exc:
        print(f"course.yaml: FAIL\n{exc}", file=sys.stderr)
        return 1
    if args.course or (course is not None and args.format == "text"):  # no course.yaml: as before
        print(course_summary(course))
    if args.course and not args.exercise and not args.all:
        return 0
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    exercises = all_exercises(root) if args.all else [resolve(args.exercise, root)]
    from grader.seed import Seed

    first = Seed.public(args.seed) if args.seed is not None else seed_from_env()
    seeds = [first.offset(i) for i in range(args.seeds)]
    min_mutants = DEFAULT_MIN_MUTANTS if args.min_mutants is None else args.min_mutants
    started = time.perf_counter()
    validations = []
    for ex in exercises:
        v = validate_exercise(ex, root, seeds, min_mutants)
        validations.append(v)
        if args.format == "text":
            print(format_text(v, verbose=args.verbose) + "\n", flush=True)
    seconds = time.perf_counter() - started
    if args.format == "json":
        print(to_json(validations, seconds))
    else:
        print(format_summary(validations, seconds).lstrip("\n"))
    if not all(v.ok for v in validations):
        if args.format == "text":
            print("grader validate: some checks failed (see above)", file=sys.stderr)
        return 1
    return 0


def course_summary(course) -> str:
    """One line on course.yaml for `grader validate`."""
    if course is None:
        return "course.yaml: none (no deadlines, no late policy)"
    roster = f"{len(course.roster.students)} students on the roster" if course.roster else "no roster"
    return (f"course.yaml: ok ({course.name or 'unnamed'} {course.term}, {len(course.assignments)} assignment(s), "
            f"{roster}, {len(course.extensions)} extension(s); late policy: {course.late_policy.describe()})")
