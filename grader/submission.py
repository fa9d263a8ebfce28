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
    source: Path | None = None  # the student's file graded (the notebook, for a notebook)
    # The student's own modules of earlier exercises this one may import (module name ->
    # a .py file): copied beside the graded module in its sandbox. See companions().
    companions: dict[str, Path] = field(default_factory=dict)


def locate_submission(path: Path, ex: Exercise) -> Path:
    """The student's file for ``ex``: ``path`` itself, or the one it holds
    when a folder; SubmissionError when there is none."""
    return choose_submission(path, ex)[0]


def choose_submission(path: Path, ex: Exercise) -> tuple[Path, str | None]:
    """The student's file for ``ex`` and a note on the choice (see :func:`graded_file`): in a folder, its
    ``.py`` file or notebook; for the exercise's own file (``grader check ex05``), that file or the
    notebook beside it. SubmissionError when there is none."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / ex.file, path / ex.name / ex.file, path / "exercises" / ex.name / ex.file]
        notebooks = [path / f"{ex.name}.ipynb", path / f"{ex.module}.ipynb", path / f"ex{ex.number:02d}.ipynb",
                     path / ex.name / f"{ex.name}.ipynb", path / "exercises" / ex.name / f"{ex.name}.ipynb"]
        links = [c for c in candidates + notebooks if c.is_symlink()]
        py = next((c for c in candidates if c.is_file() and not c.is_symlink()), None)
        found, note = graded_file(py, [n for n in notebooks if n.is_file() and not n.is_symlink()], ex)
        if found is None:
            if links:
                raise SubmissionError(f"{_shown(links[0].name)} is a symbolic link, not your own file: not graded "
                                      f"(copy the file itself there)")
            raise SubmissionError(f"{path} holds no {ex.file} (nor {ex.name}.ipynb)")
        return found, note
    if path.is_symlink():
        raise SubmissionError(f"{_shown(path.name)} is a symbolic link, not your own file: not graded "
                              f"(copy the file itself there)")
    if not path.is_file():
        raise SubmissionError(f"no such file: {path}")
    if _same_file(path, ex.student_file):  # the default: the exercise's file, or the notebook beside it
        notebooks = [ex.path / f"{ex.name}.ipynb", ex.path / f"{ex.module}.ipynb"]
        return graded_file(path, [n for n in notebooks if n.is_file() and not n.is_symlink()], ex)
    return path, None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


# -- which file is graded when a .py file and a notebook are both there -------------------------------
#
# One rule, for every command (check, batch, the Gradescope autograder, ci, and grader.check() in a
# kernel, which says what the rule will grade): a file "holds work" when it defines one of the
# exercise's graded functions with a body of its own (not the released stub's lone `raise
# NotImplementedError`), or cannot be read as the released one could (it does not parse). The one that holds work is graded; when both do, or neither,
# the .py file (the exercise's `file:`), and when both do, a note names the notebook left out.
# File times are not used: a student sets them (and git, zip and Gradescope rewrite them).


def graded_file(py: Path | None, notebooks: list[Path], ex: Exercise) -> tuple[Path | None, str | None]:
    """The file graded for ``ex`` out of its ``.py`` file and its notebooks (any may be absent), and a
    note for the student when both were there (None when there is nothing to say)."""
    notebooks = [n for n in notebooks if n is not None]
    with_work = [n for n in notebooks if holds_work(n, ex)]
    notebook = (with_work or notebooks or [None])[0]
    if py is None or notebook is None:
        return py or notebook, None
    if not with_work:
        return py, None  # the released notebook, untouched, beside the student's file: nothing to say
    if not holds_work(py, ex):
        return notebook, (f"{_shown(notebook.name)} is graded: {_shown(py.name)} beside it is the stub as "
                          f"released (when only one of them holds your work, that one is graded)")
    return py, (f"{_shown(py.name)} is graded, not {_shown(notebook.name)}: both hold work, and then the .py "
                f"file is graded; keep your work in one of them")


def holds_work(path: Path, ex: Exercise) -> bool:
    """Whether the ``.py`` file or notebook at ``path`` holds work for ``ex``: it defines one of the
    graded functions with a body other than the stub's lone ``raise NotImplementedError`` (a docstring
    aside), or it cannot be read as the release could (it does not parse, is not a notebook, is too
    large): the student changed it, and grading it says what is wrong. A file that cannot be opened: no."""
    try:
        if path.suffix == ".ipynb":
            from grader.notebook_read import NotebookError, read_cells, strip_magics

            try:
                sources = [strip_magics(c.source)[0] for c in read_cells(path)[0] if c.graded]
            except NotebookError:
                return True
        else:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                return True
            sources = [path.read_text(encoding="utf-8", errors="replace")]
    except OSError:
        return False
    wanted = set(ex.functions)
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return True  # the release parses: this was edited
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in wanted \
                    and not _stub_body(node.body):
                return True
    return False


def _stub_body(body: list[ast.stmt]) -> bool:
    """A function body as released: an optional docstring, then one ``raise NotImplementedError(...)``
    (or ``pass`` / ``...``)."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if len(body) != 1:
        return not body
    stmt = body[0]
    if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                                      and stmt.value.value is Ellipsis):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def prepare_submission(path: Path, ex: Exercise) -> Prepared:
    """Find the student's source for ``ex`` at ``path`` and return it as a .py file."""
    path, chosen = choose_submission(path, ex)
    if chosen:
        print(f"grader: note: {ex.name}: {chosen}", file=sys.stderr)
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
        prepared = Prepared(target, _shown(path.name), [tmp], ([chosen] if chosen else []) + notes, path)
    else:
        prepared = Prepared(path, path.name, notes=[chosen] if chosen else [], source=path)
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
