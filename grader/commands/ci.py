"""`grader ci`: grade a pull request with the base branch's grader, graders and metadata."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.commands._options import percent


USES_GRADER_SEED = True  # cli.py warns when $GRADER_SEED is short


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ci", help="grade a pull request: the base branch's graders on the head's exercise files only",
        description="Assemble a grading folder from the base checkout (grader, graders, metadata: trusted) "
                    "and only the student's exercise files of the pull request (the file named in each "
                    "exercise.yaml, and its notebook), grade it, and write report.json (scores, files, notes), "
                    "results.json (Gradescope's format), junit.xml and summary.md to --out, ::error annotations and the report (in a stop-commands block) to "
                    "standard output, the summary to $GITHUB_STEP_SUMMARY and the score to $GITHUB_OUTPUT. "
                    "Exit status 0 at or above the pass mark, 1 below it (nothing graded is never a pass), 2 for a "
                    "fault of the grader.")
    p.add_argument("--base", type=Path, help="the base branch's checkout (default: the course folder, --root)")
    head = p.add_mutually_exclusive_group(required=True)
    head.add_argument("--head", type=Path, help="the pull request's checkout (only student files are read)")
    head.add_argument("--head-ref", help="the pull request as a commit of the base repository (read with git)")
    p.add_argument("--out", type=Path, default=Path("grading-results"),
                   help="folder for results.json, junit.xml and summary.md (default: grading-results)")
    p.add_argument("--exercises", default=os.environ.get("GRADER_EXERCISES") or "changed",
                   help="'changed' (the exercises whose files the pull request changes), 'all', or names "
                        "such as 'ex01 ex03' (default: $GRADER_EXERCISES or changed)")
    p.add_argument("--pass-mark", type=percent, default=None, metavar="PERCENT",
                   help="exit with status 1 below PERCENT (0 to 100) of the points graded "
                        "(default: $GRADER_PASS_MARK or 0)")
    # Accepted so that a workflow released earlier keeps working; never used: a list of the
    # pull request's files can be cut short (GitHub's stops at 3000).
    p.add_argument("--changed-files", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, help="seed for the test inputs (default: $GRADER_SEED, kept secret "
                                           "in the outputs; else 1234)")
    p.add_argument("--run-nonce", metavar="NONCE",
                   help="with a secret $GRADER_SEED: grade with the inputs of the run whose report shows seed "
                        "secret:<fingerprint>/run:NONCE (staff reproducing a grade; without it each run draws a "
                        "fresh nonce, so one run's inputs are of no use in the next)")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.ci import run_ci
    from grader.grading import GraderFault

    pass_mark = args.pass_mark
    if pass_mark is None:
        value = os.environ.get("GRADER_PASS_MARK", "").strip()
        try:
            pass_mark = percent(value) if value else 0.0
        except argparse.ArgumentTypeError as exc:
            parser.error(f"GRADER_PASS_MARK: {exc}")
    from grader.seed import run_seed

    try:  # a secret seed: this run's own inputs, from a nonce the grader draws (grader.seed); cli.py warned of a weak one
        seed = run_seed(args.seed, args.run_nonce)
    except ValueError as exc:
        parser.error(str(exc))
    if args.changed_files is not None:
        print("grader: --changed-files is ignored: the exercises changed are found by comparing the student "
              "files of the head and the base (a list of files can be cut short); remove it from the workflow",
              file=sys.stderr)
    try:
        outcome = run_ci(args.base or root, args.out, head_dir=args.head, head_ref=args.head_ref,
                         which=args.exercises, pass_mark=pass_mark, seed=seed)
    except GraderFault as exc:
        print(f"grader: internal error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    return outcome.exit_status
