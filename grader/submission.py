"""Turning what a student hands in (a file, a folder, a notebook) into one module file."""

from __future__ import annotations

import ast
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.exercises import Exercise

MAX_SOURCE_BYTES = 2 * 1024 * 1024


class SubmissionError(Exception):
    """The submission cannot be graded at all (missing file, broken notebook, ...)."""


@dataclass
class Prepared:
    path: Path  # a .py file holding the student's module
    display_name: str
    cleanup: list[Path] = field(default_factory=list)


def prepare_submission(path: Path, ex: Exercise) -> Prepared:
    """Find the student's source for ``ex`` at ``path`` and return it as a .py file."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / ex.file, path / ex.name / ex.file, path / "exercises" / ex.name / ex.file]
        notebooks = [path / f"{ex.name}.ipynb", path / f"{ex.module}.ipynb"]
        found = next((c for c in candidates + notebooks if c.is_file()), None)
        if found is None:
            raise SubmissionError(f"{path} holds no {ex.file} (nor {ex.name}.ipynb)")
        path = found
    if not path.is_file():
        raise SubmissionError(f"no such file: {path}")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_SOURCE_BYTES // 1024} KB: not a source file")
    if path.suffix == ".ipynb":
        from grader.notebook import notebook_to_source

        source = notebook_to_source(path, ex)
        tmp = Path(tempfile.mkdtemp(prefix="grader-nb-"))
        target = tmp / ex.file
        target.write_text(source)
        return Prepared(target, path.name, [tmp])
    return Prepared(path, path.name)


def defined_functions(source: str) -> set[str]:
    """Names of the top-level functions defined in ``source`` (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
