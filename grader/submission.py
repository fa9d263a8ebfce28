"""Turning what a student hands in (a file, a folder, a notebook) into one module file."""

from __future__ import annotations

import ast
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.exercises import Exercise
from grader.text import sanitize

MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024  # outputs (plots) included (grader.notebook_read holds the same)


class SubmissionError(Exception):
    """The submission cannot be graded at all (missing file, broken notebook, ...)."""


@dataclass
class Prepared:
    path: Path  # a .py file holding the student's module
    display_name: str
    cleanup: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the student, not failures (from a notebook)


def locate_submission(path: Path, ex: Exercise) -> Path:
    """The student's file for ``ex``: ``path`` itself, or the one it holds
    when a folder; SubmissionError when there is none."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / ex.file, path / ex.name / ex.file, path / "exercises" / ex.name / ex.file]
        notebooks = [path / f"{ex.name}.ipynb", path / f"{ex.module}.ipynb", path / f"ex{ex.number:02d}.ipynb"]
        found = next((c for c in candidates + notebooks if c.is_file()), None)
        if found is None:
            raise SubmissionError(f"{path} holds no {ex.file} (nor {ex.name}.ipynb)")
        path = found
    if not path.is_file():
        raise SubmissionError(f"no such file: {path}")
    return path


def prepare_submission(path: Path, ex: Exercise) -> Prepared:
    """Find the student's source for ``ex`` at ``path`` and return it as a .py file."""
    path = locate_submission(path, ex)
    notebook = path.suffix == ".ipynb"
    limit = MAX_NOTEBOOK_BYTES if notebook else MAX_SOURCE_BYTES
    if path.stat().st_size > limit:
        raise SubmissionError(f"{_shown(path.name)} is larger than {limit // 1024} KB: not a "
                              + ("notebook" if notebook else "source file"))
    if notebook:
        from grader.notebook_read import NotebookError, extract

        try:
            extracted = extract(path, ex)
        except NotebookError as exc:  # it names the student's file: make it safe to show
            raise SubmissionError(sanitize(f"this notebook cannot be graded: {exc}", 1000)) from None
        notes = [sanitize(f"{_shown(path.name)}, {note}", 500) for note in extracted.notes]
        for note in notes:
            print(f"grader: note: {note}", file=sys.stderr)
        tmp = Path(tempfile.mkdtemp(prefix="grader-nb-"))
        target = tmp / ex.file
        target.write_text(extracted.source)
        return Prepared(target, _shown(path.name), [tmp], notes)
    return Prepared(path, path.name)


def _shown(name: str) -> str:
    return sanitize(name, 100)


def defined_functions(source: str) -> set[str]:
    """Names of the top-level functions defined in ``source`` (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
