"""Is each check of a grader able to fail? Two questions ``grader validate`` asks.

- **Tolerances**: a check compares with ``|a - e| <= atol * max|e| + rtol * |e|``.
  Looser than rtol 1e-6 / atol 1e-9 is worth a warning (float64 code is exact
  to ~1e-12; a loose tolerance lets a wrong formula through); looser than 1e-3
  fails, unless exercise.yaml gives the reason (``tolerance: {rtol: ...,
  reason: "..."}``). Read from exercise.yaml and from ``rtol=``/``atol=``
  numbers written in the grader's code.
- **Coverage**: every check must lose its points to some wrong version that
  still answers in the right form: an instructor's mutant, or one that
  :mod:`grader.wrong_versions` generates; and code that computes nothing
  (every function returning zeros, its first input, None, or raising) must
  score 0. A check marked ``lenient: <reason>`` in exercise.yaml is exempt
  (a check of shapes only, beside checks of the values, for example).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable

from grader.exercises import Exercise
from grader.results import PASSED, ExerciseResult
from grader.wrong_versions import WrongVersion, computing_nothing, per_function

STRICT = {"rtol": 1e-6, "atol": 1e-9}
LIMIT = 1e-3  # looser than this fails validation unless justified

GradeSource = Callable[[str], "tuple[ExerciseResult | None, str]"]


# -- tolerances -------------------------------------------------------------------------


def check_tolerances(ex: Exercise) -> tuple[list[str], list[str]]:
    """``(problems, warnings)`` about tolerances looser than rtol 1e-6 / atol 1e-9."""
    found = [("the exercise's tolerance (every check without its own)", "rtol", ex.rtol, ex.tolerance_reason),
             ("the exercise's tolerance (every check without its own)", "atol", ex.atol, ex.tolerance_reason)]
    for check in ex.checks.values():
        for which in ("rtol", "atol"):
            value = getattr(check, which)
            if value is not None:
                found.append((check.name, which, value, check.tolerance_reason or check.lenient))
    for where, which, value in written_tolerances(ex):
        check = ex.checks.get(where)
        reason = (check.tolerance_reason or check.lenient) if check else ex.tolerance_reason
        found.append((where if check else f"{where} (in the grader's code)", which, value, reason))
    problems, warnings = [], []
    for where, which, value, reason in found:
        if value <= STRICT[which]:
            continue
        if value > LIMIT and not reason:
            problems.append(f"{where}: {which} {value:g} is looser than {LIMIT:g} (a value off by "
                            f"{_percent(value)} passes): tighten it, or give the reason in exercise.yaml "
                            f"(tolerance: {{{which}: {value:g}, reason: ...}})")
        else:
            warnings.append(f"{where}: {which} {value:g} is looser than {STRICT[which]:g}"
                            + (f" (justified: {reason})" if reason else ""))
    return problems, warnings


def written_tolerances(ex: Exercise) -> list[tuple[str, str, float]]:
    """``(function, rtol|atol, value)`` for each number passed as ``rtol=``/``atol=`` in the grader files."""
    found = []
    for path in ex.grader_files():
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, OSError, UnicodeDecodeError):
            continue  # the other steps report a grader that does not load
        for function in (n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                for kw in call.keywords:
                    if kw.arg in STRICT and isinstance(kw.value, ast.Constant) \
                            and isinstance(kw.value.value, (int, float)):
                        found.append((function.name, kw.arg, float(kw.value.value)))
    return found


def _percent(value: float) -> str:
    return f"{100 * value:.2g}%"


# -- coverage ---------------------------------------------------------------------------


@dataclass
class WrongOutcome:
    """What grading one generated wrong version showed."""

    label: str
    kind: str
    score: float = 0.0
    max_score: float = 0.0
    lost: list[str] = field(default_factory=list)  # checks it loses points on
    scored: dict[str, float] = field(default_factory=dict)  # checks it scores on
    faults: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Coverage:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # lenient checks, accepted
    outcomes: list[WrongOutcome] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    nothing_scores: float = 0.0  # the most that code computing nothing scores, on checks not marked lenient
    lenient: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        graded = len(self.outcomes)
        checks = ("every check loses points to a wrong version" if not self.uncovered
                  else f"{len(self.uncovered)} check(s) lose points to no wrong version")
        return (f"{graded} generated wrong version{'s' if graded != 1 else ''} graded; {checks}; "
                f"code computing nothing scores {self.nothing_scores:g}"
                # Said as an exemption: "scores 0 (lenient: x)" read as if x scored and it was fine.
                + (f" on every check not marked lenient ({', '.join(self.lenient)} exempt)" if self.lenient else ""))


def lost_checks(result: ExerciseResult) -> set[str]:
    """The checks a result did not score in full."""
    return {t.name for t in result.tests if t.status != PASSED or t.score < t.max_score - 1e-9}


def check_coverage(ex: Exercise, reference: str, wrong_results: list[ExerciseResult],
                   grade_source: GradeSource, say=lambda message: None) -> Coverage:
    """Grade generated wrong versions of ``reference``; report each check that
    none of them (nor ``wrong_results``, the instructor's mutants) fails, and
    any points for code that computes nothing."""
    cov = Coverage()
    lost: dict[str, list[str]] = {}
    for result in wrong_results:
        for name in lost_checks(result):
            lost.setdefault(name, []).append("a mutant")
    lenient = {c.name: c.lenient for c in ex.checks.values() if c.lenient}
    cov.lenient = sorted(lenient)

    def grade(version: WrongVersion) -> WrongOutcome:
        say(f"{ex.name}: wrong version: {version.label.replace('`', '')}")
        outcome = WrongOutcome(version.label, version.kind)
        result, error = grade_source(version.source)
        if result is None:
            outcome.error = error
            cov.problems.append(f"{version.label}: grading failed: {error}")
        else:
            outcome.score, outcome.max_score = result.score, result.max_score
            outcome.lost = sorted(lost_checks(result))
            outcome.scored = {t.name: t.score for t in result.tests if t.score > 0}
            outcome.faults = [t.name for t in result.grader_faults]
            if outcome.faults:
                cov.problems.append(f"{version.label}: grader error(s) in {', '.join(outcome.faults)} (a check "
                                    f"must fail cleanly on a wrong answer)")
            if version.checks_values:
                for name in outcome.lost:
                    lost.setdefault(name, []).append(version.label)
        cov.outcomes.append(outcome)
        return outcome

    for version in computing_nothing(reference, ex.functions):
        outcome = grade(version)
        unjustified = {name: points for name, points in outcome.scored.items() if name not in lenient}
        cov.nothing_scores = max(cov.nothing_scores, sum(unjustified.values()))
        if unjustified:
            cov.problems.append(
                f"code that computes nothing ({version.label}) scores {outcome.score:g} / {outcome.max_score:g}: "
                + ", ".join(f"{name} {points:g}" for name, points in sorted(unjustified.items()))
                + " (mark a check `lenient: <reason>` in exercise.yaml if that is deliberate)")
    # One function at a time, only as long as some check has lost to nothing yet.
    for version in per_function(reference, ex.functions):
        if all(name in lost or name in lenient for name in ex.checks):
            break
        grade(version)
    for name in ex.checks:
        if name in lost:
            continue
        if name in lenient:
            cov.notes.append(f"{name}: no wrong version loses this check's points (lenient: {lenient[name]})")
        else:
            cov.uncovered.append(name)
            cov.problems.append(f"{name}: no wrong version loses this check's points (none of the mutants, "
                                f"nor wrong code returning zeros, its first input, or one value zeroed): "
                                f"test the values, add a mutant it catches, or mark it `lenient: <reason>`")
    return cov
