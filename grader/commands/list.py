"""`grader list`: the exercises, their points, and the student's current score."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import scorecache
from grader.exercises import all_exercises


def add_parser(sub) -> None:
    sub.add_parser("list", help="list the exercises with their points and your current score")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    exercises = all_exercises(root)
    todo = [ex for ex in exercises if ex.student_file.exists() and scorecache.load(ex) is None]
    if todo:
        from grader.grading import GraderFault, grade

        print(f"grading {len(todo)} exercise(s) changed since their last check...", file=sys.stderr)
        try:
            results = {r.exercise: r for r in grade(todo)}
        except GraderFault as exc:
            print(f"grader: internal error: {exc}", file=sys.stderr)
            return 2
        for ex in todo:
            if ex.name in results:
                scorecache.store(ex, results[ex.name])
    width = max(len(ex.name) for ex in exercises)
    print(f"{'exercise':<{width}}  {'points':>6}  {'score':>7}  title")
    for ex in exercises:
        cached = scorecache.load(ex)
        score = f"{cached['score']:.2f}".rstrip("0").rstrip(".") if cached else "-"
        print(f"{ex.name:<{width}}  {ex.max_score:>6g}  {score:>7}  {ex.title}")
    return 0
