"""Results released on a schedule: visibility per check in exercise.yaml, on every channel."""

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli
from grader.course import load_course
from grader.course.visibility import HELD, gradescope_visibility, hold
from grader.exercises import ExerciseError, load_exercise
from grader.results import CheckResult, ExerciseResult

EX01 = ROOT / "exercises" / "ex01_sigmoid"
REFERENCE = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
SIGN_FLIPPED = (EX01 / "mutants" / "sign_flipped.py").read_text()


def make_course(root: Path, due: str) -> Path:
    folder = root / "exercises" / "ex01_sigmoid"
    shutil.copytree(EX01, folder, ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["checks"]["test_sigmoid_arrays"]["visibility"] = "after_due_date"
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    (root / "course.yaml").write_text(f"timezone: Europe/Paris\nassignments:\n  hw1:\n    exercises: [ex01]\n"
                                      f"    due: {due}\n")
    return root


def test_visibility_in_exercise_yaml(tmp_path):
    ex = load_exercise(make_course(tmp_path, "2026-10-24 23:59 Europe/Paris") / "exercises" / "ex01_sigmoid")
    assert ex.checks["test_sigmoid_arrays"].visibility == "after_due_date"
    assert ex.checks["test_sigmoid_scalar"].visibility == "visible" and not ex.checks["test_sigmoid_arrays"].hidden
    meta_path = tmp_path / "exercises" / "ex01_sigmoid" / "exercise.yaml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["checks"]["test_sigmoid_scalar"]["visibility"] = "later"
    meta_path.write_text(yaml.safe_dump(meta))
    with pytest.raises(ExerciseError, match="visibility is one of visible, after_due_date, hidden, not 'later'"):
        load_exercise(meta_path.parent)
    meta["checks"]["test_sigmoid_scalar"]["visibility"] = "hidden"
    meta_path.write_text(yaml.safe_dump(meta))
    assert load_exercise(meta_path.parent).checks["test_sigmoid_scalar"].hidden  # the same as hidden: true
    # The hidden checks of the repository's own exercises read as before.
    ex10 = load_exercise(ROOT / "exercises" / "ex10_linreg")
    assert {n for n, c in ex10.checks.items() if c.hidden} == {n for n, c in ex10.checks.items()
                                                                if c.visibility == "hidden"} != set()


def _result(score_arrays: float) -> ExerciseResult:
    tests = [CheckResult("test_sigmoid_scalar", 1.0, 1.0, "passed"),
             CheckResult("test_sigmoid_arrays", score_arrays, 3.0, "failed" if not score_arrays else "passed",
                         output="sigmoid(z): values differ\nInputs: z of shape (5,)", kind="mismatch",
                         hints=["the sign inside exp is flipped"], file="sigmoid.py", line=3, function="sigmoid")]
    return ExerciseResult("ex01_sigmoid", "t", 1.0 + score_arrays, 4.0, 1234, ["cpu"], tests)


def test_a_result_before_the_due_date_is_held_without_its_inputs_values_or_hints(tmp_path):
    root = make_course(tmp_path, "2026-10-24 23:59 Europe/Paris")
    course, ex = load_course(root), load_exercise(root / "exercises" / "ex01_sigmoid")
    before = datetime(2026, 10, 24, 21, 58, tzinfo=timezone.utc)
    for score in (0.0, 3.0):  # a failing and a passing check look the same
        r = _result(score)
        notes = hold([r], [ex], course, now=before)
        t = r.tests[1]
        assert (t.status, t.score, t.kind, t.hints, t.file, t.line) == ("failed", 0.0, HELD, [], "", None)
        assert t.output == "result shown after 2026-10-24 23:59 CEST" and r.score == 1.0
        assert notes == ["ex01_sigmoid: 3 point(s) of checks whose results are shown after 2026-10-24 23:59 CEST "
                         "are not counted in the score shown"]
    r = _result(0.0)
    assert hold([r], [ex], course, now=datetime(2026, 10, 24, 21, 59, tzinfo=timezone.utc)) == []  # due: shown
    assert "values differ" in r.tests[1].output and r.tests[1].hints
    assert hold([r], [ex], None) == [] and r.tests[1].kind == "mismatch"  # no course: no date to wait for


def test_gradescope_gets_its_own_visibility_values(tmp_path):
    ex = load_exercise(make_course(tmp_path, "2026-10-24 23:59 Europe/Paris") / "exercises" / "ex01_sigmoid")
    data = {"tests": [{"name": "ex01_sigmoid: test_sigmoid_arrays", "visibility": "visible"},
                      {"name": "ex01_sigmoid: test_sigmoid_scalar", "visibility": "visible"}]}
    gradescope_visibility(data, [ex])
    assert [t["visibility"] for t in data["tests"]] == ["after_due_date", "visible"]


def test_the_students_local_report_says_when_the_result_is_shown(tmp_path):
    root = make_course(tmp_path / "course", "2099-06-30 23:59 Europe/Paris")
    (tmp_path / "mine.py").write_text(SIGN_FLIPPED)
    proc = run_cli("--root", str(root), "check", "ex01", "--submission", str(tmp_path / "mine.py"), "--format",
                   "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    arrays = next(t for t in report["tests"] if t["name"] == "test_sigmoid_arrays")
    assert arrays["output"] == "result shown after 2099-06-30 23:59 CEST" and arrays["hints"] == []
    assert "sign" not in json.dumps(arrays) and "Inputs" not in json.dumps(arrays)
    assert report["score"] == 2.0  # the mutant's visible points only
    proc = run_cli("--root", str(root), "check", "ex01", "--submission", str(tmp_path / "mine.py"), cwd=tmp_path)
    assert "LATER test_sigmoid_arrays" in proc.stdout and "not counted yet" in proc.stdout


# -- grader.check() in a notebook holds them as `grader check` does ---------------------------------------


def _notebook_namespace(tmp_path: Path, source: str) -> dict:
    """The namespace a notebook that ran ``source`` would have (functions with a source file, as cells have)."""
    import importlib.util

    module = tmp_path / "student_notebook.py"
    module.write_text(source)
    spec = importlib.util.spec_from_file_location("student_notebook", module)
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)
    return vars(student)


def test_grader_check_in_a_notebook_holds_a_result_until_the_due_date(tmp_path):
    import grader

    root = make_course(tmp_path / "course", "2099-06-30 23:59 Europe/Paris")
    when = "result shown after 2099-06-30 23:59 CEST"
    report = grader.check("ex01", namespace=_notebook_namespace(tmp_path, REFERENCE), root=root)
    arrays = next(t for t in report.result.tests if t.name == "test_sigmoid_arrays")
    assert (arrays.kind, arrays.output, arrays.score, arrays.hints) == (HELD, when, 0.0, [])
    assert (report.score, report.max_score) == (7.0, 10.0)  # full marks but the 3 points held
    assert report.notes[-1] == ("ex01_sigmoid: 3 point(s) of checks whose results are shown after 2099-06-30 "
                                "23:59 CEST are not counted in the score shown")
    text, page = repr(report), report._repr_html_()
    assert "LATER test_sigmoid_arrays" in text and when in text and "not counted yet" in text
    row = next(r for r in page.split("<tr") if "test_sigmoid_arrays" in r)
    assert "grader-held" in row and ">LATER<" in row and when in row and "– / 3" in row
    assert "PASS" not in row and "FAIL" not in row and "<details" not in page
    assert "Score: 7 / 10 (70%)" in page and "3 point(s) not counted yet" in page

    # A failing submission: the held check says nothing of its inputs, values or hints.
    report = grader.check("ex01", namespace=_notebook_namespace(tmp_path, SIGN_FLIPPED), root=root)
    arrays = next(t for t in report.result.tests if t.name == "test_sigmoid_arrays")
    assert (arrays.output, arrays.hints, arrays.score) == (when, [], 0.0)
    page = report._repr_html_()
    row = next(r for r in page.split("<tr") if "test_sigmoid_arrays" in r)
    assert ">LATER<" in row and "<details" not in row
    shown = [t for t in report.result.tests if t.status != "passed" and t.kind != HELD]
    assert shown and page.count("<details") == len(shown)  # feedback for the other failing checks only


def test_grader_check_shows_everything_after_the_due_date(tmp_path):
    import grader

    root = make_course(tmp_path / "course", "2020-01-31 23:59 Europe/Paris")
    report = grader.check("ex01", namespace=_notebook_namespace(tmp_path, REFERENCE), root=root)
    assert (report.score, report.max_score) == (10.0, 10.0)
    assert not any(t.kind == HELD for t in report.result.tests) and not report.notes
    assert "LATER" not in repr(report) + report._repr_html_() and "shown after" not in repr(report)


def test_grader_check_holds_in_a_kernel_too(tmp_path, monkeypatch):
    import grader.notebook_check as nc

    root = make_course(tmp_path / "course", "2099-06-30 23:59 Europe/Paris")
    namespace = _notebook_namespace(tmp_path, REFERENCE)
    history = ["", "# GRADED FUNCTION: sigmoid\n" + REFERENCE]
    shell = type("Shell", (), {"user_ns": namespace,
                               "history_manager": type("H", (), {"input_hist_raw": history})()})()
    monkeypatch.setattr(nc, "_ipython_for", lambda ns: shell if ns is namespace else None)
    monkeypatch.chdir(tmp_path)  # no saved notebook here
    report = nc.check_namespace("ex01", namespace, root=root)
    arrays = next(t for t in report.result.tests if t.name == "test_sigmoid_arrays")
    assert arrays.kind == HELD and report.score == 7.0 and "not counted in the score shown" in report.notes[-1]


def test_grader_check_says_in_one_line_that_course_yaml_is_broken(tmp_path):
    import grader
    from grader.notebook_check import CheckError

    root = make_course(tmp_path / "course", "2099-06-30 23:59 Europe/Paris")
    (root / "course.yaml").write_text("timezone: [Europe/Paris\n")
    with pytest.raises(CheckError) as caught:  # before anything is graded
        grader.check("ex01", namespace=_notebook_namespace(tmp_path, REFERENCE), root=root)
    assert isinstance(caught.value, ExerciseError) and caught.value.__suppress_context__
    (line,) = caught.value._render_traceback_()  # what IPython shows instead of a traceback
    assert line.startswith("grader.check: error: cannot read ") and "course.yaml" in line
