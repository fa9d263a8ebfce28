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

Everything here reads untrusted text: the file's size, its JSON nesting, its
number of cells and of JSON values, and each cell's size are bounded, and a
cell too deep to parse is reported as such; any failure is a
:class:`NotebookError`, never a crash of the grader.

**The work is bounded by what the graded cells use.** Each graded cell is
parsed once (all of them together hold at most :data:`MAX_GRADED_BYTES`).
Other cells are never parsed unless a cheap scan of their lines (a regular
expression, no parsing) shows a top-level definition or import of a name the
graded cells (or the helpers taken for them) use; such a cell is parsed once,
within :data:`MAX_HELPER_BYTES` in all, and only what it defines is kept. A
scratch cell of megabytes of code that defines nothing the graded cells use
costs a scan of its lines, nothing more (``benchmarks/notebook_parse.py``).
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
# What the trusted side parses (an AST costs ~170 bytes of memory per byte of code, ~1 s per MB):
MAX_GRADED_BYTES = 1024 * 1024  # all the graded cells together (a course's are a few KB)
MAX_HELPER_BYTES = 1024 * 1024  # other cells parsed for the helpers and imports the graded cells use
MAX_HELPER_ROUNDS = 8  # helpers of helpers: how many times the other cells are scanned for new names
MAX_CELLS = 10_000  # a course notebook has a few hundred at most
# Commas and brackets in the file: a bound on the JSON values json.loads builds (outputs included).
MAX_JSON_VALUES = 2_000_000


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
    return (isinstance(tags, list) and GRADED_TAG in tags) or ("GRADED FUNCTION" in source
                                                                and bool(_MARKER.search(source)))


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
    graded_bytes = 0
    for cell in cells:
        if cell.graded:
            if len(cell.source) > MAX_CELL_BYTES:
                raise NotebookError(f"{name}: graded cell {cell.number} holds more than {MAX_CELL_BYTES // 1024} "
                                    f"KB of code")
            graded_bytes += len(cell.source)
    if graded_bytes > MAX_GRADED_BYTES:
        raise NotebookError(f"{name}: its graded cells hold more than {MAX_GRADED_BYTES // 1024} KB of code in all")
    try:
        return _extract(cells, ex, name, meta or {})
    except (RecursionError, MemoryError):  # one a cell's parse did not attribute (it is reported per cell)
        raise NotebookError(f"{name} {_TOO_DEEP}") from None


_TOO_DEEP = "is nested too deeply for the grader to read (an expression thousands of levels deep?)"


def _parse_cell(cell: Cell, name: str) -> tuple[ast.Module | None, str, list[str], Exception | None]:
    """``cell`` parsed (:func:`parse_code`); too deep to parse: a NotebookError naming the cell."""
    try:
        return parse_code(cell.source)
    except (RecursionError, MemoryError):
        raise NotebookError(f"{name}: cell {cell.number} {_TOO_DEEP}") from None


def _extract(cells: list[Cell], ex: Exercise, name: str, meta: dict) -> Extracted:
    wanted = set(ex.functions)
    notes: list[str] = []
    runs: list[tuple[int, str, list[str]]] = []  # (cell, source, the exercise's functions it should define)
    defined: dict[str, list[int]] = {}  # function -> the graded cells defining it
    why_missing: dict[str, str] = {}  # function -> why it would not be defined
    broken: list[str] = []
    used: set[str] = set()
    graded_names: set[str] = set()
    for cell in (c for c in cells if c.graded):
        tree, source, removed, error = _parse_cell(cell, name)  # the one parse of this cell
        notes += [f"cell {cell.number}: `{line.strip()}` (an IPython magic or shell command) is commented "
                  f"out: the grader does not run it" for line in removed]
        marked = _MARKER.findall(cell.source)
        if tree is None:
            cause = f"graded cell {cell.number} has a syntax error on its line {error.lineno}: {error.msg}"
            broken.append(cause)
            why_missing.update({f: cause for f in marked if f not in why_missing})
            continue
        names = _defined_names(tree)
        graded_names |= names
        for f in sorted(names & wanted):
            defined.setdefault(f, []).append(cell.number)
        for f in marked:
            if f not in names and f not in why_missing:
                instead = _listing(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
                why_missing[f] = (f"graded cell {cell.number} is marked `# GRADED FUNCTION: {f}` but defines "
                                  + (f"{instead} instead: renamed?" if instead else "no function"))
        used |= _names_in(tree)
        runs.append((cell.number, source, sorted((set(marked) | names) & wanted)))
        del tree

    unfound = [f for f in ex.functions if f not in defined and f not in why_missing]
    ungraded = _defined_elsewhere(cells, unfound) if unfound else {}  # a scan of lines: nothing is parsed
    if not (defined or why_missing or broken or wanted & set(ungraded)) and wanted:
        made_for = meta.get("exercise") if re.fullmatch(r"\w{1,40}", str(meta.get("exercise"))) else None
        raise NotebookError(
            f"{name} has no graded cell defining {', '.join(ex.functions)}: were the graded cells "
            f"deleted? (a graded cell starts with the line '# GRADED FUNCTION: name', or has the tag "
            f"'{GRADED_TAG}')" + (f"; this notebook is for {made_for}" if made_for not in (None, ex.name) else ""))
    duplicates = {f: f"`{f}` is defined in {len(where)} graded cells ({_listing(where)}): keep only one "
                     f"(a copied cell?); your other functions use the last one" for f, where in defined.items()
                  if len(where) > 1}
    for f in unfound:
        why_missing[f] = (f"`{f}` is defined in cell {ungraded[f]}, which is not a graded cell: make "
                          f"`# GRADED FUNCTION: {f}` its first line" if f in ungraded else
                          broken[0] if broken else
                          f"no graded cell defines `{f}`: was its cell deleted, or the function renamed?")

    others = _OtherCells(cells, name)
    helpers, used = others.helpers_used(used, graded_names)
    notes += [f"cell {number}: `{name}`, used by the graded cells, is taken along although its cell is not "
              f"graded (only its definition: the rest of that cell is not run)" for name, number, _ in helpers]
    notes += others.notes()
    parts = [f"# Made by grader from {name}: the imports its graded cells use, the helper functions and",
             "# constants they use from other cells, then the graded cells. Nothing else is run.",
             *others.imports_used(used), *(source for _, _, source in helpers),
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
        _check_counts(text, path.name)
        data = _json_loads(text)
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


def _check_counts(text: str, name: str) -> None:
    """Refuse, before parsing, a notebook whose JSON would cost more than any real one: too
    many cells, or too many values (commas and brackets bound what json.loads builds)."""
    cells = text.count('"cell_type"')
    if cells > MAX_CELLS:
        raise NotebookError(f"{name} has {cells} cells; the grader reads notebooks of at most {MAX_CELLS}")
    values = text.count(",") + text.count("[") + text.count("{")
    if values > MAX_JSON_VALUES:
        raise NotebookError(f"{name} holds more than {MAX_JSON_VALUES} JSON values (large outputs?): clear its "
                            f"outputs (Kernel > Restart & Clear Output), save it and submit it again")


def _json_loads(text: str):
    """``json.loads`` with the cycle collector paused: the objects it builds hold no cycles,
    and a collection every few hundred thousand new objects makes a large file quadratic."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    finally:
        if enabled:
            gc.enable()


_MAGIC = re.compile(r"^\s*(%|!(?!=)|[\w.]+\s*=\s*[%!](?!=)|\?*[\w.]+\?+\s*$|\?+[\w.]+\s*$)")
_IPYTHON_CALL = re.compile(r"^\s*([\w.]+\s*=\s*)?get_ipython\(\)\.\w+\(.*\)\s*$")


def strip_magics(source: str) -> tuple[str, list[str]]:
    """``source`` with IPython magics and shell commands (``%timeit``, ``!pip``,
    ``x = !ls``, ``np.sum?``, and IPython's own translation of them) replaced
    by ``pass``, and the lines removed. Source that parses is left alone."""
    _, source, removed, _ = parse_code(source)
    return source, removed


def parse_code(source: str) -> tuple[ast.Module | None, str, list[str], Exception | None]:
    """``source`` parsed, with IPython magics commented out when it does not parse as it is
    (or holds IPython's translation of them): ``(tree or None, the source parsed, the lines
    commented out, the SyntaxError or ValueError)``. One parse, two only for a cell that
    holds magics. RecursionError and MemoryError (too deep) are the caller's to report."""
    error: Exception | None = None
    try:
        tree = ast.parse(source)
        if "get_ipython()" not in source:
            return tree, source, [], None
    except (SyntaxError, ValueError) as exc:  # ValueError: a null byte
        tree, error = None, exc
    stripped, removed = _comment_out_magics(source)
    if not removed:
        return tree, source, [], error
    try:
        return ast.parse(stripped), stripped, removed, None
    except (SyntaxError, ValueError) as exc:
        return None, stripped, removed, exc


def _comment_out_magics(source: str) -> tuple[str, list[str]]:
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


def _defined_names(tree: ast.Module | None) -> set[str]:
    names = set()
    for node in tree.body if tree is not None else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _names_in(tree: ast.AST) -> set[str]:
    """The ``ast.Name`` identifiers in ``tree``: what ``ast.walk`` would find, in a plain loop
    (ast.walk's generators cost more than the parse on a large cell)."""
    names, todo, name_type, ast_type = set(), [tree], ast.Name, ast.AST
    while todo:
        node = todo.pop()
        if node.__class__ is name_type:
            names.add(node.id)
            continue
        for attribute in node._fields:
            value = getattr(node, attribute, None)
            if value.__class__ is list:
                todo += [v for v in value if isinstance(v, ast_type)]
            elif isinstance(value, ast_type):
                todo.append(value)
    return names


def _defined_elsewhere(cells: list[Cell], functions: list[str]) -> dict[str, int]:
    """The first ungraded cell with a top-level line defining each of ``functions`` (a scan
    of lines, for a message: nothing is parsed)."""
    alternatives = "|".join(re.escape(f) for f in functions)
    pattern = re.compile(rf"^(?:(?:async[ \t]+)?def|class)[ \t]+({alternatives})\b"
                         rf"|^({alternatives})[ \t]*(?::[^\n=]*)?=(?!=)", re.MULTILINE)
    found: dict[str, int] = {}
    for cell in cells:
        if cell.graded or len(cell.source) > MAX_CELL_BYTES:
            continue
        for match in pattern.finditer(cell.source):
            found.setdefault(match.group(1) or match.group(2), cell.number)
            if len(found) == len(functions):
                return found
    return found


# A top-level line's first name, and the name after def/class: what a cell may define.
_TOP_NAME = re.compile(r"^[A-Za-z_]\w*", re.MULTILINE)
_TOP_DEF = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.MULTILINE)
_IMPORT_LINE = re.compile(r"^(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]+([^\n]*)", re.MULTILINE)
_WORD = re.compile(r"\w+")


def may_define(source: str, names: set[str]) -> bool:
    """Whether a cell may define or import one of ``names`` at its top level, from a scan of
    its lines (no parsing): a line starting with one of them (``name = ``, ``def name``,
    ``class name``), or an import line naming one (or ``*``, or continued on the next line)."""
    if not names.isdisjoint(_TOP_NAME.findall(source)) or not names.isdisjoint(_TOP_DEF.findall(source)):
        return True
    for rest in _IMPORT_LINE.findall(source):
        if "(" in rest or "\\" in rest or "*" in rest or not set(_WORD.findall(rest)).isdisjoint(names):
            return True
    return False


@dataclass
class _Definitions:
    """What one ungraded cell defines at its top level, kept after its tree is dropped."""
    helpers: dict[str, tuple[int, str, frozenset]] = field(default_factory=dict)  # name -> (position, source, names used)
    imports: list[ast.stmt] = field(default_factory=list)


class _OtherCells:
    """The ungraded cells, read only for what the graded cells use: each is parsed at most
    once, only when a scan of its lines shows a definition of a name still looked for, and
    within :data:`MAX_HELPER_BYTES` of such cells in all."""

    def __init__(self, cells: list[Cell], name: str):
        self.cells = [c for c in cells if not c.graded]
        self.name = name
        self.read: dict[int, _Definitions] = {}  # cell number -> what it defines
        self.budget = MAX_HELPER_BYTES
        self.unread: list[int] = []  # cells that would have been read but for the limits
        self.searched: set[str] = set()

    def _read_cells_defining(self, names: set[str]) -> None:
        for cell in self.cells:
            if cell.number in self.read or cell.number in self.unread or not may_define(cell.source, names):
                continue
            if len(cell.source) > min(self.budget, MAX_CELL_BYTES):
                self.unread.append(cell.number)
                continue
            self.budget -= len(cell.source)
            self.read[cell.number] = self._definitions(cell)

    def _definitions(self, cell: Cell) -> _Definitions:
        tree, source, _, _ = _parse_cell(cell, self.name)  # a syntax error: Jupyter runs none of it
        found = _Definitions()
        if tree is None:
            return found
        segments = _Segments(source)
        for position, node in enumerate(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.imports.append(node)
            elif isinstance(node, ast.FunctionDef) and not node.decorator_list:
                names = frozenset(_names_in(node))
                found.helpers[node.name] = (position, segments.of(node), names)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if not isinstance(node.value, ast.Constant):
                    try:
                        ast.literal_eval(node.value)
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        continue
                found.helpers[node.targets[0].id] = (position, segments.of(node), frozenset())
        return found

    def helpers_used(self, used: set[str], graded: set[str]) -> tuple[list[tuple[str, int, str]], set[str]]:
        """The definitions, in ungraded cells, of the helpers the graded cells use (and the
        helpers those use): plain ``def``s (no decorators: they would run code) and
        constants with a literal value, the last one in the notebook of each name, as
        Jupyter run top to bottom would leave it. Returns ``[(name, cell number, source)]``
        in notebook order, and ``used`` grown by the names those helpers use (for their
        imports)."""
        used = set(used)
        taken: dict[str, tuple[int, int, str]] = {}
        for _ in range(MAX_HELPER_ROUNDS):
            new = used - graded - self.searched
            if not new:
                break
            self.searched |= new
            self._read_cells_defining(new)
            latest = self._latest()
            pending = sorted(used - graded - set(taken))
            while pending:
                name = pending.pop()
                if name in taken or name not in latest:
                    continue
                number, position, source, names = latest[name]
                taken[name] = (number, position, source)
                pending += sorted(names - used - graded)
                used |= names
        ordered = sorted(taken.items(), key=lambda item: item[1][:2])
        return [(name, number, source) for name, (number, _, source) in ordered], used

    def _latest(self) -> dict[str, tuple[int, int, str, frozenset]]:
        latest = {}
        for number in sorted(self.read):
            for name, (position, source, names) in self.read[number].helpers.items():
                latest[name] = (number, position, source, names)
        return latest

    def imports_used(self, used: set[str]) -> list[str]:
        """The top-level imports of the cells read that bind a name the graded cells use."""
        found: dict[str, str] = {}
        for number in sorted(self.read):
            for node in self.read[number].imports:
                if getattr(node, "module", "") == "__future__":
                    continue
                aliases = [a for a in node.names if (a.asname or a.name.split(".")[0]) in used or (
                    a.name == "*" and (getattr(node, "module", "") or "").split(".")[0] in ("numpy", "math"))]
                if aliases:
                    kept = type(node)(**{**{f: getattr(node, f) for f in node._fields}, "names": aliases})
                    found.setdefault(ast.unparse(kept), f"  # cell {number}")
        return [statement + where for statement, where in found.items()]

    def notes(self) -> list[str]:
        if not self.unread:
            return []
        return [f"cell {_listing(self.unread)} {'was' if len(self.unread) == 1 else 'were'} not read for the "
                f"helpers and imports the graded cells use: the grader reads at most "
                f"{MAX_HELPER_BYTES // 1024} KB of other cells' code (a cell of at most {MAX_CELL_BYTES // 1024} KB); "
                f"move what the graded cells need into a smaller cell"]


class _Segments:
    """The source text of a cell's top-level statements, from the offsets of its lines (ast's
    columns count UTF-8 bytes): linear in the cell, however many statements share a line."""

    LONG = 1024  # a line beyond this holding non-ASCII text: the statement is unparsed instead

    def __init__(self, source: str):
        self.source = source
        self.starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.ascii: dict[int, bool] = {}

    def _line(self, line: int) -> str:
        end = self.starts[line] if line < len(self.starts) else len(self.source)
        return self.source[self.starts[line - 1]:end]

    def _offset(self, line: int, column: int) -> int | None:
        if line not in self.ascii:
            text = self._line(line)
            self.ascii[line] = text.isascii() or (None if len(text) > self.LONG else False)
        kind = self.ascii[line]
        if kind:
            return self.starts[line - 1] + column
        if kind is None:
            return None
        return self.starts[line - 1] + len(self._line(line).encode()[:column].decode("utf-8", "replace"))

    def of(self, node: ast.stmt) -> str:
        begin, end = self._offset(node.lineno, node.col_offset), self._offset(node.end_lineno, node.end_col_offset)
        return ast.unparse(node) if begin is None or end is None else self.source[begin:end]


def _listing(items) -> str:
    items = sorted(items)
    quoted = [f"`{i}`" if isinstance(i, str) else str(i) for i in items]
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)

