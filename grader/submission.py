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
    # The student's own modules of earlier exercises this one may import (module name ->
    # a .py file): copied beside the graded module in its sandbox. See companions().
    companions: dict[str, Path] = field(default_factory=dict)


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
        prepared = Prepared(target, _shown(path.name), [tmp], notes)
    else:
        prepared = Prepared(path, path.name)
    if used_exercises(ex):
        _add_companions(prepared, path, ex)
    return prepared


def _shown(name: str) -> str:
    return sanitize(name, 100)


def defined_functions(source: str) -> set[str]:
    """Names of the top-level functions defined in ``source`` (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


# -- multi-file submissions (the capstones: ex11, ex12) ----------------------------
#
# An exercise may list in exercise.yaml the earlier exercises whose modules the
# student's file may import (``uses: [ex06_conv, ex08_batchnorm]``). The student's
# own copies of those modules are looked up where the graded file was found, and
# copied beside it into the same sandbox: only files from the submission, never a
# hidden reference (solutions/ is never searched) and never torch (the sandbox's
# import blocker applies to them as to the graded file).


def used_exercises(ex: Exercise) -> list[Exercise]:
    """The exercises whose modules ``ex``'s file may import (``uses:`` in its exercise.yaml)."""
    from grader.exercises import METADATA, ExerciseError, load_exercise

    names = ex.extra.get("uses") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ExerciseError(f"{ex.path / METADATA}: `uses` must be a list of exercise folder names")
    used = []
    for name in names:
        folder = ex.path.parent / name
        if not (folder / METADATA).is_file():
            raise ExerciseError(f"{ex.path / METADATA}: `uses` names {name}, which is not an exercise "
                                f"folder beside {ex.path.name}")
        used.append(load_exercise(folder))
    return used


def companion_sources(main: Path, ex: Exercise) -> dict[str, Path]:
    """The student's file (a .py or a notebook) for each exercise ``ex`` uses, keyed by
    that exercise's name: beside ``main`` (a flat folder, a Gradescope upload, a notebook
    folder) or, when ``main`` sits in ``ex``'s own folder (``exercises/ex11_resblock/``,
    a course repository or a batch), in the sibling exercise folders. Missing ones are
    left out: a self-contained file needs none."""
    main = Path(main)
    bases = [main.parent]
    if main.parent.name == ex.name:
        bases.append(main.parent.parent)
    found = {}
    for dep in used_exercises(ex):
        # (a batch writes each exercise's file, a notebook too, into a folder named after it)
        for base in bases + [bases[-1] / dep.name] * (len(bases) > 1):
            try:
                found[dep.name] = locate_submission(base, dep)
                break
            except SubmissionError:
                continue
    return found


def _add_companions(prepared: Prepared, main: Path, ex: Exercise) -> None:
    """Fill ``prepared.companions``; a notebook companion is extracted to a .py file."""
    sources = companion_sources(main, ex)
    for dep in used_exercises(ex):
        source = sources.get(dep.name)
        if source is None:
            if dep.module in _imported_modules(prepared.path):
                _note(prepared, f"{prepared.display_name} imports {dep.module}, but no {dep.file} ({dep.name}) "
                                f"was found beside it: put your {dep.file} in the same folder")
            continue
        try:
            dep_prepared = prepare_submission(source, dep)
        except SubmissionError as exc:
            _note(prepared, f"your {dep.file} ({dep.name}) is not used: {exc}")
            continue
        prepared.cleanup.extend(dep_prepared.cleanup)
        prepared.companions[dep.module] = dep_prepared.path


def _note(prepared: Prepared, text: str) -> None:
    note = sanitize(text, 500)
    prepared.notes.append(note)
    print(f"grader: note: {note}", file=sys.stderr)


def _imported_modules(path: Path) -> set[str]:
    """Top-level module names ``path`` imports (empty if it does not parse)."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names
