"""Notebooks: `grader notebook` writes an exercise's notebook, `grader check
--submission x.ipynb` grades one (its graded cells only), and `grader.check()`
grades from inside a running Jupyter kernel.

Every exercise's notebook is generated, filled with the hidden reference
(function by function) and graded as a file to full marks; the untouched ones
grade to 0. Three notebooks are executed in a real kernel (nbclient +
ipykernel), with cells the grader must never run, and their self-check cell
must show the score.
"""

import ast
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, run_cli
from grader.exercises import all_exercises, resolve
from grader.grading import grade
from grader.notebook_read import GRADED_TAG, extract
from grader.notebook_report import Report
from grader.notebook_write import make_notebook, write_notebook
from grader.results import PASSED

EXERCISES = all_exercises(ROOT)
MARKER = re.compile(r"# GRADED FUNCTION: (\w+)\n")


def _graded(nb):
    return [c for c in nb.cells if c.cell_type == "code" and GRADED_TAG in c.metadata.get("tags", [])]


def fill(nb, ex):
    """``nb`` with each graded cell holding the reference's function; the
    reference's helpers and constants go in the first graded cell."""
    reference = (ROOT / "solutions" / ex.name / ex.file).read_text()
    lines, pieces, first = reference.splitlines(), {}, []
    for node in ast.parse(reference).body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[start - 1:node.end_lineno])
        if isinstance(node, ast.FunctionDef):
            pieces[node.name] = text
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            first.append(text)
    graded = _graded(nb)
    names = [MARKER.match(c.source).group(1) for c in graded]
    first += [text for name, text in pieces.items() if name not in names]
    for i, (cell, name) in enumerate(zip(graded, names)):
        cell.source = f"# GRADED FUNCTION: {name}\n\n" + "\n\n\n".join((first if i == 0 else []) + [pieces[name]])
    return nb


def write(nb, path):
    nbformat.write(nb, str(path))
    return path


def summary(result) -> str:
    return "\n".join(f"{t.name}: {t.status} {t.score}/{t.max_score}\n{t.output}" for t in result.tests)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="module")
def ex05():
    return resolve("ex05", ROOT)


@pytest.fixture(scope="module")
def filled05(ex05):
    return fill(make_notebook(ex05), ex05)


# -- writing ----------------------------------------------------------------------


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_notebook_layout(ex):
    nb = make_notebook(ex)
    nbformat.validate(nb)
    stub = {n.name for n in ast.parse(ex.student_file.read_text()).body if isinstance(n, ast.FunctionDef)}
    graded = _graded(nb)
    names = [MARKER.match(c.source).group(1) for c in graded]  # a visible first line, and the tag
    assert set(names) == stub >= set(ex.functions) and len(names) == len(stub)
    for cell, name in zip(graded, names):
        assert f"def {name}(" in cell.source and "raise NotImplementedError" in cell.source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "import numpy as np" in code[0].source and not code[0].metadata.get("tags")
    assert code[-1].source == f'import grader\n\ngrader.check("{ex.name}")'
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    readme = (ex.path / "README.md").read_text()
    assert all(line in markdown for line in readme.splitlines() if line.startswith("#"))


def test_cli_writes_a_notebook_and_keeps_an_existing_one(tmp_path):
    proc = run_cli("notebook", "ex05", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "ex05_softmax.ipynb"
    assert len(_graded(nbformat.read(str(path), as_version=4))) == 3
    path.write_text("my work")
    proc = run_cli("notebook", "ex05", cwd=tmp_path)
    assert proc.returncode == 2 and "--force" in proc.stderr and path.read_text() == "my work"
    assert run_cli("notebook", "5", "--out", str(path), "--force", cwd=tmp_path).returncode == 0
    assert run_cli("notebook", "sigmoid", "--out", str(tmp_path), cwd=tmp_path).returncode == 0
    assert (tmp_path / "ex01_sigmoid.ipynb").is_file() and path.read_text() != "my work"


# -- grading a notebook file --------------------------------------------------------


def test_filled_notebooks_score_full_marks_and_untouched_ones_zero(folder):
    # In a folder of their own, named as `grader notebook` names them: a capstone's notebook
    # imports the modules of the earlier exercises' notebooks beside it (ex11, ex12).
    (folder / "filled").mkdir()
    filled = {ex.name: write(fill(make_notebook(ex), ex), folder / "filled" / f"{ex.name}.ipynb") for ex in EXERCISES}
    for result in grade(EXERCISES, filled):
        assert result.max_score > 0 and result.score == pytest.approx(result.max_score), summary(result)
    untouched = {}
    for ex in EXERCISES:
        write_notebook(ex, folder / f"{ex.name}.ipynb")
        untouched[ex.name] = folder / f"{ex.name}.ipynb"
    for result in grade(EXERCISES, untouched):
        assert result.score == 0 and not result.grader_faults, summary(result)
        assert all("not implemented yet" in t.output for t in result.tests), summary(result)


def _replace(nb, index, old, new):
    cell = _graded(nb)[index]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


def _delete(nb, index):
    nb.cells.remove(_graded(nb)[index])
    return nb


def _duplicate(nb, index):
    cell = copy.deepcopy(_graded(nb)[index])
    cell.id = "a-copied-cell"
    nb.cells.insert(nb.cells.index(_graded(nb)[index]) + 1, cell)
    return nb


def _untag(nb, index):
    cell = _graded(nb)[index]
    cell.metadata.tags = []
    cell.source = MARKER.sub("", cell.source, count=1)
    return nb


# (name, how to spoil the filled ex05 notebook, the failing function, the message)
SPOILED = [
    ("deleted", lambda nb: _delete(nb, 0), "softmax", "no graded cell defines `softmax`: was its cell deleted"),
    ("renamed", lambda nb: _replace(nb, 0, "def softmax(", "def soft_max("), "softmax",
     "is marked `# GRADED FUNCTION: softmax` but defines `soft_max` instead"),
    ("duplicated", lambda nb: _duplicate(nb, 1), "log_softmax", "`log_softmax` is defined in 2 graded cells"),
    ("syntax-error", lambda nb: _replace(nb, 2, "def softmax_cross_entropy(logits, labels):",
                                         "def softmax_cross_entropy(logits, labels)"),
     "softmax_cross_entropy", "has a syntax error on its line 3"),
    ("fails-when-run", lambda nb: _replace(nb, 0, "def softmax(z, axis=-1):", "def softmax(z, axis=np.nope):"),
     "softmax", "failed at its line 6, before defining `softmax` (AttributeError: module 'numpy' has no "
                "attribute 'nope')"),
    ("not-graded", lambda nb: _untag(nb, 0), "softmax", "which is not a graded cell: make `# GRADED FUNCTION"),
]


@pytest.mark.parametrize("how,spoil,function,message", SPOILED, ids=[s[0] for s in SPOILED])
def test_spoiled_notebook_fails_that_function_with_a_clear_cause(how, spoil, function, message, ex05, filled05,
                                                                 tmp_path):
    path = write(spoil(copy.deepcopy(filled05)), tmp_path / "ex05.ipynb")
    (result,) = grade([ex05], {ex05.name: path})
    assert not result.grader_faults, summary(result)
    failed = [t for t in result.tests if t.status != PASSED]
    assert failed and 0 < result.score < result.max_score, summary(result)
    assert all(message in t.output.splitlines()[0] for t in failed), summary(result)
    assert any(t.output.startswith(f"`{function}` cannot be graded: ") for t in failed), summary(result)


CROSS_ENTROPY_WITH_SOFTMAX = """# GRADED FUNCTION: softmax_cross_entropy

def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    rows = np.arange(n)
    labels = np.asarray(labels).astype(np.intp)
    p = softmax(logits, axis=1)
    loss = -np.mean(log_softmax(logits, axis=1)[rows, labels])
    dlogits = p.copy()
    dlogits[rows, labels] -= 1.0
    return float(loss), dlogits / n
"""


def test_a_duplicated_cell_costs_only_its_own_functions_checks(ex05, filled05, tmp_path):
    """softmax in two graded cells: its checks fail with the cause, and softmax_cross_entropy, which calls
    softmax, still scores (it uses the last definition), as the README says."""
    nb = copy.deepcopy(filled05)
    _graded(nb)[2].source = CROSS_ENTROPY_WITH_SOFTMAX
    (whole,) = grade([ex05], {ex05.name: write(nb, tmp_path / "whole.ipynb")})
    assert whole.score == whole.max_score, summary(whole)
    (result,) = grade([ex05], {ex05.name: write(_duplicate(nb, 0), tmp_path / "ex05.ipynb")})
    assert not result.grader_faults, summary(result)
    failed = {t.name for t in result.tests if t.status != PASSED}
    softmax_checks = {"test_softmax_last_axis", "test_softmax_other_axes", "test_softmax_large_logits"}
    assert failed == softmax_checks | {"test_inputs_unchanged"}, summary(result)  # (it requires softmax's)
    for t in result.tests:
        if t.name in softmax_checks:
            assert t.output.startswith("`softmax` cannot be graded: `softmax` is defined in 2 graded cells"), t.output
    lost = sum(t.max_score for t in result.tests if t.name in failed)
    assert result.score == result.max_score - lost == 20 - 7


BROKEN = [
    ("not-json", "import numpy as np\n", "ex05.ipynb is not a readable Jupyter notebook: it is not JSON"),
    ("json-not-a-notebook", json.dumps({"cells": []}),
     "ex05.ipynb is not a readable Jupyter notebook: JSON without an 'nbformat' version number"),
    ("nbformat-5", json.dumps({"nbformat": 5, "nbformat_minor": 0, "cells": [], "metadata": {}}),
     "ex05.ipynb is in nbformat version 5, which this grader cannot read"),
    ("another-exercise", None, "ex05.ipynb has no graded cell defining softmax, log_softmax, softmax_cross_entropy"),
]


@pytest.mark.parametrize("how,text,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_unreadable_notebook_fails_every_check_with_one_line(how, text, message, ex05, tmp_path):
    path = tmp_path / "ex05.ipynb"
    if text is None:
        write_notebook(resolve("ex01", ROOT), path)
    else:
        path.write_text(text)
    (result,) = grade([ex05], {ex05.name: path})
    assert result.score == 0 and not result.grader_faults, summary(result)
    assert len(result.tests) == len(ex05.checks)
    prefix = "this notebook cannot be graded: "
    assert all(t.output.startswith(prefix + message) and "\n" not in t.output for t in result.tests), summary(result)
    if text is None:
        assert result.tests[0].output.endswith("this notebook is for ex01_sigmoid")


def _deep_expression_notebook(ex05, filled05, graded):
    nb = copy.deepcopy(filled05)
    deep = nbformat.v4.new_code_cell("x = " + "-" * 200_000 + "1\n")
    if graded:
        _graded(nb)[0].source += "\n" + deep.source
    else:
        nb.cells.insert(1, deep)
        # A graded cell uses `x`: the scratch cell defining it must be read (an unused one is not).
        _graded(nb)[0].source += "\n\ndef _uses_x():\n    return x\n"
    return json.dumps(nb)


# Adversarial notebooks: the grader's own parsers must not fault (exit 2, "internal error").
DEEP = [
    ("json-nested-100k", lambda ex05, nb: '{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "is not a readable Jupyter notebook: its JSON is nested too deeply"),
    ("expression-200k-graded", lambda ex05, nb: _deep_expression_notebook(ex05, nb, graded=True),
     "cell 9 is nested too deeply for the grader to read"),
    ("expression-200k-scratch", lambda ex05, nb: _deep_expression_notebook(ex05, nb, graded=False),
     "cell 2 is nested too deeply for the grader to read"),
]


@pytest.mark.parametrize("how,make,message", DEEP, ids=[d[0] for d in DEEP])
def test_deeply_nested_notebook_cannot_be_graded_without_a_grader_fault(how, make, message, ex05, filled05,
                                                                         tmp_path):
    path = tmp_path / "ex05.ipynb"
    path.write_text(make(ex05, filled05))
    proc = run_cli("check", "ex05", "--submission", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["score"] == 0 and len(report["tests"]) == len(ex05.checks)
    for t in report["tests"]:
        assert t["status"] == "failed" and t["output"].startswith("this notebook cannot be graded: ex05.ipynb"), t
        assert message in t["output"] and "internal error" not in t["output"], t


def test_a_deep_scratch_cell_the_graded_cells_do_not_use_is_never_parsed(ex05, filled05, tmp_path):
    nb = copy.deepcopy(filled05)
    nb.cells.insert(1, nbformat.v4.new_code_cell("x = " + "-" * 200_000 + "1\n"))
    (result,) = grade([ex05], {ex05.name: write(nb, tmp_path / "ex05.ipynb")})
    assert result.score == result.max_score and not result.grader_faults, summary(result)


def _counting_parses(monkeypatch):
    """Every source ast.parse is given while a notebook is read (the parse work, counted)."""
    import ast as ast_module

    parsed, real = [], ast_module.parse
    monkeypatch.setattr(ast_module, "parse", lambda source, *a, **k: parsed.append(source) or real(source, *a, **k))
    return parsed


def _flat_code(prefix: str, lines: int) -> str:
    return "".join(f"{prefix}{i} = {i}\n" for i in range(lines))


def test_reading_a_notebook_parses_each_graded_cell_once_and_unused_cells_never(ex05, filled05, tmp_path,
                                                                                monkeypatch):
    nb = copy.deepcopy(filled05)
    graded = _graded(nb)
    graded[0].source = graded[0].source.replace("def softmax(z, axis=-1):\n",
                                                "def softmax(z, axis=-1):\n    z = _shift(z, axis)\n", 1)
    helper = "import os\nSHIFT = True\n\ndef _shift(z, axis):\n    return z - np.max(z, axis=axis, keepdims=SHIFT)\n"
    scratch = [_flat_code(f"scratch{k}_", 3000) for k in range(5)]  # flat valid code, defining nothing used
    nb.cells[1:1] = ([nbformat.v4.new_code_cell(helper)] + [nbformat.v4.new_code_cell(c) for c in scratch]
                     + [nbformat.v4.new_code_cell(f"t{i} = {i}") for i in range(300)])
    path = write(nb, tmp_path / "ex05.ipynb")
    parsed = _counting_parses(monkeypatch)
    extracted = extract(path, ex05)
    monkeypatch.undo()
    imports = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("import numpy")]
    sources = [c.source for c in _graded(nb)] + imports + [helper]
    assert "def _shift(z, axis)" in extracted.source and "SHIFT = True" in extracted.source
    # Each graded cell once, the cells of the imports and the helper once, nothing else: no
    # scratch cell, no tiny cell.
    assert len(imports) == 1 and sorted(parsed) == sorted(sources), [p[:40] for p in parsed]
    # The same bound whatever the scratch cells hold: ten times more flat code, the same parses.
    nb.cells[2:7] = [nbformat.v4.new_code_cell(c * 10) for c in scratch]
    (tmp_path / "big").mkdir()
    parsed = _counting_parses(monkeypatch)
    assert extract(write(nb, tmp_path / "big" / "ex05.ipynb"), ex05).source == extracted.source
    assert sorted(parsed) == sorted(sources)


def test_cells_the_graded_cells_use_are_read_within_a_budget(ex05, filled05, tmp_path, monkeypatch):
    from grader import notebook_read

    monkeypatch.setattr(notebook_read, "MAX_HELPER_BYTES", 100_000)
    nb = copy.deepcopy(filled05)
    _graded(nb)[0].source += "\n\ndef _uses():\n    return x1 + x2\n"
    # Eight cells of flat code that each define a name the graded cells use: only what fits is parsed.
    flat = ["x1 = 1\nx2 = 2\n" + _flat_code(f"big{k}_", 2500) for k in range(8)]
    nb.cells[1:1] = [nbformat.v4.new_code_cell(c) for c in flat]
    path = write(nb, tmp_path / "ex05.ipynb")
    parsed = _counting_parses(monkeypatch)
    extracted = extract(path, ex05)
    monkeypatch.undo()
    others = [p for p in parsed if p.startswith("x1 = 1")]
    assert 0 < len(others) < len(flat) and sum(map(len, others)) <= 100_000
    assert len(parsed) == len(set(parsed)) == len(others) + len(_graded(nb)) + 1, "each cell at most once"
    assert any("were not read for the helpers and imports" in n for n in extracted.notes), extracted.notes
    assert "x1 = 1" in extracted.source  # the last definition among the cells read


def test_notebooks_that_would_cost_more_than_any_real_one_are_refused_before_parsing(ex05, tmp_path):
    from grader.notebook_read import MAX_CELLS, MAX_JSON_VALUES, NotebookError, read_cells

    many = tmp_path / "many.ipynb"
    cell = {"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None}
    many.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell] * (MAX_CELLS + 1)}))
    with pytest.raises(NotebookError, match=f"has {MAX_CELLS + 1} cells; the grader reads notebooks of at most"):
        read_cells(many)
    values = tmp_path / "values.ipynb"
    values.write_text('{"nbformat": 4, "metadata": {}, "cells": [], "outputs": [' + "0," * MAX_JSON_VALUES + "0]}")
    with pytest.raises(NotebookError, match="JSON values .*clear its outputs"):
        read_cells(values)


def test_cli_reports_a_broken_notebook_with_exit_status_zero(ex05, filled05, tmp_path):
    path = write(_delete(copy.deepcopy(filled05), 0), tmp_path / "ex05.ipynb")
    proc = run_cli("check", "ex05", "--submission", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert 0 < report["score"] < report["max_score"]
    assert "no graded cell defines `softmax`" in "\n".join(t["output"] for t in report["tests"])


def test_only_graded_cells_run_and_magics_are_commented_out(ex05, filled05, tmp_path):
    nb = copy.deepcopy(filled05)
    graded = _graded(nb)
    # Magics in graded cells: at the top, in a function, as a cell magic, assigned, as help.
    graded[0].source = "%%time\n" + graded[0].source.replace(
        "def softmax(z, axis=-1):\n", "def softmax(z, axis=-1):\n    %timeit -n1 -r1 1\n") + "\n!pip install torch\n"
    graded[1].source += "\nfiles = !ls\nlog_softmax?\n"
    # Cells the grader must never run: shell commands, plots, training loops, torch, exits.
    nb.cells.insert(1, nbformat.v4.new_code_cell("import numpy as np, matplotlib.pyplot as plt\n%matplotlib inline"))
    nb.cells.append(nbformat.v4.new_code_cell("!pip install torch\nimport torch\nraise SystemExit('run')"))
    nb.cells.append(nbformat.v4.new_code_cell("for epoch in range(10**12):\n    plt.plot([epoch])"))
    path = write(nb, tmp_path / "ex05.ipynb")
    extracted = extract(path, ex05)
    assert "plt" not in extracted.source and "torch" not in extracted.source.replace("!pip install torch", "")
    assert "import numpy as np  # cell 2" in extracted.source
    assert [re.search(r"`(.*)`", n).group(1) for n in extracted.notes] == [
        "%%time", "%timeit -n1 -r1 1", "!pip install torch", "files = !ls", "log_softmax?"]
    assert all("commented out: the grader does not run it" in n for n in extracted.notes)
    (result,) = grade([ex05], {ex05.name: path})
    assert result.score == result.max_score, summary(result)


def test_helpers_from_ungraded_cells_are_taken_along_as_in_the_kernel(ex05, tmp_path):
    # A graded softmax that calls a helper, which uses a constant, both defined in a plain
    # cell beside code that must not run: the file grade must equal what grader.check gives
    # in the kernel (where the helper is simply defined).
    nb = fill(make_notebook(ex05), ex05)
    graded = _graded(nb)
    graded[0].source = graded[0].source.replace("def softmax(z, axis=-1):\n",
                                                "def softmax(z, axis=-1):\n    z = _shift(z, axis)\n", 1)
    nb.cells.insert(nb.cells.index(graded[0]), nbformat.v4.new_code_cell(
        "import os\nSHIFT_KEEPDIMS = True\nraise SystemExit('never run')\n\n"
        "def _shift(z, axis):\n    return z - np.max(z, axis=axis, keepdims=SHIFT_KEEPDIMS)\n\n"
        "@print\ndef decorated():\n    pass\n\nos.remove('x')\n"))
    path = write(nb, tmp_path / "ex05.ipynb")
    extracted = extract(path, ex05)
    assert "def _shift(z, axis)" in extracted.source and "SHIFT_KEEPDIMS = True" in extracted.source
    assert "never run" not in extracted.source and "os.remove" not in extracted.source
    assert "decorated" not in extracted.source
    assert sorted(re.search(r"`(.*?)`", n).group(1) for n in extracted.notes) == ["SHIFT_KEEPDIMS", "_shift"]
    (result,) = grade([ex05], {ex05.name: path})
    assert result.score == result.max_score, summary(result)


def test_an_older_nbformat_is_read(ex05, filled05, tmp_path):
    path = write(nbformat.convert(copy.deepcopy(filled05), 3), tmp_path / "ex05.ipynb")
    (result,) = grade([ex05], {ex05.name: path})
    assert result.score == result.max_score, summary(result)


# -- grader.check() ---------------------------------------------------------------


def test_import_grader_stays_light():
    code = ("import sys, grader; grader.check; "
            "print(sorted(m for m in ('torch', 'pytest', 'nbformat') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_takes_functions_helpers_constants_and_imports_and_escapes_html(tmp_path):
    import grader

    module = tmp_path / "student_notebook.py"
    module.write_text(textwrap.dedent('''
        import numpy as np
        from numpy import exp as e

        SCALE = 1.0
        big_data = np.zeros(10 ** 6)


        def _helper(t):
            return SCALE / (1.0 + t)


        def sigmoid(z):
            t = e(-np.abs(z))
            return np.where(z >= 0, _helper(t), t * _helper(t))


        def sigmoid_derivative(z):
            print("<b>printed</b>")
            raise ValueError("<script>alert(1)</script>")
        '''))
    spec = importlib.util.spec_from_file_location("student_notebook", module)
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    report = grader.check("ex01", namespace=vars(student))
    assert isinstance(report, Report) and 0 < report.score < report.max_score, repr(report)
    failed = [t for t in report.result.tests if t.status != PASSED]
    assert failed and all("sigmoid_derivative" in t.output for t in failed), repr(report)
    page = report._repr_html_()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page and "<b>printed" not in page
    assert "Score: " in page and "Score: " in repr(report)


def test_check_names_a_function_the_notebook_has_not_defined(tmp_path):
    import grader

    namespace = {"__name__": "__main__", "sigmoid": 3}
    report = grader.check("ex01_sigmoid", namespace=namespace)
    outputs = "\n".join(t.output for t in report.result.tests)
    assert report.score == 0 and not report.result.grader_faults, outputs
    assert "`sigmoid` is a int, not a function" in outputs
    assert "`sigmoid_derivative` is not defined in this notebook yet: run its graded cell first" in outputs


# -- in a real Jupyter kernel -------------------------------------------------------

# ex05 and ex07 filled (ex07's reference has helper functions the check must
# carry along), ex01 untouched.
KERNEL = [("ex05_softmax", True), ("ex07_pool", True), ("ex01_sigmoid", False)]


@pytest.mark.parametrize("name,filled", KERNEL, ids=[k[0] for k in KERNEL])
def test_notebook_runs_in_a_kernel_and_checks_itself(name, filled, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    ex = resolve(name, ROOT)
    nb = make_notebook(ex)
    if filled:
        fill(nb, ex)  # and a magic inside the first function, which the check must not run
        cell = _graded(nb)[0]
        cell.source = re.sub(r"^(def \w+\(.*\):\n)", r"\1    %timeit -n1 -r1 1\n", cell.source, count=1, flags=re.M)
    # Cells the student runs and the grader must not: shell commands, magics,
    # a training loop, and one that fails.
    position = nb.cells.index(_graded(nb)[-1]) + 1
    nb.cells[position:position] = [
        nbformat.v4.new_code_cell("!echo shell\n%timeit -n1 -r1 sum(range(10))\nfor epoch in range(3):\n"
                                  "    print('epoch', epoch)"),
        nbformat.v4.new_code_cell("raise RuntimeError('a cell the grader never runs')",
                                  metadata={"tags": ["raises-exception"]}),
    ]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    (result,) = nb.cells[-1].outputs
    text, page = result["data"]["text/plain"], result["data"]["text/html"]
    best = f"{ex.max_score:g}"
    expected = f"Score: {best} / {best} (100%)" if filled else f"Score: 0 / {best} (0%)"
    assert expected in text and expected in page, text
    assert ("`%timeit -n1 -r1 1` (an IPython magic or shell command) is commented out" in text) == filled
    assert "ERROR" not in text
    # The executed notebook (outputs and all) grades the same as a file.
    (graded,) = grade([ex], {ex.name: write(nb, tmp_path / f"{ex.name}.ipynb")})
    assert graded.score == (graded.max_score if filled else 0) and not graded.grader_faults, summary(graded)


# -- one kernel, what the student does: the check is the grade -----------------------


class Kernel:
    """A real IPython kernel (ipykernel, through jupyter_client as nbclient drives it)."""

    def __init__(self, cwd):
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def run(self, code: str) -> dict:
        """Run one cell; return its result's data (text/plain, text/html), or raise with its error."""
        outputs = []
        reply = self.client.execute_interactive(code, timeout=300, output_hook=outputs.append)
        if reply["content"]["status"] != "ok":
            raise AssertionError(f"cell failed: {reply['content'].get('evalue')}\n{code}")
        return next((o["content"]["data"] for o in outputs if o["msg_type"] == "execute_result"), {})

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    folder = tmp_path_factory.mktemp("kernel")
    k = Kernel(folder)
    k.folder = folder
    yield k
    k.close()


def _wrong_softmax(source):
    """The graded softmax, wrong: no max subtraction (fails the checks with logits up to 1e4)."""
    assert "z - np.max(z, axis=axis, keepdims=True)" in source
    return source.replace("z - np.max(z, axis=axis, keepdims=True)", "z")


def test_the_check_in_a_kernel_grades_the_graded_cells_as_the_file_is_graded(kernel, ex05, filled05):
    nb = copy.deepcopy(filled05)
    cells = [c for c in nb.cells if c.cell_type == "code"][:-1]  # imports and the graded cells
    graded = _graded(nb)
    softmax_cell, right = graded[0], graded[0].source
    write(nb, kernel.folder / "ex05_softmax.ipynb")  # saved as it is now
    kernel.run("import grader")
    nothing_run = kernel.run('grader.check("ex05")')["text/plain"]
    assert "Score: 0 / 20" in nothing_run and "no graded cell has been run in this kernel yet" in nothing_run
    for cell in cells:
        kernel.run(cell.source)
    kernel.run("import grader")
    first = kernel.run('grader.check("ex05")')
    assert f"Score: {ex05.max_score:g} / {ex05.max_score:g}" in first["text/plain"], first["text/plain"]
    assert "redefined" not in first["text/plain"] and "on disk" not in first["text/plain"]

    # A right graded cell, broken in a scratch cell: the grade is still full marks, and says why.
    scratch = kernel.run("def softmax(z, axis=-1):\n    return z\n\nsoftmax(np.zeros(2))")
    assert "array" in scratch["text/plain"]
    broken_later = kernel.run('grader.check("ex05")')["text/plain"]
    assert f"Score: {ex05.max_score:g} / {ex05.max_score:g}" in broken_later, broken_later
    assert re.search(r"`softmax` was redefined in cell 9; the grade uses cell 4's version", broken_later), \
        broken_later

    # A wrong graded cell (edited and run again), fixed in a scratch cell: the file's grade, and says why.
    softmax_cell.source = _wrong_softmax(right)
    kernel.run(softmax_cell.source)
    kernel.run(right.replace("# GRADED FUNCTION: softmax\n", "# my fix, in a scratch cell\n"))
    data = kernel.run('grader.check("ex05")')
    text, page = data["text/plain"], data["text/html"]
    (from_file,) = grade([ex05], {ex05.name: write(nb, kernel.folder / "submitted.ipynb")})
    assert 0 < from_file.score < from_file.max_score, summary(from_file)
    score = f"Score: {from_file.score:g} / {from_file.max_score:g}"
    assert score in text and score in page, text
    assert "`softmax` was redefined in cell 12; the grade uses cell 11's version" in text
    assert "the notebook on disk (ex05_softmax.ipynb) is older than your last edit: save it before you " \
           "submit" in text
    assert "grader check ex05_softmax --seed 1234 --submission ex05_softmax.ipynb" in text
    write(nb, kernel.folder / "ex05_softmax.ipynb")  # saved: the note goes
    assert "on disk" not in kernel.run('grader.check("ex05")')["text/plain"]


def test_report_html_is_a_table_with_feedback_folded_under_failing_rows():
    from html.parser import HTMLParser

    from grader.results import ERROR, FAILED, CheckResult, ExerciseResult

    hostile = "<script>alert(1)</script> & <b>bold</b>"
    result = ExerciseResult("ex01_sigmoid", "The <sigmoid>", 3, 6, 1234, ["cpu"], tests=[
        CheckResult("test_a", 3, 3, PASSED, description="values <match>"),
        CheckResult("test_b", 0, 2, FAILED, output=f"sigmoid(z): expected 0.5, got 7\nprinted: {hostile}"),
        CheckResult("test_c", 0, 1, ERROR, output="internal error in the grader"),
    ])
    report = Report(result, notes=[f"`softmax` was redefined in cell 9; {hostile}"])

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.rows, self.cells, self.text = [], [], None, []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))
            if tag == "tr":
                self.rows.append({"attrs": dict(attrs), "cells": [], "details": False})
            elif tag == "td" and self.rows:
                self.rows[-1]["cells"].append([dict(attrs).get("style", ""), ""])
            elif tag == "details":
                self.rows[-1]["details"] = True

        def handle_data(self, data):
            self.text.append(data)
            if self.rows and self.rows[-1]["cells"]:
                self.rows[-1]["cells"][-1][1] += data

    page = Page()
    page.feed(report._repr_html_())
    # The page's own bold title is the only <b> before the score: the student's <b> is text.
    assert "script" not in [tag for tag, _ in page.tags] and [tag for tag, _ in page.tags].count("b") == 2
    text = "".join(page.text)
    assert hostile in text and "The <sigmoid>" in text  # shown as text, not markup
    checks = [r for r in page.rows if r["attrs"].get("class", "").startswith("grader-") and
              r["attrs"]["class"] != "grader-feedback"]
    assert [r["cells"][0][1].split("values")[0] for r in checks] == ["test_a", "test_b", "test_c"]
    assert [r["cells"][1][1] for r in checks] == ["3 / 3", "0 / 2", "0 / 1"]
    assert [r["cells"][2][1] for r in checks] == ["PASS", "FAIL", "ERROR"]
    colours = [r["cells"][2][0] for r in checks]
    assert len(set(colours)) == 3 and "#1a7f37" in colours[0] and "#cf222e" in colours[1]
    feedback = [r for r in page.rows if r["attrs"].get("class") == "grader-feedback"]
    assert len(feedback) == 2 and all(r["details"] for r in feedback)
    assert "expected 0.5, got 7" in feedback[0]["cells"][0][1] and hostile in feedback[0]["cells"][0][1]
    assert "Score: 3 / 6 (50%)" in text and "reproduce: grader.check('ex01_sigmoid', seed=1234)" in text
    assert "redefined in cell 9" in text and "Score: 3 / 6" in repr(report)
    # A note's `code` is shown as code, never as raw backticks; what it holds stays escaped.
    html = report._repr_html_()
    assert "<li><code>softmax</code> was redefined in cell 9;" in html and "`softmax`" not in html
    assert "<code>a&lt;b&gt;</code>" in Report(result, notes=["`a<b>`"])._repr_html_()


# -- module shape -----------------------------------------------------------------------


def _grader_imports() -> dict[str, set[str]]:
    """``{module: the grader modules it imports}``, imports inside functions included.
    ``from grader import __version__`` is left out: a constant the package defines
    before it imports anything."""
    package = ROOT / "grader"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("grader"):
                for alias in node.names:
                    if alias.name != "__version__":
                        found.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules
                                  else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == "grader"}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_grader_module_imports_one_that_imports_it_back():
    graph = _grader_imports()
    assert {"grader.notebook_read", "grader.notebook_write", "grader.notebook_check"} <= set(graph)
    assert "grader.notebook" not in graph  # split by job
    cycles = []
    for start in graph:
        stack = [(start, (start,))]
        while stack:
            module, path = stack.pop()
            for imported in graph[module]:
                if imported == start:
                    cycles.append(" -> ".join(path + (start,)))
                elif imported not in path:
                    stack.append((imported, path + (imported,)))
    assert not cycles, "\n".join(cycles)
    # Reading a notebook needs nothing of grading: the sandbox side of a submission stays small.
    assert graph["grader.notebook_read"] == {"grader.exercises"}


def test_the_kernel_notebook_keeps_the_last_run_of_each_graded_cell():
    from grader.notebook_check import kernel_cells

    history = ["", "import numpy as np", "# GRADED FUNCTION: f\ndef f(x):\n    return 1",
               "def g(x):\n    return 2", "f(1)", "# GRADED FUNCTION: f\ndef f(x):\n    return 3",
               "def g(x):\n    return 4", "   "]
    # g's cell is graded by its tag alone in the saved notebook: the kernel cannot see tags.
    cells = kernel_cells(history, tagged={"def g(x):\n    return 4"})
    assert [(c.number, c.graded) for c in cells] == [(1, False), (3, False), (4, False), (5, True), (6, True)]
    assert [(c.number, c.graded) for c in kernel_cells(history)] == [
        (1, False), (3, False), (4, False), (5, True), (6, False)]


class _FakeShell:
    """Enough of IPython's shell for grader.check(): the kernel's namespace and its input history."""

    def __init__(self, namespace, history):
        self.user_ns = namespace
        self.history_manager = type("H", (), {"input_hist_raw": history})()


def _check_in_fake_kernel(monkeypatch, namespace, history):
    import grader.notebook_check as nc

    monkeypatch.setattr(nc, "_ipython_for", lambda ns: _FakeShell(ns, history) if ns is namespace else None)
    return nc.check_namespace("ex05", namespace, root=ROOT)


def test_a_restarted_kernel_with_nothing_run_says_so_once(ex05, filled05, tmp_path, monkeypatch):
    saved = write(filled05, tmp_path / "ex05_softmax.ipynb")
    namespace = {"__session__": str(saved)}
    report = _check_in_fake_kernel(monkeypatch, namespace, ["", "import numpy as np"])
    text, html = repr(report), report._repr_html_()
    assert report.score == 0 and report.max_score == ex05.max_score and not report.result.tests
    for shown in (text, html):
        assert shown.count("no graded cell has been run in this kernel yet") == 1, shown
        assert "older than your last edit" not in shown  # nothing was edited


def test_the_saved_notebook_note_says_only_what_is_true(ex05, filled05, tmp_path):
    from grader.notebook_check import kernel_cells, unsaved_edits

    saved = write(filled05, tmp_path / "ex05_softmax.ipynb")
    graded = [c.source for c in _graded(filled05)]
    # After a restart, only the first graded cell was run again: the file is not older than anything.
    notes = unsaved_edits(kernel_cells(["", "import numpy as np", graded[0]]), saved, ex05)
    assert len(notes) == 1 and "older" not in notes[0], notes
    assert "not run in this kernel" in notes[0] and "`log_softmax`, `softmax_cross_entropy`" in notes[0]
    # Everything run as saved: nothing to say.
    assert unsaved_edits(kernel_cells(["", *graded]), saved, ex05) == []
    # A graded cell edited and run, not saved: the file is older than the edit.
    edited = kernel_cells(["", graded[0] + "\n# tweaked", *graded[1:]])
    (note,) = unsaved_edits(edited, saved, ex05)
    assert "is older than your last edit" in note


# -- which file is graded: the .py file or the notebook ------------------------------------------------


@pytest.fixture(scope="module")
def release_like(tmp_path_factory, ex05, filled05):
    """A student's ex05 folder as released: softmax.py (the stub) beside ex05_softmax.ipynb."""
    def make(py: str, notebook) -> Path:
        root = tmp_path_factory.mktemp("course")
        shutil.copytree(ROOT / "exercises" / "ex05_softmax", root / "exercises" / "ex05_softmax",
                        ignore=shutil.ignore_patterns("mutants", "__pycache__"))
        folder = root / "exercises" / "ex05_softmax"
        (folder / "softmax.py").write_text(py)
        write(notebook, folder / "ex05_softmax.ipynb")
        return root
    return make


STUB05 = (ROOT / "exercises" / "ex05_softmax" / "softmax.py").read_text()
REFERENCE05 = (ROOT / "solutions" / "ex05_softmax" / "softmax.py").read_text()


def test_the_rule_picks_the_file_that_holds_work(ex05, filled05, tmp_path):
    from grader.submission import graded_file, holds_work

    stub, filled = tmp_path / "softmax.py", tmp_path / "ex05_softmax.ipynb"
    stub.write_text(STUB05)
    untouched = tmp_path / "untouched.ipynb"
    write_notebook(ex05, untouched)
    write(filled05, filled)
    assert not holds_work(stub, ex05) and not holds_work(untouched, ex05) and holds_work(filled, ex05)
    assert graded_file(stub, [untouched], ex05) == (stub, None)  # nothing done: the .py, nothing to say
    path, note = graded_file(stub, [filled], ex05)
    assert path == filled and "softmax.py beside it is the stub as released" in note
    work = tmp_path / "work.py"
    work.write_text(REFERENCE05)
    path, note = graded_file(work, [filled], ex05)
    assert path == work and "both hold work" in note and "ex05_softmax.ipynb" in note
    assert graded_file(work, [untouched], ex05) == (work, None)
    assert graded_file(None, [untouched], ex05) == (untouched, None)
    # A .py that does not parse was changed: it holds work (its grade says what is wrong).
    broken = tmp_path / "broken.py"
    broken.write_text("def softmax(z:\n")
    assert holds_work(broken, ex05) and graded_file(broken, [filled], ex05)[0] == broken
    # Times decide nothing: the older file with work is graded all the same.
    os.utime(filled, (1, 1))
    assert graded_file(stub, [filled], ex05)[0] == filled


def test_every_command_grades_the_filled_notebook_beside_the_stub(ex05, filled05, release_like, tmp_path):
    """The release's layout, the student filled only the notebook: check, batch, the autograder and ci all
    grade the notebook (20 / 20), and say why."""
    root = release_like(STUB05, filled05)
    # grader check ex05
    proc = run_cli("--root", str(root), "check", "ex05", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["score"] == data["max_score"] == 20, proc.stdout[-2000:]
    assert data["submission"].endswith("ex05_softmax.ipynb")
    assert "ex05_softmax.ipynb is graded: softmax.py beside it is the stub as released" in proc.stderr
    # grader batch: a folder per student holding a copy of the repository
    subs = tmp_path / "subs"
    shutil.copytree(root, subs / "ann")
    out = tmp_path / "grades"
    proc = run_cli("--root", str(root), "batch", str(subs), "-e", "ex05", "--out", str(out), "--no-progress",
                   "--jobs", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "reports" / "ann.json").read_text())
    entry = report["exercises"]["ex05_softmax"]
    assert entry["file"] == "ex05_softmax.ipynb" and entry["result"]["score"] == 20
    assert "stub as released" in entry["file_note"]
    # the Gradescope autograder's lookup
    from grader.autograder import locate_with_note

    found, note = locate_with_note(subs / "ann", ex05)
    assert found.name == "ex05_softmax.ipynb" and "stub as released" in note
    # grader ci: the base is the release, the head the student's work
    from grader.ci import HeadDir, assemble

    base = release_like(STUB05, make_notebook(ex05))
    _, files = assemble(base, HeadDir(root), tmp_path / "work")
    assert files["ex05_softmax"].graded == "exercises/ex05_softmax/ex05_softmax.ipynb"
    # Both hold work: the .py, with a note naming the notebook, everywhere.
    both = release_like(REFERENCE05, filled05)
    proc = run_cli("--root", str(both), "check", "ex05", "--format", "json", cwd=both)
    assert json.loads(proc.stdout)["submission"].endswith("softmax.py")
    assert "softmax.py is graded, not ex05_softmax.ipynb: both hold work" in proc.stderr
    _, files = assemble(base, HeadDir(both), tmp_path / "work2")
    assert files["ex05_softmax"].graded == "exercises/ex05_softmax/softmax.py"
    assert any("both hold work" in p for p in files["ex05_softmax"].problems)


def test_the_kernel_check_says_when_the_py_file_is_what_gets_graded(ex05, filled05, release_like):
    from grader.notebook_check import graded_on_submission

    both = release_like(REFERENCE05, filled05) / "exercises" / "ex05_softmax"
    (note,) = graded_on_submission(both / "ex05_softmax.ipynb", ex05)
    assert "grade softmax.py, not this notebook" in note
    only = release_like(STUB05, filled05) / "exercises" / "ex05_softmax"
    assert graded_on_submission(only / "ex05_softmax.ipynb", ex05) == []
    unsaved = release_like(REFERENCE05, make_notebook(ex05)) / "exercises" / "ex05_softmax"
    (note,) = graded_on_submission(unsaved / "ex05_softmax.ipynb", ex05)
    assert "holds none yet" in note


def test_every_exercise_stub_and_notebook_hold_no_work():
    """The rule tells the released stub from work by its bodies: every stub keeps to that shape."""
    from grader.submission import holds_work

    for ex in EXERCISES:
        assert not holds_work(ex.student_file, ex), ex.name
        assert holds_work(ROOT / "solutions" / ex.name / ex.file, ex), ex.name
