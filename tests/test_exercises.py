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


def _mutants():
    for ex in EXERCISES:
        for path in sorted((ex.path / "mutants").glob("*.py")):
            yield pytest.param(ex, path, id=f"{ex.name}-{path.stem}")


def _summary(result) -> str:
    return "\n".join(f"{t.name}: {t.status} {t.score}/{t.max_score}\n{t.output}" for t in result.tests)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_reference_scores_full_marks(ex):
    reference = ROOT / "solutions" / ex.name / ex.file
    (result,) = grade([ex], {ex.name: reference})
    assert result.max_score == pytest.approx(ex.max_score) and result.max_score > 0
    assert result.score == pytest.approx(result.max_score), _summary(result)


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_stub_scores_zero_without_grader_errors(ex):
    (result,) = grade([ex], {ex.name: ex.student_file})
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
    (result,) = grade([ex], {ex.name: mutant})
    assert result.score < result.max_score, _summary(result)
    assert not result.grader_faults, _summary(result)
    outputs = "\n".join(t.output for t in result.tests if t.status != "passed")
    assert expected.group(1).strip().lower() in outputs.lower(), _summary(result)
