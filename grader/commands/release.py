"""`grader release`: write the student repository (no solutions, mutants, tests or hidden checks)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.exercises import all_exercises, resolve


def add_parser(sub) -> None:
    p = sub.add_parser(
        "release", help="write the student repository: stubs, READMEs, public graders, the grader package",
        description="Write the student repository to --out: stubs, READMEs, exercise.yaml without hidden "
                    "checks, the public graders, the grader package, pyproject.toml, constraints.txt, a "
                    "student README, the autograde workflow and notebooks when present. Never solutions/, "
                    "mutants/, tests/, benchmarks/ or hidden checks; a release that would contain a "
                    "reference function body is deleted and the command fails.")
    p.add_argument("exercises", nargs="*", help="the exercises to release (default: all)")
    p.add_argument("--out", type=Path, required=True, help="the folder to write (new or empty)")
    p.add_argument("--force", action="store_true", help="replace a previous release in --out")
    p.add_argument("--no-notebooks", action="store_true", help="do not run `grader notebook` in the release")
    p.add_argument("--classroom", action="store_true",
                   help="name the autograde workflow 'Autograding Tests' and its job 'run-autograding-tests', "
                        "the names GitHub Classroom's dashboard records points under")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.release import release

    exercises = [resolve(name, root) for name in args.exercises] if args.exercises else all_exercises(root)
    report = release(root, args.out, exercises, force=args.force, notebooks=not args.no_notebooks,
                     classroom=args.classroom)
    print(f"released {len(report.exercises)} exercise(s) to {report.out} ({len(report.files)} files)")
    for name, checks in report.hidden_checks.items():
        print(f"  {name}: hidden check(s) left out: {', '.join(checks)}")
    for note in report.notes:
        print(f"  note: {note}")
    print("no solutions, mutants, tests or hidden checks; no reference code found in any file")
    return 0
