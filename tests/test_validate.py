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


# -- a weak grader: every check must be able to fail --------------------------------

# The weak grader, for a ReLU layer: the backward pass checked for its
# shape only, rtol 0.3 on the forward check, and no backward mutant.
WEAK_YAML = """\
name: ex12_relu
title: ReLU forward and backward
file: relu.py
functions: [relu_forward, relu_backward]
tolerance: {rtol: 1.0e-7, atol: 1.0e-12}
checks:
  test_forward:
    points: 5
    tolerance: {rtol: 0.3}
  test_backward:
    points: 3
"""
WEAK_GRADER = '''
import numpy as np
import torch


def test_forward(student, oracle, check, rng):
    x = rng.normal(size=(4, 5))
    check.close(student.relu_forward(x), oracle(torch.relu, x), "relu_forward(x)")


def test_backward(student, check, rng):
    x, dout = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    dx = check.floats(student.relu_backward(dout, x), "relu_backward(dout, x)")
    if dx.shape != x.shape:
        check.fail(f"relu_backward(dout, x): expected shape {x.shape}, got {dx.shape}")
'''
WEAK_REFERENCE = '''import numpy as np


def relu_forward(x):
    return np.maximum(x, 0.0)


def relu_backward(dout, x):
    return dout * (x > 0)
'''
WEAK_STUB = '''import numpy as np


def relu_forward(x):
    raise NotImplementedError("relu_forward")


def relu_backward(dout, x):
    raise NotImplementedError("relu_backward")
'''
WEAK_MUTANT = "# expect-hint: sign\n" + WEAK_REFERENCE.replace("np.maximum(x, 0.0)", "-np.maximum(x, 0.0)")


@pytest.fixture
def weak_course(tmp_path):
    folder = tmp_path / "course" / "exercises" / "ex12_relu"
    (folder / "mutants").mkdir(parents=True)
    (folder / "exercise.yaml").write_text(WEAK_YAML)
    (folder / "test_relu.py").write_text(WEAK_GRADER)
    (folder / "relu.py").write_text(WEAK_STUB)
    (folder / "README.md").write_text("# ReLU\n")
    (folder / "mutants" / "forward_sign_flipped.py").write_text(WEAK_MUTANT)
    (tmp_path / "course" / "solutions" / "ex12_relu").mkdir(parents=True)
    (tmp_path / "course" / "solutions" / "ex12_relu" / "relu.py").write_text(WEAK_REFERENCE)
    return tmp_path / "course"


def test_a_weak_grader_fails_validation_naming_each_problem(weak_course):
    proc = run_cli("--root", str(weak_course), "validate", "ex12", "--seeds", "1", "--min-mutants", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    # What passed before: reference, stub, and every (forward) mutant caught.
    assert "ok    reference" in out and "ok    stub" in out and "1 / 1 caught (strength 100%)" in out
    assert "FAIL  tolerances" in out and "test_forward: rtol 0.3 is looser than 0.001" in out
    assert "FAIL  coverage" in out
    assert "test_backward: no wrong version loses this check's points" in out
    assert "code that computes nothing (every function returns zeros of the right shape) scores 3 / 8: " \
           "test_backward 3" in out
    assert "code that computes nothing (every function returns its first input unchanged) scores 3 / 8" in out
    assert "test_forward: no wrong version" not in out  # the mutant and the zeros lose its points
    assert "0 / 1 exercise(s) valid" in out


def test_a_justified_leniency_passes_and_is_reported(weak_course):
    meta = weak_course / "exercises" / "ex12_relu" / "exercise.yaml"
    meta.write_text(WEAK_YAML.replace("    tolerance: {rtol: 0.3}", "    tolerance: {rtol: 0.3, reason: a demo}")
                    .replace("  test_backward:\n    points: 3",
                             "  test_backward:\n    points: 3\n    lenient: shapes only, for a first lab"))
    v = validate_exercise(load_exercise(meta.parent), weak_course, seeds=[1], min_mutants=1)
    assert v.ok, "\n".join(p for s in v.steps for p in s.problems)
    assert "test_forward: rtol 0.3 is looser than 1e-06 (justified: a demo)" in v.warnings
    assert any(w.startswith("test_backward: no wrong version loses this check's points (lenient: shapes only")
               for w in v.warnings), v.warnings
    coverage = next(s for s in v.steps if s.name == "coverage")
    assert coverage.message.endswith("code computing nothing scores 0 on every check not marked lenient "
                                     "(test_backward exempt)"), coverage.message


def test_generated_wrong_versions_spoil_one_value_at_a_time(tmp_path):
    from grader.wrong_versions import computing_nothing, per_function, several_values

    reference = (ROOT / "solutions" / "ex05_softmax" / "softmax.py").read_text()
    assert several_values(reference, "softmax_cross_entropy") == [0, 1]
    assert several_values(reference, "softmax") == []
    versions = {v.label: v for v in per_function(reference, ["softmax_cross_entropy"])}
    assert set(versions) == {"`softmax_cross_entropy` returns zeros of the right shape",
                             "`softmax_cross_entropy` returns its first input unchanged",
                             "`softmax_cross_entropy` returns value 1 of 2 as zeros",
                             "`softmax_cross_entropy` returns value 2 of 2 as zeros"}
    import numpy as np

    logits, labels = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([1, 0])
    answers = {}
    for label, version in {**versions, **{v.label: v for v in computing_nothing(reference, ["softmax"])}}.items():
        scope = {}
        exec(compile(version.source, label, "exec"), scope)
        try:
            answers[label] = scope["softmax_cross_entropy" if "softmax_cross" in label else "softmax"](
                logits, labels) if "every" not in label else scope["softmax"](logits)
        except RuntimeError as exc:
            assert label == "every function raises" and "generated by grader validate" in str(exc)
            answers[label] = exc
    loss, dlogits = answers["`softmax_cross_entropy` returns value 1 of 2 as zeros"]
    assert loss == 0 and np.abs(dlogits).sum() > 0
    loss, dlogits = answers["`softmax_cross_entropy` returns value 2 of 2 as zeros"]
    assert loss > 0 and dlogits.shape == (2, 2) and not dlogits.any()
    assert answers["`softmax_cross_entropy` returns its first input unchanged"] is logits
    assert answers["every function returns None"] is None
    assert isinstance(answers["every function raises"], RuntimeError)
    assert not answers["every function returns zeros of the right shape"].any()


def test_tolerances_warn_when_loose_and_fail_above_1e_3_unless_justified(tmp_path):
    from grader.strength import check_tolerances

    root = copy_course(tmp_path, "ex01_sigmoid")
    folder = root / "exercises" / "ex01_sigmoid"
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["checks"]["test_sigmoid_arrays"]["tolerance"] = {"rtol": 1e-5}
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    grader = folder / "test_sigmoid.py"
    grader.write_text(grader.read_text().replace('"sigmoid(z) for z in [-1e4, 1e4]",',
                                                 '"sigmoid(z) for z in [-1e4, 1e4]", atol=0.01,'))
    problems, warnings = check_tolerances(load_exercise(folder))
    assert warnings == ["test_sigmoid_arrays: rtol 1e-05 is looser than 1e-06"]
    assert len(problems) == 1 and problems[0].startswith("test_sigmoid_extremes: atol 0.01 is looser than 0.001")
    meta["checks"]["test_sigmoid_extremes"]["tolerance"] = {"reason": "a demo of a written tolerance"}
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    problems, warnings = check_tolerances(load_exercise(folder))
    assert problems == [] and "test_sigmoid_extremes: atol 0.01 is looser than 1e-09 " \
                                "(justified: a demo of a written tolerance)" in warnings
