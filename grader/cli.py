"""The ``grader`` command line.

Exit status: 0 when grading ran, whatever the score; 1 when ``--fail-under``
is given and not met; 2 for a usage error or a fault of the grader itself.
Never non-zero because the student's code is bad.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from grader.exercises import ExerciseError, all_exercises, find_root, resolve

FORMATS = ("text", "json", "gradescope")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade NumPy deep-learning exercises against PyTorch.")
    parser.add_argument("--root", type=Path, help="the course folder (holding exercises/); default: found from here")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="grade an exercise (ex01, 1, ex01_sigmoid or sigmoid)")
    check.add_argument("exercise", nargs="?", help="the exercise to grade")
    check.add_argument("--all", action="store_true", help="grade every exercise")
    check.add_argument("--submission", type=Path, help="grade this file, notebook or folder instead of your own file")
    check.add_argument("--seed", type=int, help="seed for the test inputs (default: $GRADER_SEED or 1234)")
    check.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    check.add_argument("--output", type=Path, help="write the report to this file instead of standard output")
    check.add_argument("--fail-under", type=float, metavar="PERCENT",
                       help="exit with status 1 when the score is below PERCENT of the maximum")
    check.add_argument("--no-color", action="store_true", help="plain text even on a terminal")

    sub.add_parser("list", help="list the exercises with their points and your current score")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        root = args.root.resolve() if args.root else find_root()
        if args.command == "list":
            return _list(root)
        return _check(args, root, parser)
    except ExerciseError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 2


def _check(args, root: Path, parser) -> int:
    from grader.grading import GraderFault, grade
    from grader.report import format_text, to_gradescope, to_json

    if args.all == bool(args.exercise):
        parser.error("name one exercise, or give --all")
    exercises = all_exercises(root) if args.all else [resolve(args.exercise, root)]
    submissions = {}
    if args.submission is not None:
        if not args.submission.exists():
            print(f"grader: error: no such file or folder: {args.submission}", file=sys.stderr)
            return 2
        submissions = {ex.name: args.submission.resolve() for ex in exercises}
    try:
        results = grade(exercises, submissions, seed=args.seed)
    except GraderFault as exc:
        print(f"grader: internal error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        text = to_json(results, many=args.all)
    elif args.format == "gradescope":
        text = json.dumps(to_gradescope(results), indent=2)
    else:
        color = args.output is None and sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
        text = "\n\n".join(format_text(r, color=color) for r in results)
        if len(results) > 1:
            total, best = sum(r.score for r in results), sum(r.max_score for r in results)
            text += f"\n\nTotal: {total:.2f} / {best:.2f}"
    if args.output:
        args.output.write_text(text + "\n")
    else:
        print(text)
    for r, ex in zip(results, exercises):
        if not submissions:
            _cache_store(ex, r)
    if any(r.grader_faults for r in results):
        return 2
    if args.fail_under is not None:
        total, best = sum(r.score for r in results), sum(r.max_score for r in results)
        if best and 100.0 * total / best < args.fail_under:
            return 1
    return 0


# -- `grader list` and its cache ---------------------------------------------
# The cache lives outside the course folder (grading never writes into it),
# keyed by the content of the student's file, so a score shown is current.


def _cache_dir() -> Path:
    base = os.environ.get("GRADER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "grader")
    return Path(base)


def _cache_key(ex) -> str | None:
    try:
        content = ex.student_file.read_bytes()
    except OSError:
        return None
    from grader import __version__
    from grader.plugin import seed_from_env

    digest = hashlib.sha256(content + f"|{ex.name}|{__version__}|{seed_from_env()}".encode()).hexdigest()
    return digest[:32]


def _cache_store(ex, result) -> None:
    key = _cache_key(ex)
    if key is None:
        return
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{key}.json").write_text(json.dumps({"score": result.score, "max_score": result.max_score}))
    except OSError:
        pass  # a read-only home: list just grades again


def _cache_load(ex) -> dict | None:
    key = _cache_key(ex)
    if key is None:
        return None
    try:
        return json.loads((_cache_dir() / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None


def _list(root: Path) -> int:
    exercises = all_exercises(root)
    todo = [ex for ex in exercises if ex.student_file.exists() and _cache_load(ex) is None]
    if todo:
        from grader.grading import GraderFault, grade

        print(f"grading {len(todo)} exercise(s) changed since their last check...", file=sys.stderr)
        try:
            for ex, result in zip(todo, grade(todo)):
                _cache_store(ex, result)
        except GraderFault as exc:
            print(f"grader: internal error: {exc}", file=sys.stderr)
            return 2
    width = max(len(ex.name) for ex in exercises)
    print(f"{'exercise':<{width}}  {'points':>6}  {'score':>7}  title")
    for ex in exercises:
        cached = _cache_load(ex)
        score = f"{cached['score']:.2f}".rstrip("0").rstrip(".") if cached else "-"
        print(f"{ex.name:<{width}}  {ex.max_score:>6g}  {score:>7}  {ex.title}")
    return 0
