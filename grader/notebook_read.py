"""Reading a notebook: the module that grading a notebook runs.

``grader check ex05 --submission ex05_softmax.ipynb`` takes only the graded
cells, with the imports (from any cell) that they use, and the helper
functions and constants they use from other cells; nothing else is run. The
result is one module that runs each graded cell in turn, as Jupyter would, and
replaces a function that no graded cell defines (deleted, renamed,
duplicated, or its cell failed) by one that raises with the reason, so that
every check of it fails with that one line. ``grader.check()`` in a kernel
builds the same module from the cells the kernel ran (:func:`extract_cells`).

A graded cell is a code cell tagged ``graded`` *or* holding a line
``# GRADED FUNCTION: name``: either survives editing in Jupyter, JupyterLab,
VS Code or Colab.

Everything here reads untrusted text: the file's size, its JSON nesting and
each cell's size are bounded, and a cell too deep to parse is reported as
such; any failure is a :class:`NotebookError`, never a crash of the grader.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.exercises import Exercise

GRADED_TAG = "graded"
MARKER = "# GRADED FUNCTION: {}"
_MARKER = re.compile(r"^#\s*GRADED FUNCTION:\s*(\w+)", re.MULTILINE)
_SUPPORTED = (1, 2, 3, 4)  # nbformat major versions nbformat can upgrade to 4
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024  # outputs (plots) included
MAX_CELL_BYTES = 2 * 1024 * 1024  # as for a .py submission


class NotebookError(Exception):
    """The notebook cannot be graded at all (not a notebook, too large, too deep, no graded cell)."""


@dataclass
class Extracted:
    source: str  # the module to grade
    notes: list[str] = field(default_factory=list)  # worth telling, not failing


@dataclass
class Cell:
    number: int  # 1-based, counting every cell (in a kernel: its execution count)
    source: str
    graded: bool


def is_graded(source: str, tags=None) -> bool:
    """Whether a code cell is a graded cell (tagged, or holding a ``# GRADED FUNCTION:`` line)."""
    return (isinstance(tags, list) and GRADED_TAG in tags) or bool(_MARKER.search(source))


def marked_functions(source: str) -> list[str]:
    """The functions a cell's ``# GRADED FUNCTION: name`` lines name."""
    return _MARKER.findall(source)


def notebook_to_source(path: Path, ex: Exercise) -> str:
    """The module source made of ``path``'s graded cells (and the imports they use)."""
    return extract(path, ex).source


def extract(path: Path, ex: Exercise) -> Extracted:
    """The module to grade for the notebook at ``path``, and notes for the student."""
    cells, meta = read_cells(path)
    return extract_cells(cells, ex, path.name, meta)


def extract_cells(cells: list[Cell], ex: Exercise, name: str, meta: dict | None = None) -> Extracted:
    """The module to grade made of ``cells`` (those of the notebook ``name``)."""
    too_deep = "is nested too deeply for the grader to read (an expression thousands of levels deep?)"
    for cell in cells:
        if cell.graded and len(cell.source) > MAX_CELL_BYTES:
            raise NotebookError(f"{name}: graded cell {cell.number} holds more than {MAX_CELL_BYTES // 1024} KB "
                                f"of code")
    try:
        return _extract(cells, ex, name, meta or {})
    except (RecursionError, MemoryError):
        # Find the cell, for the message; parsing one at a time is bounded by the same limits.
        for cell in cells:
            try:
                ast.parse(cell.source)
            except (RecursionError, MemoryError):
                raise NotebookError(f"{name}: cell {cell.number} {too_deep}") from None
            except (SyntaxError, ValueError):
                pass
        raise NotebookError(f"{name} {too_deep}") from None


def _extract(cells: list[Cell], ex: Exercise, name: str, meta: dict) -> Extracted:
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
        except (SyntaxError, ValueError) as exc:
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
        raise NotebookError(
            f"{name} has no graded cell defining {', '.join(ex.functions)}: were the graded cells "
            f"deleted? (a graded cell starts with the line '# GRADED FUNCTION: name', or has the tag "
            f"'{GRADED_TAG}')" + (f"; this notebook is for {made_for}" if made_for not in (None, ex.name) else ""))
    duplicates = {f: f"`{f}` is defined in {len(where)} graded cells ({_listing(where)}): keep only one "
                     f"(a copied cell?); your other functions use the last one" for f, where in defined.items()
                  if len(where) > 1}
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
    parts = [f"# Made by grader from {name}: the imports its graded cells use, the helper functions and",
             "# constants they use from other cells, then the graded cells. Nothing else is run.",
             *_imports_used(cells, used), *(source for _, _, source in helpers),
             MISSING_FUNCTION, _RUNNER.format(notebook=repr(name))]
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
        if name in duplicates and callable(globals().get(name)):
            # A duplicate costs its own checks only: the notebook's other functions still call the last one.
            globals()[name] = _grader_duplicate(name, duplicates[name], globals()[name], globals())
            continue
        cause = duplicates.get(name) or (
            None if name in globals() else _GRADER_FAILED.get(name) or why_missing.get(name))
        if cause:
            globals()[name] = _grader_missing(name, cause)


_NOTEBOOK = {notebook}
'''

# A stand-in for a function the notebook does not define: every call raises
# NameError with the reason (compiled outside the student's folder, so that the
# report shows the reason alone, without a traceback).
MISSING_FUNCTION = '''
class NotebookFunctionMissing(NameError):
    pass


def _grader_missing(name, cause):
    scope = {}
    exec(compile("def missing(*args, **kwargs):\\n    raise NotebookFunctionMissing(cause)\\n", "<grader>", "exec"),
         {"cause": cause, "NotebookFunctionMissing": NotebookFunctionMissing}, scope)
    scope["missing"].__name__ = scope["missing"].__qualname__ = name
    return scope["missing"]


def _grader_duplicate(name, cause, function, home):
    # Called by the grader (from outside this module): it raises with the cause. Called by the
    # notebook's own functions (this module's globals): the last definition runs.
    import sys
    scope = {}
    exec(compile("def duplicated(*args, **kwargs):\\n    if sys._getframe(1).f_globals is home:\\n"
                 "        return function(*args, **kwargs)\\n    raise NotebookFunctionMissing(cause)\\n",
                 "<grader>", "exec"),
         {"cause": cause, "NotebookFunctionMissing": NotebookFunctionMissing, "sys": sys, "home": home,
          "function": function}, scope)
    scope["duplicated"].__name__ = scope["duplicated"].__qualname__ = name
    return scope["duplicated"]
'''


def read_cells(path: Path) -> tuple[list[Cell], dict]:
    """The code cells of the notebook at ``path``, and its ``grader`` metadata."""
    unreadable = f"{path.name} is not a readable Jupyter notebook"
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 1024 // 1024} MB")
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise NotebookError(f"{path.name} cannot be read ({exc.strerror or exc})") from None
    except RecursionError:
        raise NotebookError(f"{unreadable}: its JSON is nested too deeply (thousands of levels)") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{unreadable}: it is not text (UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{unreadable}: it is not JSON ({exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}); a .py file renamed, or a broken download?") from None
    version = data.get("nbformat") if isinstance(data, dict) else None
    if type(version) is not int:
        raise NotebookError(f"{unreadable}: JSON without an 'nbformat' version number")
    if version not in _SUPPORTED:
        raise NotebookError(
            f"{path.name} is in nbformat version {version}, which this grader cannot read (it reads "
            f"versions 1 to 4): save it again from Jupyter, or copy your code into a fresh notebook")
    if version < 4:
        import nbformat

        try:
            data = nbformat.reads(text, as_version=4)
        except (Exception, RecursionError) as exc:  # nbformat raises several unrelated types
            first = (str(exc).splitlines() or [""])[0][:200]
            raise NotebookError(f"{unreadable}: nbformat version {version} could not be converted to "
                                  f"version 4 ({type(exc).__name__}: {first})") from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"{unreadable}: it has no list of cells")
    found = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
        source = source if isinstance(source, str) else ""
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        graded = is_graded(source, tags)
        found.append(Cell(number, source, graded))
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
    except (SyntaxError, ValueError):
        pass
    lines, removed = source.splitlines(), []
    for i, line in enumerate(lines):
        if _MAGIC.match(line) or _IPYTHON_CALL.match(line):
            removed.append(line)
            indent = line[:len(line) - len(line.lstrip())]
            lines[i] = f"{indent}pass  # not run when grading (IPython): {line.strip()}"
    return "\n".join(lines), removed


def as_magic(line: str) -> str:
    """``%timeit f(x)`` for IPython's translation ``get_ipython().run_line_magic('timeit', 'f(x)')``."""
    try:
        call = ast.parse(line.strip()).body[0].value
        method, args = call.func.attr, [ast.literal_eval(a) for a in call.args]
        prefix = {"run_line_magic": "%", "run_cell_magic": "%%", "system": "!", "getoutput": "!"}[method]
        return (prefix + " ".join(args[:1 if prefix == "!" else 2])).strip()
    except Exception:  # not a translated magic: as it is
        return line.strip()


def _parse(source: str) -> ast.Module | None:
    """``source`` parsed (magics commented out), or None: it is never run. Too large
    to be code: None; too deep: RecursionError, for :func:`extract_cells` to report."""
    if len(source) > MAX_CELL_BYTES:
        return None
    try:
        return ast.parse(strip_magics(source)[0])
    except (SyntaxError, ValueError):  # ValueError: a null byte
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


def _helpers_used(cells: list[Cell], used: set[str], graded: set[str]) -> tuple[list[tuple[str, int, str]], set[str]]:
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


def _imports_used(cells: list[Cell], used: set[str]) -> list[str]:
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

