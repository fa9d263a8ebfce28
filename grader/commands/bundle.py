"""`grader bundle --gradescope OUT.zip`: the Gradescope autograder zip (hidden checks included)."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.exercises import all_exercises, resolve


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bundle", help="build the Gradescope autograder zip (graders with hidden checks, no solutions)",
        description="Write a Gradescope autograder zip: setup.sh, run_autograder, the grader package and the "
                    "graders of the exercises, hidden checks included; never the reference solutions. Before "
                    "writing it, the references are graded with the bundle's seed (full marks expected).")
    p.add_argument("exercises", nargs="*", help="the exercises this assignment grades (default: all)")
    p.add_argument("--gradescope", type=Path, required=True, metavar="OUT.zip", help="the zip file to write")
    p.add_argument("--seed", type=lambda s: int(s) if s.strip().isdigit() else s.strip(),
                   help="the grading seed on Gradescope, kept secret from students (default: a random 128-bit "
                        "one, printed and kept in bundle.json)")
    p.add_argument("--only-submitted", action="store_true",
                   help="grade only the exercises whose file is in the submission (default: all; a missing "
                        "file scores 0 with a message)")
    p.add_argument("--no-check", action="store_true", help="do not grade the references with the bundle's seed first")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.bundle import bundle

    exercises = [resolve(name, root) for name in args.exercises] if args.exercises else all_exercises(root)
    report = bundle(root, args.gradescope, exercises, seed=args.seed, only_submitted=args.only_submitted,
                    check=not args.no_check)
    print(f"wrote {report.out} ({len(report.files)} files): {', '.join(report.exercises)}")
    print(f"  grading seed: {report.seed}")
    print(f"  total: {report.max_score:g} points ({report.hidden_points:g} of them in hidden checks): "
          f"set the assignment's points to {report.max_score:g} on Gradescope")
    if report.reference_check:
        print(f"  {report.reference_check}")
    print("  no reference solution in any file")
    return 0
