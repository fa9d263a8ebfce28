"""Every exercise: the hidden reference scores full marks, the stub scores 0
without a crash, and every wrong implementation in ``exercises/EX/mutants/``
loses points and gets the hint its ``# expect-hint:`` line names."""

import re
from pathlib import Path

import pytest

from grader.exercises import all_exercises
from grader.grading import grade

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = all_exercises(ROOT)
# The oracle's cache as a student's check uses it (the session's cache folder:
# the references fill it, the stubs and mutants replay it), with every replayed
# value computed again and compared: a cached answer that differs from a fresh
# one is a grader fault, so each score here is the score without the cache.
CACHED = {"use_cache": True, "verify_cache": True}


def _mutants():
    for ex in EXERCISES:
        for path in sorted((ex.path / "mutants").glob("*.py")):
            yield pytest.param(ex, path, id=f"{ex.name}-{path.stem}")


def _summary(result) -> str:
    return "\n".join(f"{t.name}: {t.status} {t.score}/{t.max_score}\n{t.output}" for t in result.tests)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_reference_scores_full_marks(ex):
    reference = ROOT / "solutions" / ex.name / ex.file
    (result,) = grade([ex], {ex.name: reference}, **CACHED)
    assert result.max_score == pytest.approx(ex.max_score) and result.max_score > 0
    assert result.score == pytest.approx(result.max_score), _summary(result)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_stub_scores_zero_without_grader_errors(ex):
    (result,) = grade([ex], {ex.name: ex.student_file}, **CACHED)
    assert result.score == 0, _summary(result)
    assert not result.grader_faults, _summary(result)
    assert all(t.output for t in result.tests), "every failed check explains itself"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_every_exercise_has_four_mutants_and_consistent_metadata(ex):
    assert len(list((ex.path / "mutants").glob("*.py"))) >= 4
    source = "\n".join(p.read_text() for p in ex.grader_files())
    defined = set(re.findall(r"^def (test_\w+)", source, re.MULTILINE))
    assert defined == set(ex.checks), "every check has points in exercise.yaml, and only those"


@pytest.mark.parametrize("ex,mutant", list(_mutants()))
def test_mutant_loses_points_with_the_matching_hint(ex, mutant):
    expected = re.search(r"^# expect-hint: (.+)$", mutant.read_text(), re.MULTILINE)
    assert expected, f"{mutant} needs an '# expect-hint: ...' line"
    (result,) = grade([ex], {ex.name: mutant}, **CACHED)
    assert result.score < result.max_score, _summary(result)
    assert not result.grader_faults, _summary(result)
    outputs = "\n".join(t.output for t in result.tests if t.status != "passed")
    assert expected.group(1).strip().lower() in outputs.lower(), _summary(result)


@pytest.mark.parametrize("body", ["return None", "return args[0] if args else None"], ids=["none", "echo"])
@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_code_that_computes_nothing_scores_zero(ex, body):
    # No point for a property of code that does no work: a function that computes
    # nothing leaves its inputs unchanged and raises no warning.
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ex.file
        path.write_text("".join(f"def {f}(*args, **kwargs):\n    {body}\n\n\n" for f in ex.functions))
        (result,) = grade([ex], {ex.name: path})
    assert result.score == 0, _summary(result)
    assert not result.grader_faults, _summary(result)


def test_a_requirement_must_name_a_check(tmp_path):
    import shutil

    import yaml

    from grader.exercises import ExerciseError, load_exercise

    folder = tmp_path / "ex05_softmax"
    shutil.copytree(ROOT / "exercises" / "ex05_softmax", folder, ignore=shutil.ignore_patterns("mutants"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["checks"]["test_inputs_unchanged"]["requires"] = ["test_softmax_last_axis", "test_no_such_check"]
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    with pytest.raises(ExerciseError, match="requires test_no_such_check, which is not a check"):
        load_exercise(folder)


def _graded_variant(tmp_path, ex_name, edit):
    """Grade the reference of ``ex_name`` with ``edit`` (source -> source) applied."""
    (ex,) = [e for e in EXERCISES if e.name == ex_name]
    source = (ROOT / "solutions" / ex.name / ex.file).read_text()
    changed = edit(source)
    assert changed != source, "the edit must change the reference"
    path = tmp_path / ex.file
    path.write_text(changed)
    (result,) = grade([ex], {ex.name: path})
    return result


def test_a_template_shape_assert_costs_only_the_multi_output_checks(tmp_path):
    # The deeplearning.ai notebook's own line, kept by many students: right for n_y = 1 only.
    result = _graded_variant(tmp_path, "ex04_backprop", lambda s: s.replace(
        "    return A2, {", "    assert A2.shape == (1, X.shape[1])\n    return A2, {", 1))
    lost = {t.name for t in result.tests if t.status != "passed"}
    assert lost == {"test_forward_multi_output_and_one_example", "test_backward_multi_output"}, _summary(result)
    assert not result.grader_faults


def test_only_numpy_floating_point_warnings_cost_points(tmp_path):
    # A correct softmax that also warns about other things (an unclosed resource, a
    # deprecation, its own warnings.warn) keeps every point; those warnings are only mentioned.
    noisy = ("import warnings\n\n\ndef _noise():\n"
             "    warnings.warn('unclosed socket', ResourceWarning)\n"
             "    warnings.warn('old API', DeprecationWarning)\n"
             "    warnings.warn('my own note')\n\n\n")
    result = _graded_variant(tmp_path, "ex05_softmax", lambda s: s.replace(
        "def log_softmax(z, axis=-1):\n", noisy + "def log_softmax(z, axis=-1):\n    _noise()\n", 1).replace(
        "def softmax(z, axis=-1):\n", "def softmax(z, axis=-1):\n    _noise()\n", 1))
    assert result.score == pytest.approx(result.max_score), _summary(result)
    assert any("ResourceWarning" in t.output and "not graded" in t.output for t in result.tests), _summary(result)


def test_an_object_array_of_exact_floats_scores_full_marks(tmp_path):
    # np.frompyfunc returns an array of dtype object holding Python floats: exact values are exact.
    result = _graded_variant(tmp_path, "ex01_sigmoid", lambda s: s.replace(
        "def sigmoid_derivative(z):\n",
        "_exact = sigmoid\n\n\ndef sigmoid(z):\n"
        "    values = np.frompyfunc(lambda v: float(_exact(np.float64(v))), 1, 1)(z)\n"
        "    return values if isinstance(values, np.ndarray) else float(values)\n\n\n"
        "def sigmoid_derivative(z):\n    z = np.asarray(z, dtype=np.float64)\n", 1))
    assert result.score == pytest.approx(result.max_score), _summary(result)


def test_a_point_tied_to_correct_values_says_why_it_was_not_awarded(tmp_path):
    result = _graded_variant(tmp_path, "ex02_propagate", lambda s: s.replace("    return {", "    cost = 2 * cost\n    return {", 1))
    (check,) = [t for t in result.tests if t.name == "test_inputs_unchanged"]
    assert check.score == 0 and check.kind == "requires"
    assert "this check itself passes" in check.output and "awarded once test_cost passes" in check.output


def test_a_divisibility_assert_costs_only_the_checks_of_rounding_down(tmp_path):
    # CS231n's code may assert that the stride divides the padded size; PyTorch rounds down.
    result = _graded_variant(tmp_path, "ex06_conv", lambda s: s.replace(
        "    H_out = (H + 2 * ph - KH) // sh + 1\n",
        "    assert (H + 2 * ph - KH) % sh == 0 and (W + 2 * pw - KW) % sw == 0, 'does not divide'\n"
        "    H_out = (H + 2 * ph - KH) // sh + 1\n", 1))
    lost = {t.name for t in result.tests if t.status != "passed"}
    assert lost == {"test_forward_stride", "test_output_shapes", "test_edge_cases"}, _summary(result)


def test_two_courses_with_the_same_exercise_name_grade_with_their_own_graders(tmp_path):
    """One process (a notebook kernel, a Dask worker) grading another version of the course: pytest's
    importlib mode would reuse the first course's grader module of the same name."""
    import shutil

    from grader.exercises import load_exercise

    source = ROOT / "exercises" / "ex01_sigmoid"
    for name in ("a", "b"):
        shutil.copytree(source, tmp_path / name / "exercises" / source.name, ignore=shutil.ignore_patterns(
            "mutants", "__pycache__"))
    stricter = tmp_path / "b" / "exercises" / source.name / "test_sigmoid.py"
    text = stricter.read_text()
    head = "def test_sigmoid_scalar(student, oracle, check):\n"
    assert head in text
    stricter.write_text(text.replace(head, head + "    assert False, 'the fixed grader of course b'\n"))
    reference = ROOT / "solutions" / source.name / "sigmoid.py"
    scores = []
    for name in ("a", "b", "a"):
        ex = load_exercise(tmp_path / name / "exercises" / source.name)
        (result,) = grade([ex], {ex.name: reference})
        scores.append(result.score)
    assert scores[0] == scores[2] == result.max_score and scores[1] < scores[0]
