"""`grader report`: the class report (report.html) from an existing `grader batch` output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NEEDS_ROOT = False  # it reads a batch's output, not the course: it runs from anywhere


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="make the class report (report.html) from a grader batch output, without grading again",
        description="Read GRADES (the --out folder of grader batch: reports/<student>.json, summary.json and, "
                    "after --similarity, similarity.json) and write GRADES/report.html: one self-contained page "
                    "with the score distributions, the checks the class failed most, the time per student, a "
                    "sortable table of the students with each one's report, similar submissions and the run's "
                    "facts. Needs matplotlib: pip install 'grader[report]'.")
    p.add_argument("grades", type=Path, help="the output folder of grader batch")
    p.add_argument("--out", "-o", type=Path, help="where to write the page (default: GRADES/report.html)")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.classreport import ReportError, build_report

    try:
        path = build_report(args.grades, args.out)
    except ReportError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    print(f"Class report: {path}")
    return 0


def after_batch(out: Path) -> str:
    """Called by `grader batch` once the gradebook is written: the report, or why there is none (never fails the batch)."""
    from grader.classreport import ReportError, build_report

    try:
        return f"class report: {build_report(out)}"
    except ReportError as exc:
        return f"no class report ({exc})"


def similarity_after_batch(args: argparse.Namespace, exercises) -> str:
    """`grader batch --similarity`: compare the class and write OUT/similarity.json; a few lines to print."""
    from grader.batch import BatchError
    from grader.similarity import DEFAULT_THRESHOLD, format_pairs, similarity_for_batch, write_similarity

    threshold = DEFAULT_THRESHOLD if args.similarity_threshold is None else args.similarity_threshold
    try:
        result = similarity_for_batch(args.submissions, exercises, args.layout, threshold)
    except BatchError as exc:
        return f"similarity: not compared ({exc})"
    path = write_similarity(args.out, result)
    return f"Similar submissions ({path}):\n{format_pairs(result)}"
