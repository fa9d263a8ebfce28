"""Curves a check attaches to its result (``check.curve``, grader/curves.py): carried by the JSON
reports, drawn in the notebook's HTML report and the class report, and never broken by the
student's numbers."""

import json
import math
import shutil

import numpy as np
import pytest

from conftest import ROOT, run_cli
from grader.curves import MAX_POINTS, figures, from_stored, make_curve
from grader.notebook_report import Report
from grader.plugin import Checker
from grader.results import FAILED, PASSED, CheckResult, ExerciseResult
from test_classreport import Tree, synthetic_class

HOSTILE = '<script>alert(1)</script> & "quoted" <b>'


def _checker():
    return Checker(1e-7, 1e-12)


def _svgs(html: str) -> list:
    tree = Tree(html)
    assert tree.mismatched == [], tree.mismatched[:5]
    return tree.root.find_all("svg")


# -- ex12 graded once: the curves in the JSON report, drawn in the notebook's report ---------------

@pytest.fixture(scope="module")
def ex12_json():
    """`grader check ex12 --format json` of the reference, with its companions (solutions/ex0*)."""
    proc = run_cli("check", "ex12", "--submission", str(ROOT / "solutions" / "ex12_lenet" / "lenet.py"),
                   "--format", "json", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_ex12_json_report_carries_both_loss_curves(ex12_json):
    from test_reports_ci import _validator

    _validator("report.schema.json").validate(ex12_json)
    assert ex12_json["score"] == ex12_json["max_score"]
    tests = {t["name"]: t for t in ex12_json["tests"]}
    (steps,) = tests["test_training_steps"]["curves"]
    assert [s["label"] for s in steps["series"]] == ["yours", "torch.optim.Adam"]
    assert [len(s["values"]) for s in steps["series"]] == [20, 20] and steps["x_label"] == "step"
    yours, torchs = (s["values"] for s in steps["series"])
    assert yours == pytest.approx(torchs, rel=1e-5)  # the reference trains as torch does
    assert "loss at steps 1, 5, 10, 15, 20" in tests["test_training_steps"]["output"]  # the terminal's words
    (epochs,) = tests["test_accuracy"]["curves"]
    (mine,) = epochs["series"]  # torch's full run is not computed there
    assert mine["label"] == "yours" and len(mine["values"]) == 20 and epochs["x_label"] == "epoch"
    assert mine["values"][-1] < mine["values"][0] / 2  # the network learns
    assert "mean training loss per epoch" in tests["test_accuracy"]["output"]
    assert all(not t["curves"] for name, t in tests.items() if name not in ("test_training_steps", "test_accuracy"))


def test_the_notebook_report_of_ex12_draws_the_curves(ex12_json):
    tests = [CheckResult(**t) for t in ex12_json["tests"]]
    result = ExerciseResult(ex12_json["exercise"], ex12_json["title"], ex12_json["score"], ex12_json["max_score"],
                            ex12_json["seed"], ex12_json["devices"], tests=tests)
    html = Report(result)._repr_html_()
    svgs = _svgs(html)
    assert len(svgs) == 2
    labels = [[g.attrs["data-label"] for g in svg.find_all("g", class_="grader-series")] for svg in svgs]
    assert labels == [["yours", "torch.optim.Adam"], ["yours"]]
    for g in svgs[0].find_all("g", class_="grader-series"):
        (line,) = g.find_all("polyline")
        assert len(line.attrs["points"].split()) == 20
    # Under its check's row: the row before the chart is test_training_steps'.
    assert html.index("test_training_steps") < html.index("<svg") < html.index("test_accuracy")


# -- the notebook's report ------------------------------------------------------------------------

def test_notebook_report_draws_a_curve_under_its_row_with_labels_escaped():
    check = _checker()
    assert check.curve(f"loss {HOSTILE}", {"yours": [2.3, 1.9, 1.2, 0.8], HOSTILE: np.array([2.3, 2.0, 1.5, 1.0])})
    result = ExerciseResult("ex12_lenet", "LeNet", 0, 2, 1234, ["cpu"], tests=[
        CheckResult("test_a", 0, 1, FAILED, output="losses differ", curves=check.curves),
        CheckResult("test_b", 1, 1, PASSED)])
    html = Report(result)._repr_html_()
    tree = Tree(html)
    assert tree.mismatched == []
    assert "script" not in [n.tag for n in tree.root.find_all()] and "<script>" not in html
    rows = [tr for tr in tree.root.find_all("tr") if tr.attrs.get("class", "").startswith("grader-")]
    assert [r.attrs["class"] for r in rows] == ["grader-failed", "grader-feedback", "grader-curves", "grader-passed"]
    (svg,) = rows[2].find_all("svg")
    series = svg.find_all("g", class_="grader-series")
    assert [g.attrs["data-label"] for g in series] == ["yours", HOSTILE]  # escaped in the markup, intact as text
    assert all(len(g.find_all("polyline")) == 1 for g in series)
    assert HOSTILE in svg.all_text() and f"loss {HOSTILE}" in svg.find("title").all_text()
    # A passing check with curves draws them too; a check without none.
    result.tests[0].status = PASSED
    assert len(_svgs(Report(result)._repr_html_())) == 1
    result.tests[0].curves = []
    assert _svgs(Report(result)._repr_html_()) == []


# -- hostile numbers --------------------------------------------------------------------------------

def test_hostile_series_never_raise_and_are_dropped_or_clipped():
    check = _checker()
    attached = check.curve("hostile", {
        "specials": [math.nan, math.inf, -math.inf, 1e308, -1e308, 1.0, 2.0],
        "million": np.linspace(5.0, 0.0, 10**6),
        "strings": ["1.5", "2.5"],
        "objects": [object(), 1.0],
    })
    assert attached
    (curve,) = check.curves
    specials, million = curve["series"]  # the strings and the objects are dropped
    assert specials["values"] == [None, None, None, 1e12, -1e12, 1.0, 2.0]
    assert (specials["not_finite"], specials["clipped"]) == (3, 2)
    assert len(million["values"]) <= MAX_POINTS and million["every"] == 2000
    assert million["values"][0] == pytest.approx(5.0, abs=0.02) and million["values"][-1] == pytest.approx(0, abs=0.02)
    # Nothing to draw at all: no curve, no exception.
    for bad in (["a", "b"], "text", None, 42, [[1.0], [1.0, 2.0]], np.array([1j, 2j]), [10**400], np.zeros((3, 3)),
                [], {"a": 1}, np.zeros(0)):
        assert not check.curve("bad", {"yours": bad})
    assert not check.curve("bad", "not a mapping") and not check.curve("bad", 7) and not check.curve("bad", {})
    # At most 4 curves a check, 4 series a curve.
    for i in range(6):
        check.curve(f"c{i}", {str(k): [1.0, 2.0] for k in range(9)})
    assert len(check.curves) == 4 and all(len(c["series"]) <= 4 for c in check.curves)
    # The rest of the report is intact: strict JSON, the notebook's HTML, the text.
    result = ExerciseResult("ex12_lenet", "LeNet", 1, 2, 1234, ["cpu"], tests=[
        CheckResult("test_a", 1, 1, PASSED, output="fine", curves=check.curves),
        CheckResult("test_b", 0, 1, FAILED, output="expected 1, got 2")])
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["tests"][1]["output"] == "expected 1, got 2"
    html = Report(result)._repr_html_()
    assert len(_svgs(html)) == 4 and "expected 1, got 2" in html and "Score: 1 / 2" in html
    assert "nan" not in html.lower().replace("not finite", "")


def test_hostile_stored_curves_are_cleaned_again():
    good = make_curve("loss", {"yours": [1.0, 0.5]})
    tampered = [
        "not a list of curves",
        {"series": "x"},
        {"title": HOSTILE, "series": [{"label": HOSTILE, "values": [1.0, None, "x"]},  # a string: dropped
                                      {"label": "long", "values": [1.0] * (MAX_POINTS + 1)},  # too long as stored
                                      {"label": "ok", "values": [1e300, None, 2.0], "every": -3, "not_finite": "many"}]},
        good,
    ]
    cleaned = from_stored(tampered)
    assert len(cleaned) == 2 and cleaned[1] == good
    (ok,) = cleaned[0]["series"]
    assert ok["values"] == [1e12, None, 2.0] and ok["every"] == 1 and ok["not_finite"] == 1 and ok["clipped"] == 1
    assert from_stored(None) == [] and from_stored({"a": 1}) == [] and figures("junk") == ""
    assert "<script>" not in figures(tampered) and "&lt;script&gt;" in figures(tampered)


def test_hostile_student_values_through_a_grading(tmp_path):
    """The student's own values cross the sandbox into check.curve: the check and the report stay whole."""
    from grader.exercises import load_exercise
    from grader.grading import grade

    # ex01 under a name of its own: its graders are imported in this process as the package
    # "ex99_curves", so the real ex01's are neither replaced nor reused by this test.
    folder = tmp_path / "course" / "exercises" / "ex99_curves"
    shutil.copytree(ROOT / "exercises" / "ex01_sigmoid", folder, ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    meta = folder / "exercise.yaml"
    meta.write_text(meta.read_text().replace("name: ex01_sigmoid", "name: ex99_curves", 1))
    with open(folder / "test_sigmoid.py", "a") as f:
        f.write('''

def test_curve_of_the_students_values(student, check):
    for kind in ("special", "million", "strings", "nested", "object"):
        check.curve(kind, {"yours": student.values(kind), "torch": [1.0, 0.5, 0.25]})
''')
    submission = tmp_path / "sigmoid.py"
    submission.write_text((ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text() + '''

def values(kind):
    import numpy as np
    return {"special": [float("nan"), float("inf"), 1e308, -1e308, 0.5],
            "million": np.arange(10**6, dtype=float),
            "strings": ["a", "b", "c"],
            "nested": [[1.0], [2.0, 3.0]],
            "object": {"loss": 1.0}}[kind]
''')
    ex = load_exercise(folder)
    (result,) = grade([ex], {ex.name: submission})
    tests = {t.name: t for t in result.tests}
    assert result.score == result.max_score, [(t.name, t.output) for t in result.tests]
    curves = tests["test_curve_of_the_students_values"].curves
    assert len(curves) == 4  # at most 4 a check: the fifth (kind "object") is not kept
    special, million, strings, nested = curves
    assert special["series"][0]["values"] == [None, None, 1e12, -1e12, 0.5]
    assert len(million["series"][0]["values"]) <= MAX_POINTS
    for dropped in (strings, nested):  # the student's series dropped, the grader's kept
        assert [s["label"] for s in dropped["series"]] == ["torch"]
    assert all(not t.curves for name, t in tests.items() if name != "test_curve_of_the_students_values")
    json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert len(_svgs(Report(result)._repr_html_())) == 4


# -- the class report -------------------------------------------------------------------------------

def test_class_report_drill_down_draws_the_curves(tmp_path):
    from grader.classreport import build_report

    folder = synthetic_class(tmp_path / "grades", students=1, nobody=())
    path = folder / "reports" / "student-00.json"
    report = json.loads(path.read_text())
    result = next(e["result"] for e in report["exercises"].values() if e.get("result"))
    check = _checker()
    check.curve("loss per training step", {HOSTILE: [2.3, 1.5, 0.9], "torch.optim.Adam": [2.3, 1.4, 0.8]})
    result["tests"][0]["curves"] = check.curves
    result["tests"][-1]["curves"] = [{"series": [{"label": "x", "values": ["drop", "me"]}]}]  # tampered: dropped
    path.write_text(json.dumps(report))
    page = build_report(folder).read_text()
    tree = Tree(page)
    assert tree.mismatched == []
    detail = tree.root.find("details", id="s-student-00")
    svgs = detail.find_all("svg")
    assert len(svgs) == 1 and svgs[0].attrs.get("class") == "grader-curve"
    series = svgs[0].find_all("g", class_="grader-series")
    assert [g.attrs["data-label"] for g in series] == [HOSTILE, "torch.optim.Adam"]
    assert all(g.find("polyline") is not None for g in series)
    assert "<script>alert" not in page
    # In the row under its check's.
    rows = [tr for tr in detail.find_all("tr") if tr.parent.tag == "tbody"]
    at = next(i for i, tr in enumerate(rows) if tr.find("svg") is not None)
    assert rows[at].attrs.get("class") == "curves"
    assert rows[at - 1].find("td").all_text() == result["tests"][0]["name"]


def test_a_result_held_until_the_due_date_shows_no_curve():
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    from grader.course.timefmt import UTC
    from grader.course.visibility import hold

    check = _checker()
    check.curve("loss", {"yours": [2.0, 1.0]})
    result = ExerciseResult("ex12_lenet", "LeNet", 1, 1, 1234, ["cpu"], tests=[
        CheckResult("test_training_steps", 1, 1, PASSED, curves=check.curves)])
    due = datetime.now(UTC) + timedelta(days=1)
    ex = SimpleNamespace(name="ex12_lenet", checks={"test_training_steps": SimpleNamespace(visibility="after_due_date")})
    course = SimpleNamespace(assignment_of=lambda name: SimpleNamespace(due=due), when=lambda d: "tomorrow")
    assert hold([result], [ex], course)
    assert result.tests[0].curves == [] and _svgs(Report(result)._repr_html_()) == []
