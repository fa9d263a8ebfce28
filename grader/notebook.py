"""Jupyter notebooks: an exercise's student notebook, grading one, and grading from inside one.

Three parts, each small:

- **Writing** (``grader notebook ex05``): the README as markdown cells, the
  stub's imports as a code cell, each stub function in its own *graded cell*,
  and a last cell that calls ``grader.check("ex05_softmax")``.
- **Reading** (``grader check ex05 --submission ex05_softmax.ipynb``): only the
  graded cells are taken, with the imports (from any cell) that they use;
  nothing else is run. The result is one module that runs each graded cell in
  turn, as Jupyter would, and replaces a function that no graded cell defines
  (deleted, renamed, duplicated, or its cell failed) by one that raises with
  the reason, so that every check of it fails with that one line.
- **In a kernel** (``grader.check("ex05")``): the functions the student just
  defined are written to a module (their source, and the imports, constants
  and helper functions they use) and graded in the sandbox like a file.

A graded cell is a code cell tagged ``graded`` *or* holding a line
``# GRADED FUNCTION: name``: either survives editing in Jupyter, JupyterLab,
VS Code or Colab.
"""

from __future__ import annotations

import ast
import dis
import html
import inspect
import json
import re
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

from grader.exercises import Exercise
from grader.submission import SubmissionError

GRADED_TAG = "graded"
MARKER = "# GRADED FUNCTION: {}"
_MARKER = re.compile(r"^#\s*GRADED FUNCTION:\s*(\w+)", re.MULTILINE)
_SUPPORTED = (1, 2, 3, 4)  # nbformat major versions nbformat can upgrade to 4

# -- writing ------------------------------------------------------------------


def make_notebook(ex: Exercise):
    """The student notebook for ``ex`` (an ``nbformat`` v4 notebook)."""
    import nbformat.v4 as v4

    source = ex.student_file.read_text()
    lines = source.splitlines()
    imports, functions, other = [], [], []
    for i, node in enumerate(ast.parse(source).body):
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[start - 1:node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(text)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append((node.name, text))
        elif not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            other.append(text)  # a constant the functions use: graded with the first one

    cells = [v4.new_markdown_cell(part) for part in _markdown_sections((ex.path / "README.md").read_text())]
    cells.append(v4.new_markdown_cell(
        "## Your code\n\n"
        "Fill in each graded cell below: they start with `# GRADED FUNCTION: name`. Only those "
        "cells (and the imports they use) are graded; keep that first line, keep one cell per "
        "function, and use NumPy only. Add cells of your own to experiment (plots, `%timeit`, "
        "`!pip`): they are never run by the grader."))
    cells.append(v4.new_code_cell("\n".join(imports)))
    for k, (name, text) in enumerate(functions):
        body = "\n\n".join(([*other] if k == 0 else []) + [text])
        cells.append(v4.new_code_cell(f"{MARKER.format(name)}\n\n{body}",
                                      metadata={"tags": [GRADED_TAG], "deletable": False}))
    cells.append(v4.new_markdown_cell(
        "## Check your work\n\nRun the cell below: it grades the functions defined above, "
        f"as `grader check {ex.name}` grades a file, and shows the report."))
    cells.append(v4.new_code_cell(f'import grader\n\ngrader.check("{ex.name}")'))
    return v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "grader": {"exercise": ex.name},
    })


def write_notebook(ex: Exercise, path: Path) -> None:
    import nbformat

    nb = make_notebook(ex)
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def _markdown_sections(text: str) -> list[str]:
    """``text`` cut before each ``## `` heading (outside code blocks)."""
    sections, current, fenced = [], [], False
    for line in text.splitlines():
        fenced ^= line.lstrip().startswith("```")
        if line.startswith("## ") and not fenced and current:
            sections.append("\n".join(current).strip())
            current = []
        current.append(line)
    sections.append("\n".join(current).strip())
    return [s for s in sections if s]


# -- reading ------------------------------------------------------------------


@dataclass
class Extracted:
    source: str  # the module to grade
    notes: list[str] = field(default_factory=list)  # worth telling, not failing


@dataclass
class _Cell:
    number: int  # 1-based, counting every cell
    source: str
    graded: bool


def notebook_to_source(path: Path, ex: Exercise) -> str:
    """The module source made of ``path``'s graded cells (and the imports they use)."""
    return extract(path, ex).source


def extract(path: Path, ex: Exercise) -> Extracted:
    """The module to grade for the notebook at ``path``, and notes for the student."""
    cells, meta = _read_cells(path)
    wanted = set(ex.functions)
    notes: list[str] = []
    runs: list[tuple[int, str, list[str]]] = []  # (cell, source, the exercise's functions it should define)
    defined: dict[str, list[int]] = {}  # function -> the graded cells defining it
    why_missing: dict[str, str] = {}  # function -> why it would not be defined
    broken: list[str] = []
    used: set[str] = set()
    for cell in (c for c in cells if c.graded):
        source, removed = strip_magics(cell.source)
        notes += [f"cell {cell.number}: `{line.strip()}` (an IPython magic or shell command) is commented "
                  f"out: the grader does not run it" for line in removed]
        marked = _MARKER.findall(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            cause = f"graded cell {cell.number} has a syntax error on its line {exc.lineno}: {exc.msg}"
            broken.append(cause)
            why_missing.update({f: cause for f in marked if f not in why_missing})
            continue
        names = _defined_names(tree)
        for f in sorted(names & wanted):
            defined.setdefault(f, []).append(cell.number)
        for f in marked:
            if f not in names and f not in why_missing:
                instead = _listing(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
                why_missing[f] = (f"graded cell {cell.number} is marked `# GRADED FUNCTION: {f}` but defines "
                                  + (f"{instead} instead: renamed?" if instead else "no function"))
        used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        runs.append((cell.number, source, sorted((set(marked) | names) & wanted)))

    ungraded = {f: c.number for c in reversed(cells) if not c.graded for f in _defined_names(_parse(c.source))}
    if not (defined or why_missing or broken or wanted & set(ungraded)) and wanted:
        made_for = meta.get("exercise") if re.fullmatch(r"\w{1,40}", str(meta.get("exercise"))) else None
        raise SubmissionError(
            f"{path.name} has no graded cell defining {', '.join(ex.functions)}: were the graded cells "
            f"deleted? (a graded cell starts with the line '# GRADED FUNCTION: name', or has the tag "
            f"'{GRADED_TAG}')" + (f"; this notebook is for {made_for}" if made_for not in (None, ex.name) else ""))
    duplicates = {f: f"`{f}` is defined in {len(where)} graded cells ({_listing(where)}): keep only one "
                     f"(a copied cell?)" for f, where in defined.items() if len(where) > 1}
    for f in ex.functions:
        if f in defined or f in why_missing:
            continue
        why_missing[f] = (f"`{f}` is defined in cell {ungraded[f]}, which is not a graded cell: make "
                          f"`# GRADED FUNCTION: {f}` its first line" if f in ungraded else
                          broken[0] if broken else
                          f"no graded cell defines `{f}`: was its cell deleted, or the function renamed?")

    graded_names = {n for _, source, _ in runs for n in _defined_names(_parse(source))}
    helpers, used = _helpers_used(cells, used, graded_names)
    notes += [f"cell {number}: `{name}`, used by the graded cells, is taken along although its cell is not "
              f"graded (only its definition: the rest of that cell is not run)" for name, number, _ in helpers]
    parts = [f"# Made by grader from {path.name}: the imports its graded cells use, the helper functions and",
             "# constants they use from other cells, then the graded cells. Nothing else is run.",
             *_imports_used(cells, used), *(source for _, _, source in helpers),
             _MISSING, _RUNNER.format(notebook=repr(path.name))]
    parts += [f"_grader_cell({number}, {source!r}, {names!r})" for number, source, names in runs]
    parts.append(f"_grader_finish({ex.functions!r}, {why_missing!r}, {duplicates!r})")
    return Extracted("\n".join(parts) + "\n", notes)


# Runs each graded cell as Jupyter would (a failing cell does not stop the
# next), with tracebacks that name the cell; then replaces each function the
# cells failed to define by one that raises with the reason.
_RUNNER = '''
_GRADER_FAILED = {{}}


def _grader_cell(number, source, names):
    import linecache, os
    filename = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{{_NOTEBOOK}}, cell {{number}}")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(compile(source, filename, "exec"), globals())
    except Exception as exc:
        if isinstance(exc, (MemoryError, RecursionError)) or getattr(exc, "errno", None) == 27:
            raise
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        line = tb.tb_lineno if tb is not None else "?"
        message = (str(exc).strip().splitlines() or [""])[0][:150]
        for name in names:
            _GRADER_FAILED.setdefault(name, f"graded cell {{number}} failed at its line {{line}}, before "
                                            f"defining `{{name}}` ({{type(exc).__name__}}: {{message}})")


def _grader_finish(functions, why_missing, duplicates):
    for name in functions:
        cause = duplicates.get(name) or (
            None if name in globals() else _GRADER_FAILED.get(name) or why_missing.get(name))
        if cause:
            globals()[name] = _grader_missing(name, cause)


_NOTEBOOK = {notebook}
'''

# A stand-in for a function the notebook does not define: every call raises
# NameError with the reason (compiled outside the student's folder, so that the
# report shows the reason alone, without a traceback).
_MISSING = '''
class NotebookFunctionMissing(NameError):
    pass


def _grader_missing(name, cause):
    scope = {}
    exec(compile("def missing(*args, **kwargs):\\n    raise NotebookFunctionMissing(cause)\\n", "<grader>", "exec"),
         {"cause": cause, "NotebookFunctionMissing": NotebookFunctionMissing}, scope)
    scope["missing"].__name__ = scope["missing"].__qualname__ = name
    return scope["missing"]
'''


def _read_cells(path: Path) -> tuple[list[_Cell], dict]:
    """The cells of the notebook at ``path``, and its ``grader`` metadata."""
    unreadable = f"{path.name} is not a readable Jupyter notebook"
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise SubmissionError(f"{unreadable}: it is not text (UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{unreadable}: it is not JSON ({exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}); a .py file renamed, or a broken download?") from None
    version = data.get("nbformat") if isinstance(data, dict) else None
    if type(version) is not int:
        raise SubmissionError(f"{unreadable}: JSON without an 'nbformat' version number")
    if version not in _SUPPORTED:
        raise SubmissionError(
            f"{path.name} is in nbformat version {version}, which this grader cannot read (it reads "
            f"versions 1 to 4): save it again from Jupyter, or copy your code into a fresh notebook")
    if version < 4:
        import nbformat

        try:
            data = nbformat.reads(text, as_version=4)
        except Exception as exc:  # nbformat raises several unrelated types
            first = (str(exc).splitlines() or [""])[0][:200]
            raise SubmissionError(f"{unreadable}: nbformat version {version} could not be converted to "
                                  f"version 4 ({type(exc).__name__}: {first})") from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{unreadable}: it has no list of cells")
    found = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
        source = source if isinstance(source, str) else ""
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        graded = (isinstance(tags, list) and GRADED_TAG in tags) or bool(_MARKER.search(source))
        found.append(_Cell(number, source, graded))
    meta = data.get("metadata")
    meta = meta.get("grader") if isinstance(meta, dict) else None
    return found, meta if isinstance(meta, dict) else {}


_MAGIC = re.compile(r"^\s*(%|!(?!=)|[\w.]+\s*=\s*[%!](?!=)|\?*[\w.]+\?+\s*$|\?+[\w.]+\s*$)")
_IPYTHON_CALL = re.compile(r"^\s*([\w.]+\s*=\s*)?get_ipython\(\)\.\w+\(.*\)\s*$")


def strip_magics(source: str) -> tuple[str, list[str]]:
    """``source`` with IPython magics and shell commands (``%timeit``, ``!pip``,
    ``x = !ls``, ``np.sum?``, and IPython's own translation of them) replaced
    by ``pass``, and the lines removed. Source that parses is left alone."""
    try:
        ast.parse(source)
        if "get_ipython()" not in source:
            return source, []
    except SyntaxError:
        pass
    lines, removed = source.splitlines(), []
    for i, line in enumerate(lines):
        if _MAGIC.match(line) or _IPYTHON_CALL.match(line):
            removed.append(line)
            indent = line[:len(line) - len(line.lstrip())]
            lines[i] = f"{indent}pass  # not run when grading (IPython): {line.strip()}"
    return "\n".join(lines), removed


def _as_magic(line: str) -> str:
    """``%timeit f(x)`` for IPython's translation ``get_ipython().run_line_magic('timeit', 'f(x)')``."""
    try:
        call = ast.parse(line.strip()).body[0].value
        method, args = call.func.attr, [ast.literal_eval(a) for a in call.args]
        prefix = {"run_line_magic": "%", "run_cell_magic": "%%", "system": "!", "getoutput": "!"}[method]
        return (prefix + " ".join(args[:1 if prefix == "!" else 2])).strip()
    except Exception:  # not a translated magic: as it is
        return line.strip()


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(strip_magics(source)[0])
    except SyntaxError:
        return None


def _defined_names(tree: ast.Module | None) -> set[str]:
    names = set()
    for node in tree.body if tree is not None else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _helpers_used(cells: list[_Cell], used: set[str], graded: set[str]) -> tuple[list[tuple[str, int, str]], set[str]]:
    """The definitions, in ungraded cells, of the helpers the graded cells use
    (and the helpers those use): plain ``def``s (no decorators: they would run
    code) and constants with a literal value, the last one in the notebook of
    each name, as Jupyter run top to bottom would leave it. Returns
    ``[(name, cell number, source)]`` in notebook order, and ``used`` grown by
    the names those helpers use (for their imports)."""
    found: dict[str, tuple[int, int, ast.stmt, str]] = {}  # name -> (cell, position, node, source)
    for cell in cells:
        tree = None if cell.graded else _parse(cell.source)
        for position, node in enumerate(tree.body if tree is not None else []):
            if isinstance(node, ast.FunctionDef) and not node.decorator_list:
                found[node.name] = (cell.number, position, node, ast.unparse(node))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
                found[node.targets[0].id] = (cell.number, position, node, ast.unparse(node))
    used, taken, pending = set(used), {}, sorted(used - graded)
    while pending:
        name = pending.pop()
        if name in taken or name not in found:
            continue
        taken[name] = found[name]
        more = {n.id for n in ast.walk(found[name][2]) if isinstance(n, ast.Name)}
        pending += sorted(more - used - graded)
        used |= more
    ordered = sorted(taken.items(), key=lambda item: item[1][:2])
    return [(name, number, source) for name, (number, _, _, source) in ordered], used


def _imports_used(cells: list[_Cell], used: set[str]) -> list[str]:
    """The top-level imports of the ungraded cells that bind a name the graded cells use."""
    found: dict[str, str] = {}
    for cell in cells:
        tree = None if cell.graded else _parse(cell.source)
        for node in tree.body if tree is not None else []:
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or getattr(node, "module", "") == "__future__":
                continue
            node.names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in used or (
                a.name == "*" and (node.module or "").split(".")[0] in ("numpy", "math"))]
            if node.names:
                found.setdefault(ast.unparse(node), f"  # cell {cell.number}")
    return [statement + where for statement, where in found.items()]


def _listing(items) -> str:
    items = sorted(items)
    quoted = [f"`{i}`" if isinstance(i, str) else str(i) for i in items]
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)


# -- in a kernel: grader.check("ex05") ------------------------------------------


def check_namespace(exercise: str, namespace: dict, seed: int | None = None, root: Path | None = None):
    """Grade the functions for ``exercise`` defined in ``namespace`` (a notebook's
    globals); return a :class:`Report` that Jupyter shows as HTML."""
    import shutil
    import tempfile

    from grader.exercises import find_root, resolve
    from grader.grading import grade

    ex = resolve(exercise, Path(root) if root else find_root())
    source, notes = namespace_to_source(namespace, ex)
    folder = Path(tempfile.mkdtemp(prefix="grader-check-"))
    try:
        (folder / "notebook.py").write_text(source)
        (result,) = grade([ex], {ex.name: folder / "notebook.py"}, seed=seed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Report(result, notes)


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
        notes += [f"`{_as_magic(line)}` in `{name}` (an IPython magic or shell command) is not run when grading"
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
        parts += [_MISSING, *(f"{name} = _grader_missing({name!r}, {cause!r})" for name, cause in missing.items())]
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


class Report:
    """A grading report that Jupyter shows as HTML (and a terminal as text)."""

    def __init__(self, result, notes: list[str] = ()):
        self.result, self.notes = result, list(notes)

    @property
    def score(self) -> float:
        return self.result.score

    @property
    def max_score(self) -> float:
        return self.result.max_score

    def __repr__(self) -> str:
        from grader.report import format_text

        r = self.result
        reproduce = f"grader.check({r.exercise!r}, seed={r.seed})"
        return "\n".join([format_text(r, reproduce=reproduce), *(f"  note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        from grader.report import _points
        from grader.results import ERROR, PASSED

        e, r = html.escape, self.result
        colors = {PASSED: "#1a7f37", ERROR: "#9a6700"}
        rows = []
        for t in r.tests:
            label = {PASSED: "PASS", ERROR: "ERROR"}.get(t.status, "FAIL")
            output = f"<pre style='margin:0 0 0 1em;white-space:pre-wrap'>{e(t.output)}</pre>" if t.output else ""
            rows.append(
                f"<tr><td style='color:{colors.get(t.status, '#cf222e')};font-weight:bold;vertical-align:top'>"
                f"{label}</td><td style='text-align:left'><code>{e(t.name)}</code>{output}</td>"
                f"<td style='vertical-align:top;white-space:nowrap'>"
                f"{_points(t.score)} / {_points(t.max_score)}</td></tr>")
        pct = 100.0 * r.score / r.max_score if r.max_score else 0.0
        notes = "".join(f"<li>{e(n)}</li>" for n in self.notes)
        return (
            f"<div class='grader-report'><p><b>{e(r.exercise)}: {e(r.title)}</b></p>"
            f"<table>{''.join(rows)}</table>"
            f"<p><b>Score: {_points(r.score)} / {_points(r.max_score)} ({pct:.0f}%)</b></p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + f"<p style='opacity:0.7'>seed {e(str(r.seed))} | devices: {e(', '.join(r.devices))}</p></div>")
