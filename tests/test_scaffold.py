"""`grader new`: a scaffold laid out like the other exercises, wired to the fixtures, that validates
as it stands (with one mutant), and that never overwrites anything."""

import ast
import re
from pathlib import Path

import pytest

from conftest import run_cli

from grader.exercises import load_exercise


@pytest.fixture
def course(tmp_path):
    (tmp_path / "exercises").mkdir()
    return tmp_path


def new(course: Path, *args):
    return run_cli("--root", str(course), "new", *args)


def test_scaffold_layout(course):
    proc = new(course, "ex11_dropout", "--title", "Inverted dropout")
    assert proc.returncode == 0, proc.stderr
    folder = course / "exercises" / "ex11_dropout"
    ex = load_exercise(folder)
    assert (ex.name, ex.title, ex.file, ex.functions) == ("ex11_dropout", "Inverted dropout", "dropout.py", ["dropout"])
    assert set(ex.checks) == {"test_dropout"} and ex.max_score == 1
    stub = (folder / "dropout.py").read_text()
    assert "# TODO" in stub and 'raise NotImplementedError("dropout")' in stub and "import numpy as np" in stub
    grader = (folder / "test_dropout.py").read_text()
    assert set(re.findall(r"^def (test_\w+)", grader, re.MULTILINE)) == set(ex.checks)
    assert "def test_dropout(student, oracle, check, rng):" in grader
    mutants = list((folder / "mutants").glob("*.py"))
    assert len(mutants) == 1 and re.search(r"^# expect-hint: .+$", mutants[0].read_text(), re.MULTILINE)
    assert "## How it is graded" in (folder / "README.md").read_text()
    reference = course / "solutions" / "ex11_dropout" / "dropout.py"
    assert "dropout" in {n.name for n in ast.parse(reference.read_text()).body if isinstance(n, ast.FunctionDef)}
    for path in [*folder.rglob("*.py"), reference]:
        ast.parse(path.read_text())  # valid Python
    assert "grader validate ex11_dropout" in proc.stdout


def test_file_and_functions_options(course):
    proc = new(course, "ex12_norms", "--title", "Norms: L1 and L2", "--file", "norms.py",
               "--functions", "l1_norm, l2_norm")
    assert proc.returncode == 0, proc.stderr
    ex = load_exercise(course / "exercises" / "ex12_norms")
    assert ex.title == "Norms: L1 and L2" and ex.file == "norms.py" and ex.functions == ["l1_norm", "l2_norm"]
    assert set(ex.checks) == {"test_l1_norm", "test_l2_norm"}
    stub = (course / "exercises" / "ex12_norms" / "norms.py").read_text()
    assert "def l1_norm(" in stub and "def l2_norm(" in stub
    assert (course / "solutions" / "ex12_norms" / "norms.py").is_file()


def test_refuses_to_overwrite(course):
    assert new(course, "ex11_dropout", "--title", "Inverted dropout").returncode == 0
    stub = course / "exercises" / "ex11_dropout" / "dropout.py"
    stub.write_text("# my work\n")
    proc = new(course, "ex11_dropout", "--title", "Again")
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert stub.read_text() == "# my work\n"
    proc = new(course, "ex11_other", "--title", "Same number")
    assert proc.returncode == 2 and "taken by ex11_dropout" in proc.stderr
    assert not (course / "exercises" / "ex11_other").exists()
    (course / "solutions" / "ex13_x").mkdir(parents=True)
    (course / "solutions" / "ex13_x" / "x.py").write_text("# a reference\n")
    assert new(course, "ex13_x", "--title", "X").returncode == 2
    assert not (course / "exercises" / "ex13_x").exists()


@pytest.mark.parametrize("args", [
    ["ex11", "--title", "No name"],
    ["Ex11_Dropout", "--title", "Capitals"],
    ["ex11_dropout", "--title", "T", "--file", "drop-out.py"],
    ["ex11_dropout", "--title", "T", "--functions", "class"],
    ["ex11_dropout", "--title", "  "],
])
def test_bad_arguments_are_usage_errors(course, args):
    proc = new(course, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert not list((course / "exercises").iterdir())


def test_fresh_scaffold_validates(course):
    from grader.validate import PLACEHOLDER, validate_exercise

    assert new(course, "ex11_dropout", "--title", "Inverted dropout", "--functions", "dropout,dropout_backward").returncode == 0
    ex = load_exercise(course / "exercises" / "ex11_dropout")
    v = validate_exercise(ex, course, seeds=[1], min_mutants=1)
    assert v.ok, "\n".join(p for s in v.steps for p in s.problems)
    assert v.strength == 1.0
    assert any(PLACEHOLDER in w for w in v.warnings), "the placeholders left to fill in are reported"


def test_new_adds_the_exercise_row_to_the_readme_table(course):
    readme = course / "README.md"
    readme.write_text("# Course\n\n| | exercise | file | what you write |\n|---|---|---|---|\n"
                      "| 1 | `ex01_sigmoid` | `sigmoid.py` | the sigmoid |\n"
                      "| 12 | `ex12_later` | `later.py` | later |\n\nText after the table.\n")
    proc = new(course, "ex11_dropout", "--title", "Inverted dropout | with a bar")
    assert proc.returncode == 0, proc.stderr
    assert "its row in README.md" in proc.stdout
    lines = readme.read_text().splitlines()
    assert lines[4:7] == ["| 1 | `ex01_sigmoid` | `sigmoid.py` | the sigmoid |",
                          "| 11 | `ex11_dropout` | `dropout.py` | Inverted dropout \\| with a bar |",
                          "| 12 | `ex12_later` | `later.py` | later |"]
    assert lines[-1] == "Text after the table."
    assert new(course, "ex13_last", "--title", "Last").returncode == 0
    assert readme.read_text().splitlines()[7] == "| 13 | `ex13_last` | `last.py` | Last |"


def test_new_leaves_a_readme_without_the_table_alone(course):
    readme = course / "README.md"
    readme.write_text("# Course\n\nNo table here.\n")
    proc = new(course, "ex11_dropout", "--title", "Inverted dropout")
    assert proc.returncode == 0 and "its row in" not in proc.stdout
    assert readme.read_text() == "# Course\n\nNo table here.\n"


def test_random_scaffold_gives_the_same_draw_to_both_sides_and_validates(course):
    from grader.grading import grade
    from grader.validate import validate_exercise

    # (a name of its own: the graders of one process are imported once per name)

    proc = new(course, "ex14_masked", "--title", "Inverted dropout", "--functions", "dropout", "--random")
    assert proc.returncode == 0, proc.stderr
    folder = course / "exercises" / "ex14_masked"
    assert "def dropout(x, keep, mask):" in (folder / "masked.py").read_text()
    assert "mask = (rng.random(shape) < keep)" in (folder / "test_masked.py").read_text()
    ex = load_exercise(folder)
    v = validate_exercise(ex, course, seeds=[1], min_mutants=1)
    assert v.ok and v.strength == 1.0, "\n".join(p for s in v.steps for p in s.problems)
    # A student who forgets the 1 / keep scaling is told so; one who draws a mask of their own scores 0.
    unscaled, own_draw = course / "unscaled.py", course / "own_draw.py"
    unscaled.write_text("import numpy as np\n\ndef dropout(x, keep, mask):\n    return x * mask\n")
    own_draw.write_text("import numpy as np\n\ndef dropout(x, keep, mask):\n"
                        "    return x * (np.random.random(x.shape) < keep) / keep\n")
    (a,) = grade([ex], {ex.name: unscaled}, seed=1)
    (b,) = grade([ex], {ex.name: own_draw}, seed=1)
    assert a.score == 0 and "not scaled by 1 / keep" in a.tests[0].output
    assert b.score == 0 and not b.grader_faults
