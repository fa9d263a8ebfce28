"""`grader notebook`: write an exercise's student notebook (.ipynb)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub) -> None:
    notebook = sub.add_parser("notebook", help="write an exercise's notebook for students (.ipynb)")
    notebook.add_argument("exercise", help="the exercise (ex05, 5, ex05_softmax or softmax)")
    notebook.add_argument("--out", type=Path, help="the file (or folder) to write; default: <exercise>.ipynb here")
    notebook.add_argument("--force", action="store_true", help="overwrite the file if it exists")


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    from grader.exercises import resolve
    from grader.notebook_read import GRADED_TAG
    from grader.notebook_write import write_notebook

    ex = resolve(args.exercise, root)
    out = args.out if args.out is not None else Path(f"{ex.name}.ipynb")
    if out.is_dir():
        out = out / f"{ex.name}.ipynb"
    if out.exists() and not args.force:
        print(f"grader: error: {out} exists (your work?); pass --force to overwrite it", file=sys.stderr)
        return 2
    try:
        write_notebook(ex, out)
    except OSError as exc:
        print(f"grader: error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: a graded cell for each of {', '.join(ex.functions)} (tag '{GRADED_TAG}', first line "
          f"'# GRADED FUNCTION: name'). Grade it with: grader check {ex.name} --submission {out}")
    return 0
