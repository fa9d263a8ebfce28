"""`grader validate`: passes a sound exercise, and fails (exit status 1) on each kind of unsound one:
a mutant not caught, a hint not given, a stub that scores, a reference that does not, metadata out
of step with the grader, hidden checks in a public file, grading that depends on more than the seed."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli

from grader.exercises import load_exercise
from grader.validate import check_metadata, check_mutant, validate_exercise


def copy_course(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "course"
    shutil.copytree(ROOT / "exercises" / name, root / "exercises" / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions" / name, root / "solutions" / name)
    return root


def test_validate_passes_a_sound_exercise_and_reports_strength():
    proc = run_cli("validate", "ex01", "--seeds", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "reference    10 / 10 of 10 on seeds 1234, 1235" in out
    assert "5 / 5 caught (strength 100%), 5 / 5 with their hint" in out
    assert "seed 1234 twice" in out and "identical" in out
    assert "time:" in out and "1 / 1 exercise(s) valid" in out


def test_validate_fails_on_a_weak_grader(tmp_path):
    root = copy_course(tmp_path, "ex01_sigmoid")
    mutants = root / "exercises" / "ex01_sigmoid" / "mutants"
    reference = (root / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
    (mutants / "not_a_mistake.py").write_text("# expect-hint: anything\n" + reference)
    wrong_hint = mutants / "sign_flipped.py"
    wrong_hint.write_text(wrong_hint.read_text().replace("# expect-hint: sign inside exp is flipped",
                                                         "# expect-hint: a hint nobody gives"))
    proc = run_cli("--root", str(root), "validate", "ex01", "--seeds", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "ok    reference" in out and "ok    stub" in out and "FAIL  mutants" in out
    assert "5 / 6 caught (strength 83%)" in out
    assert "not_a_mistake: not caught: it scores full marks (10 / 10)" in out
    assert "sign_flipped: loses points (2 / 10) but without the hint 'a hint nobody gives'" in out
    assert "NOT CAUGHT" in out and "hint MISSING" in out
    assert "0 / 1 exercise(s) valid" in out


def test_validate_fails_when_the_stub_scores_and_the_reference_does_not(tmp_path):
    root = copy_course(tmp_path, "ex01_sigmoid")
    ex_dir = root / "exercises" / "ex01_sigmoid"
    shutil.copy2(ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py", ex_dir / "sigmoid.py")  # the stub "solved"
    shutil.copy2(ex_dir / "mutants" / "sign_flipped.py", root / "solutions" / "ex01_sigmoid" / "sigmoid.py")
    proc = run_cli("--root", str(root), "validate", "ex01", "--seeds", "2", "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    (ex,) = data["exercises"]
    steps = {s["name"]: s for s in ex["steps"]}
    assert not steps["reference"]["ok"] and not steps["stub"]["ok"]
    assert [p.split(":")[0] for p in steps["reference"]["problems"]] == ["seed 1234", "seed 1235"]
    assert "seed 1234: 2 / 10" in steps["reference"]["problems"][0]
    assert "sign inside exp is flipped" in steps["reference"]["problems"][0]
    assert "the stub scores points" in steps["stub"]["problems"][0]
    assert ex["seeds"] == [1234, 1235] and ex["seconds"] > 0


def test_metadata_problems(tmp_path):
    root = copy_course(tmp_path, "ex10_linreg")
    ex_dir = root / "exercises" / "ex10_linreg"
    meta = yaml.safe_load((ex_dir / "exercise.yaml").read_text())
    assert check_metadata(load_exercise(ex_dir), root) == ([], [])
    meta["checks"]["test_not_in_grader"] = {"points": 1}
    del meta["checks"]["test_db"]
    meta["checks"]["test_predict"]["hidden"] = True
    meta["functions"].append("missing_function")
    (ex_dir / "exercise.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    for mutant in sorted((ex_dir / "mutants").glob("*.py"))[:-2]:  # two are left, db_keepdims comes back
        mutant.unlink()
    (ex_dir / "mutants" / "db_keepdims.py").write_text("import numpy as np\n")  # no expect-hint
    problems, warnings = check_metadata(load_exercise(ex_dir), root)
    text = "\n".join(problems)
    assert "without an entry in exercise.yaml: test_db" in text
    assert "does not define: test_not_in_grader" in text
    assert "test_predict is hidden: true but lives in test_linreg.py" in text
    assert "does not define missing_function" in text
    assert "3 mutant(s) in mutants/, at least 4 wanted" in text
    assert any("db_keepdims.py has no '# expect-hint" in w for w in warnings)


def test_nondeterministic_grading_is_caught(tmp_path):
    # A scaffolded exercise whose grader draws inputs from an unseeded generator.
    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    assert run_cli("--root", str(course), "new", "ex11_noisy", "--title", "Noisy").returncode == 0
    grader = course / "exercises" / "ex11_noisy" / "test_noisy.py"
    grader.write_text(grader.read_text().replace("x = rng.normal(size=shape)",
                                                 "x = np.random.default_rng().normal(size=shape)"))
    v = validate_exercise(load_exercise(course / "exercises" / "ex11_noisy"), course, seeds=[1], min_mutants=1)
    steps = {s.name: s for s in v.steps}
    assert steps["reference"].ok and steps["mutants"].ok
    assert not steps["determinism"].ok and "feedback differs" in steps["determinism"].problems[0]


def test_check_mutant_is_the_shared_definition():
    ex = load_exercise(ROOT / "exercises" / "ex01_sigmoid")
    outcome = check_mutant(ex, ex.path / "mutants" / "sign_flipped.py")
    assert outcome.ok and outcome.caught and outcome.hint_found
    assert outcome.expected_hint == "sign inside exp is flipped" and outcome.problem() == ""


def test_usage_errors():
    assert run_cli("validate").returncode == 2
    assert run_cli("validate", "ex01", "--all").returncode == 2
    assert run_cli("validate", "ex99").returncode == 2
