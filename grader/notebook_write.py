"""Writing an exercise's student notebook (``grader notebook ex05``).

The README as markdown cells, the stub's imports as a code cell, each stub
function in its own *graded cell* (tagged ``graded`` and starting with the line
``# GRADED FUNCTION: name``), and a last cell that calls
``grader.check("ex05_softmax")``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.exercises import Exercise
from grader.notebook_read import GRADED_TAG, MARKER


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

