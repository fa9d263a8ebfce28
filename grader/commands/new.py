"""`grader new`: scaffold a new exercise (and its reference) from the templates."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    new = sub.add_parser("new", help="scaffold a new exercise: metadata, README, stub, grader, mutant, reference")
    new.add_argument("name", help="the exercise folder name, e.g. ex11_dropout")
    new.add_argument("--title", required=True, help='the title, e.g. "Inverted dropout"')
    new.add_argument("--file", help="the student's file (default: the part after exNN_, e.g. dropout.py)")
    new.add_argument("--functions", help="the graded functions, comma-separated (default: the file's name)")
    new.add_argument("--random", action="store_true",
                     help="random operations (dropout): each function takes the random draw (f(x, keep, mask)); "
                          "the grader draws it from the grading seed and gives it to the student and the oracle")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.scaffold import PLACEHOLDER, scaffold

    functions = [f.strip() for f in args.functions.split(",") if f.strip()] if args.functions else None
    made = scaffold(root, args.name, args.title, file=args.file, functions=functions, random=args.random)
    print(f"created {args.name}:")
    for path in made.files:
        print(f"  {path.relative_to(root) if path.is_relative_to(root) else path}")
    if made.readme is not None:
        print(f"  (and its row in {made.readme.relative_to(root) if made.readme.is_relative_to(root) else made.readme})")
    print(f"\nThe plumbing works now:  grader validate {args.name} --min-mutants 1\n"
          f"Next: fill in every {PLACEHOLDER} (stub, README, grader, metadata, reference),\n"
          f"add at least 4 mutants to {made.exercise.relative_to(root) / 'mutants'}, then\n"
          f"    grader validate {args.name}\n"
          f"(docs/instructors.md walks through it).")
    return 0
