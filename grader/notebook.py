"""Reading a student's Jupyter notebook: only the graded cells are kept.

A graded cell is a code cell tagged ``graded`` or holding a
``# GRADED FUNCTION: name`` comment, so either survives editing in Jupyter,
JupyterLab, VS Code or Colab. Cells that only import modules are kept too;
everything else (plots, training loops, shell magics) is never run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from grader.exercises import Exercise
from grader.submission import SubmissionError

GRADED_TAG = "graded"
_MARKER = re.compile(r"^#\s*GRADED FUNCTION:\s*(\w+)", re.MULTILINE)


def _is_import_cell(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)


def notebook_to_source(path: Path, ex: Exercise) -> str:
    """The module source made of ``path``'s graded cells (and import cells)."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise SubmissionError(f"{path.name} is not a readable Jupyter notebook ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    pieces, defined = [], {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        tags = cell.get("metadata", {}).get("tags", [])
        marked = _MARKER.findall(source)
        if GRADED_TAG in tags or marked:
            for name in _top_level_functions(source, path, index):
                if name in defined and name in ex.functions:
                    raise SubmissionError(
                        f"{path.name}: cells {defined[name] + 1} and {index + 1} both define "
                        f"`{name}`; keep one")
                defined[name] = index
            pieces.append(f"# --- cell {index + 1} ---\n{source}\n")
        elif _is_import_cell(source):
            pieces.append(f"# --- cell {index + 1} (imports) ---\n{source}\n")
    missing = [f for f in ex.functions if f not in defined]
    if len(missing) == len(ex.functions) and ex.functions:
        raise SubmissionError(
            f"{path.name} has no graded cell defining {', '.join(ex.functions)}: was a graded cell "
            f"deleted or renamed? (graded cells carry the tag '{GRADED_TAG}' or a "
            f"'# GRADED FUNCTION: name' comment)")
    return "\n".join(pieces)


def _top_level_functions(source: str, path: Path, index: int) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise SubmissionError(f"{path.name}: graded cell {index + 1} has a syntax error on its line "
                              f"{exc.lineno}: {exc.msg}") from None
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
