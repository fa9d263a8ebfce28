"""``grader.check("ex05")`` in a kernel: grade what the submission would be graded on.

The module graded is built as for the notebook file (:mod:`grader.notebook_read`),
from the cells this kernel ran: the last run of each graded cell, and the
imports, helpers and constants the graded cells use from the other cells. So
a function fixed (or broken) in a scratch cell counts exactly as it will when
the notebook is submitted, and the report says so in one line. When the
notebook saved on disk holds other graded cells than the kernel ran, the
report says that too. Outside IPython (a script, a test), the functions are
taken from the namespace given instead (:func:`namespace_to_source`).
"""

from __future__ import annotations

import ast
import dis
import inspect
import sys
import textwrap
import types
from pathlib import Path

from grader.exercises import Exercise, ExerciseError
from grader.notebook_read import (MISSING_FUNCTION, Cell, NotebookError, as_magic, extract_cells, is_graded,
                                  marked_functions, read_cells, strip_magics)
from grader.notebook_report import Report


def check_namespace(exercise: str, namespace: dict, seed: int | None = None, root: Path | None = None) -> Report:
    """Grade ``exercise`` as its notebook would be graded; return a :class:`Report`
    that Jupyter shows as HTML. In IPython (``namespace`` is the kernel's), from
    the cells the kernel ran; elsewhere, from the functions in ``namespace``.

    As ``grader check`` does, the results of ``after_due_date`` checks are held
    until their assignment's due date in the course's course.yaml (``root``,
    else the course folder found from here); a course.yaml that cannot be read
    raises :class:`grader.course.CourseError`, before anything is graded."""
    from grader.course import load_course
    from grader.exercises import find_root, resolve

    root = Path(root) if root else find_root()
    ex = resolve(exercise, root)
    course = load_course(root)
    shell = _ipython_for(namespace)
    if shell is None:
        source, notes = namespace_to_source(namespace, ex)
        return _held(Report(grade_source(ex, source, seed), notes), ex, course)
    history = _history(shell, namespace)
    saved = saved_notebook(namespace, ex)
    try:
        source, notes = kernel_source(history, namespace, ex, saved)
    except NothingRun as exc:  # said once, and nothing graded (every check would say the same)
        return _held(Report(_nothing_graded(ex, seed), [str(exc)], f"grader.check({ex.name!r})"), ex, course)
    if saved is not None:
        notes += graded_on_submission(saved, ex)
    result = grade_source(ex, source, seed)
    reproduce = (f"grader check {ex.name} --seed {result.seed} --submission {saved.name}" if saved is not None
                 else None)
    return _held(Report(result, notes, reproduce), ex, course)


def _held(report: Report, ex: Exercise, course) -> Report:
    """``report`` with its after_due_date checks withheld until their due date, and the note saying so
    (every return of :func:`check_namespace` goes through here, so none shows them early)."""
    from grader.course.visibility import hold

    report.notes += hold([report.result], [ex], course)
    return report


class CheckError(ExerciseError):
    """``grader.check`` cannot grade: an unknown exercise, no course folder, a course.yaml that cannot be
    read. A usage error: IPython shows its one line, not a traceback through the grader's code."""

    def _render_traceback_(self) -> list[str]:
        # IPython's hook for exceptions that draw themselves (InteractiveShell.showtraceback).
        return [f"grader.check: error: {self}"]


class NothingRun(Exception):
    """No graded cell has been run in this kernel (a fresh or restarted kernel)."""


def _nothing_graded(ex: Exercise, seed):
    """The result of a check with nothing to grade: 0 of the exercise's points, no check run."""
    from grader.results import ExerciseResult
    from grader.seed import as_seed

    return ExerciseResult(exercise=ex.name, title=ex.title, score=0.0, max_score=ex.max_score,
                          seed=as_seed(seed).shown, devices=[])


def graded_on_submission(saved: Path, ex: Exercise) -> list[str]:
    """A note when the exercise's ``.py`` file beside this notebook is what the other commands grade
    (``grader check``, a submission of the folder): the rule of :func:`grader.submission.graded_file`."""
    from grader.submission import graded_file, holds_work

    py = saved.parent / ex.file
    if not py.is_file() or py.is_symlink():
        return []
    chosen, note = graded_file(py, [saved], ex)
    if chosen == saved:
        return []
    if note:
        return [f"{note}: `grader check {ex.name}` and a submission of this folder grade {py.name}, not this notebook"]
    if holds_work(py, ex):
        return [f"{py.name} beside this notebook holds work and {saved.name} on disk holds none yet: "
                f"`grader check {ex.name}` and a submission of this folder grade {py.name} (save the notebook; "
                f"keep your work in one of them)"]
    return []


def grade_source(ex: Exercise, source: str, seed: int | None):
    """Grade the module ``source`` as the submission for ``ex``."""
    import shutil
    import tempfile

    from grader import oraclecache as oracle_cache
    from grader.grading import grade

    folder = Path(tempfile.mkdtemp(prefix="grader-check-"))
    try:
        (folder / "notebook.py").write_text(source)
        (result,) = grade([ex], {ex.name: folder / "notebook.py"}, seed=seed, use_cache=oracle_cache.allowed())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


# -- the cells this kernel ran ------------------------------------------------------------


def _ipython_for(namespace: dict):
    """The IPython shell whose namespace ``namespace`` is, or None (a script, a test)."""
    if "IPython" not in sys.modules:  # never import IPython to find out
        return None
    try:
        shell = sys.modules["IPython"].get_ipython()
    except Exception:
        return None
    return shell if shell is not None and getattr(shell, "user_ns", None) is namespace else None


def _history(shell, namespace: dict) -> list[str]:
    """The source of each cell this kernel ran, by execution count (index 0 is empty)."""
    raw = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if not isinstance(raw, list):
        raw = namespace.get("In", [])
    return [s if isinstance(s, str) else "" for s in raw]


def kernel_cells(history: list[str], tagged: set[str] = frozenset()) -> list[Cell]:
    """The notebook as this kernel knows it: every cell it ran, in order, except that
    a graded cell run again replaces its earlier runs (it is one cell, edited).
    A cell's number is its execution count, as Jupyter shows it: ``[4]``. A kernel
    cannot see cell tags: ``tagged`` holds the sources (stripped) of the cells the
    saved notebook tags ``graded``, so that a cell graded by its tag alone counts."""
    def graded(source: str) -> bool:
        return is_graded(source) or source.strip() in tagged

    latest: dict[tuple[str, ...], int] = {}
    for number, source in enumerate(history):
        if number and graded(source):
            # One graded cell per function: its marker line, or else the functions it defines.
            key = tuple(sorted(marked_functions(source))) or tuple(sorted(_function_names(source)))
            latest[key or (str(number),)] = number
    keep = set(latest.values())
    return [Cell(number, source, number in keep) for number, source in enumerate(history)
            if number and source.strip() and (number in keep or not graded(source))]


def _function_names(source: str) -> set[str]:
    try:
        return {n.name for n in ast.parse(strip_magics(source)[0]).body if isinstance(n, ast.FunctionDef)}
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()


def kernel_source(history: list[str], namespace: dict, ex: Exercise, saved: Path | None) -> tuple[str, list[str]]:
    """The module to grade from the cells the kernel ran, and the notes for the student."""
    tagged = set()
    if saved is not None:
        try:
            tagged = {c.source.strip() for c in read_cells(saved)[0] if c.graded}
        except NotebookError:
            pass  # unsaved_edits says so
    cells = kernel_cells(history, tagged)
    name = saved.name if saved is not None else "this notebook"
    if not any(c.graded for c in cells):
        raise NothingRun("nothing graded: no graded cell has been run in this kernel yet (a new or restarted "
                         "kernel): run the graded cells (their first line is `# GRADED FUNCTION: name`), then "
                         "check again")
    try:
        extracted = extract_cells(cells, ex, name)
        source, notes = extracted.source, list(extracted.notes)
    except NotebookError as exc:  # as the file would be: every check says why
        cause = f"this notebook cannot be graded: {exc}"
        source = "\n".join([MISSING_FUNCTION, *(f"{f} = _grader_missing({f!r}, {cause!r})" for f in ex.functions)])
        notes = []
    notes += redefinitions(cells, history, namespace, ex)
    if saved is not None:
        notes += unsaved_edits(cells, saved, ex)
    return source, notes


def redefinitions(cells: list[Cell], history: list[str], namespace: dict, ex: Exercise) -> list[str]:
    """One line for each graded function that the live namespace defines
    otherwise than the graded cell the grade uses."""
    notes = []
    for name in ex.functions:
        graded = [(c.number, d) for c in cells if c.graded for d in _definitions(c.source, name)]
        if not graded:
            continue  # the report says why it is missing
        number, definition = graded[-1]
        live = namespace.get(name)
        live_definition = _source_definition(live)
        if live_definition == definition:
            continue
        where = [n for n, source in enumerate(history) if n and live_definition is not None
                 and live_definition in _definitions(source, name)]
        later = [n for n, source in enumerate(history) if n > number and _definitions(source, name)]
        cell = (where or later or [None])[-1]
        if live is None:
            how = "is no longer defined in this kernel (deleted?)"
        elif cell is not None:
            how = f"was redefined in cell {cell}"
        else:
            how = "was redefined outside its graded cell"
        notes.append(f"`{name}` {how}; the grade uses cell {number}'s version")
    return notes


def _definitions(source: str, name: str) -> list[str]:
    """Each top-level definition of function ``name`` in ``source``, normalised
    (``ast.dump``: blank lines and comments do not count)."""
    if f"def {name}" not in source:
        return []
    try:
        tree = ast.parse(strip_magics(source)[0])
        return [ast.dump(node) for node in tree.body
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []


def _source_definition(fn) -> str | None:
    if not isinstance(fn, types.FunctionType):
        return None
    try:
        found = _definitions(textwrap.dedent(inspect.getsource(fn)), fn.__name__)
    except (OSError, TypeError):
        return None
    return found[0] if found else None


def saved_notebook(namespace: dict, ex: Exercise) -> Path | None:
    """The notebook file this kernel runs, when it can be told: the path Jupyter
    (``__session__``) or VS Code (``__vsc_ipynb_file__``) gives the kernel, else
    the exercise's notebook in the current folder."""
    import os

    given = [namespace.get("__session__"), namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")]
    for value in given:
        if isinstance(value, str) and value.endswith(".ipynb") and Path(value).is_file():
            return Path(value)
    for candidate in (f"{ex.name}.ipynb", f"{ex.module}.ipynb", f"ex{ex.number:02d}.ipynb"):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def unsaved_edits(cells: list[Cell], saved: Path, ex: Exercise) -> list[str]:
    """A note when the graded cells saved in ``saved`` are not those the kernel ran."""
    try:
        on_disk, _ = read_cells(saved)
    except NotebookError as exc:
        return [f"the notebook on disk cannot be graded ({exc}): save it again before you submit"]
    ran = {c.source.strip() for c in cells if c.graded}
    disk = {c.source.strip() for c in on_disk if c.graded}
    if ran - disk:  # a graded cell this kernel ran is not in the file: edited since the last save
        return [f"the notebook on disk ({saved.name}) is older than your last edit: save it before you submit "
                f"(this grade is for the graded cells as this kernel last ran them)"]
    not_run = sorted({f for source in disk - ran for f in marked_functions(source)})
    if not_run:  # the file is up to date, but this kernel has not run all of it (restarted?)
        return [f"graded cells of {saved.name} not run in this kernel since it started: "
                f"{', '.join(f'`{f}`' for f in not_run)}; their checks fail here until you run them"]
    return []


# -- outside IPython: the functions of a namespace ---------------------------------------------


def namespace_to_source(namespace: dict, ex: Exercise) -> tuple[str, list[str]]:
    """A module holding the exercise's functions from ``namespace``, with the
    imports, constants and notebook functions they use."""
    home = namespace.get("__name__", "__main__")
    imports, constants, functions, notes, missing = {}, {}, {}, [], {}
    pending = []
    for name in ex.functions:
        value = namespace.get(name)
        if value is None:
            missing[name] = f"`{name}` is not defined in this notebook yet: run its graded cell first"
        elif not isinstance(value, types.FunctionType):
            missing[name] = f"`{name}` is a {type(value).__name__}, not a function"
        else:
            pending.append((name, value))
    while pending:
        name, fn = pending.pop()
        if name in functions:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            missing[name] = (f"the source of `{name}` cannot be found (defined under a %%magic, or by exec?): "
                             f"define it in a plain graded cell and run it")
            continue
        source, removed = strip_magics(source)
        notes += [f"`{as_magic(line)}` in `{name}` (an IPython magic or shell command) is not run when grading"
                  for line in removed]
        functions[name] = source + (f"\n{name} = {fn.__name__}" if fn.__name__ not in (name, "<lambda>") else "")
        for used in sorted(_global_names(fn)):
            value = namespace.get(used, _NOTHING)
            if value is _NOTHING or used in functions or used in imports or used in constants:
                continue
            if isinstance(value, types.FunctionType) and value.__module__ == home:
                pending.append((used, value))
            elif isinstance(value, types.ModuleType):
                imports[used] = f"import {value.__name__}" + (f" as {used}" if value.__name__ != used else "")
            elif _importable(value):
                imports[used] = f"from {value.__module__} import {value.__qualname__}" + (
                    f" as {used}" if value.__qualname__ != used else "")
            elif _literal(value):
                constants[used] = f"{used} = {value!r}"
            elif used not in ("In", "Out", "get_ipython", "exit", "quit") and not used.startswith("_"):
                notes.append(f"`{used}` (used by `{name}`) is a {type(value).__name__} that the grader cannot "
                             f"copy from the notebook: create it inside the function")
    parts = ["# Made by grader.check from the functions defined in the notebook.",
             *imports.values(), *constants.values(), *functions.values()]
    if missing:
        parts += [MISSING_FUNCTION, *(f"{name} = _grader_missing({name!r}, {cause!r})" for name, cause in missing.items())]
    return "\n\n".join(parts) + "\n", notes


_NOTHING = object()


def _global_names(fn: types.FunctionType) -> set[str]:
    """The global names ``fn`` reads: in its body, and in its decorators and defaults."""
    names, codes = set(), [fn.__code__]
    while codes:
        code = codes.pop()
        names |= {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
        header = [*getattr(node, "decorator_list", []), *getattr(getattr(node, "args", None), "defaults", [])]
        names |= {n.id for part in header for n in ast.walk(part) if isinstance(n, ast.Name)}
    except (OSError, TypeError, SyntaxError, IndexError):
        pass
    return names


def _importable(value) -> bool:
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module in ("__main__", "builtins"):
        return False
    target = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target is value


def _literal(value) -> bool:
    try:
        return ast.literal_eval(repr(value)) == value
    except Exception:
        return False

