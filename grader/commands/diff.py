"""`grader diff`: which students' grades changed between two batch runs, and why."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NEEDS_ROOT = False  # it reads two batch outputs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "diff", help="list the students whose grade changed between two grader batch outputs, and why",
        description="Compare OLD_GRADES and NEW_GRADES (two --out folders of grader batch): every student whose "
                    "grade changed, per exercise and per check, with the reasons the reports prove (the file, the "
                    "graders, the seed or the grader version changed; an extension; the submission time; the late "
                    "penalty). Students whose grade did not change are counted, not listed. Exit status 0.")
    p.add_argument("old", type=Path, help="the earlier batch output")
    p.add_argument("new", type=Path, help="the later batch output")


def run(args: argparse.Namespace, root, parser: argparse.ArgumentParser) -> int:
    from grader.course.regrade import DiffError, diff, format_diff

    try:
        print(format_diff(diff(args.old, args.new)))
    except DiffError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    return 0
