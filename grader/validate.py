"""`grader validate`: is an exercise's grader fit to grade students?

For one exercise, in this process (``grader.grading.grade``, many times):

- **metadata**: every ``test_*`` function of the grader has an entry under
  ``checks`` in exercise.yaml, and only those; hidden checks (``hidden: true``)
  live in ``test_*_hidden.py`` files and those files hold only hidden checks;
  the stub and the reference define every graded function; there are at least
  ``min_mutants`` mutants.
- **reference**: ``solutions/EX/<file>`` scores full marks, without a grader
  error, on several seeds. The oracle runs on every device present (CPU, and
  CUDA where there is one) and the student's values are compared with each
  device's, so full marks means full marks on every device.
- **stub**: the untouched stub scores 0, without a grader error, and every
  failed check says why.
- **mutants**: every ``mutants/*.py`` loses points (the fraction that does is
  the grader's *strength*), without a grader error, and gets the hint its
  ``# expect-hint: <text>`` line names (case-insensitive substring of the
  failed checks' feedback).
- **tolerances**: none looser than 1e-3 unless exercise.yaml says why
  (looser than rtol 1e-6 / atol 1e-9: a warning); see :mod:`grader.strength`.
- **coverage**: wrong code generated from the reference (zeros, the first
  input, one value zeroed, None, raising; :mod:`grader.wrong_versions`) is
  graded too: every check must lose points to some wrong version, and code
  that computes nothing must score 0, unless the check is marked
  ``lenient: <reason>``.
- **determinism**: grading the reference and one failing submission again
  with the same seed gives identical scores, statuses and feedback (measured
  times and timing ratios in the feedback are masked).

Warnings (not failures): a mutant without ``# expect-hint:``, a missing
README, ``TODO(grader new)`` placeholders left from ``grader new``.

``check_mutant`` is the single definition of "a mutant is caught", shared with
the framework's tests.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.exercises import Exercise
from grader.results import PASSED, ExerciseResult
from grader.strength import check_coverage, check_tolerances

EXPECT_HINT = re.compile(r"^# expect-hint: (.+)$", re.MULTILINE)
HIDDEN_FILE_SUFFIX = "_hidden"  # test_<name>_hidden.py holds the hidden checks
PLACEHOLDER = "TODO(grader new)"
DEFAULT_MIN_MUTANTS = 4
_TEST_DEF = re.compile(r"^def (test_\w+)", re.MULTILINE)
# Measured durations and speed ratios in feedback ("0.0123 s", "1.7x") vary run to run.
_TIMING = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?(?=\s?s\b|x\b)")


# -- helpers shared with the framework's tests -----------------------------------------


def expected_hint(mutant: Path) -> str | None:
    """The text of a mutant's ``# expect-hint:`` line, or None."""
    match = EXPECT_HINT.search(mutant.read_text())
    return match.group(1).strip() if match else None


def mutant_paths(ex: Exercise) -> list[Path]:
    return sorted((ex.path / "mutants").glob("*.py"))


def reference_path(ex: Exercise, root: Path) -> Path:
    return root / "solutions" / ex.name / ex.file


def summary(result: ExerciseResult) -> str:
    """Every check of a result with its status, points and feedback (for failure messages)."""
    return "\n".join(f"{t.name}: {t.status} {t.score:g}/{t.max_score:g}\n{t.output}" for t in result.tests)


def defined_checks(ex: Exercise) -> dict[str, list[str]]:
    """``{grader file name: [test function names]}``."""
    return {p.name: _TEST_DEF.findall(p.read_text()) for p in ex.grader_files()}


def is_hidden_file(path: Path | str) -> bool:
    """Whether a grader file holds hidden checks: ``test_<name>_hidden.py``."""
    path = Path(path)
    return path.name.startswith("test_") and path.suffix == ".py" and path.stem.endswith(HIDDEN_FILE_SUFFIX)


@dataclass
class MutantOutcome:
    """What grading one mutant showed."""

    name: str
    expected_hint: str | None
    score: float = 0.0
    max_score: float = 0.0
    caught: bool = False  # lost points
    hint_found: bool | None = None  # None: the mutant names no hint
    faults: list[str] = field(default_factory=list)
    error: str = ""  # grading could not run at all
    details: str = ""
    result: ExerciseResult | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.caught and not self.faults and not self.error and self.hint_found is not False

    def problem(self) -> str:
        if self.error:
            return f"grading failed: {self.error}"
        if self.faults:
            return "grader error(s): " + "; ".join(self.faults)
        if not self.caught:
            return f"not caught: it scores full marks ({self.score:g} / {self.max_score:g})"
        if self.hint_found is False:
            return f"loses points ({self.score:g} / {self.max_score:g}) but without the hint {self.expected_hint!r}"
        return ""


def check_mutant(ex: Exercise, mutant: Path, seed: int | None = None) -> MutantOutcome:
    """Grade ``mutant`` and say whether the grader catches it with the expected hint."""
    outcome = MutantOutcome(mutant.stem, expected_hint(mutant))
    result, error = _grade(ex, mutant, seed)
    if result is None:
        outcome.error = error
        return outcome
    outcome.score, outcome.max_score = result.score, result.max_score
    outcome.caught = result.score < result.max_score
    outcome.faults = [f"{t.name}: {t.output.splitlines()[0] if t.output else 'error'}" for t in result.grader_faults]
    if outcome.expected_hint is not None:
        feedback = "\n".join(t.output for t in result.tests if t.status != PASSED)
        outcome.hint_found = outcome.expected_hint.lower() in feedback.lower()
    outcome.details = summary(result)
    outcome.result = result
    return outcome


# -- validation of an exercise --------------------------------------------------------------


@dataclass
class Step:
    name: str
    ok: bool
    message: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Validation:
    exercise: str
    title: str
    steps: list[Step] = field(default_factory=list)
    mutants: list[MutantOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    grading_seconds: float = 0.0  # one grading of the reference (the time a student waits)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def caught(self) -> int:
        return sum(m.caught for m in self.mutants)

    @property
    def strength(self) -> float | None:
        """The fraction of mutants that lose points."""
        return self.caught / len(self.mutants) if self.mutants else None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"], data["strength"] = self.ok, self.strength
        for m, outcome in zip(data["mutants"], self.mutants):
            m["ok"] = outcome.ok
            m.pop("details")
            m.pop("result")
        return data


def _grade(ex: Exercise, submission: Path, seed: int | None) -> tuple[ExerciseResult | None, str]:
    from grader.grading import GraderFault, grade

    try:
        results = grade([ex], {ex.name: submission}, seed=seed)
    except GraderFault as exc:
        return None, str(exc) + _syntax_errors(ex)
    except Exception as exc:  # a broken grader file, a bad fixture: report, go on
        return None, f"{type(exc).__name__}: {exc}"
    if not results:
        return None, "no result (did the grader collect any check?)"
    return results[0], ""


def _grade_source(ex: Exercise, source: str, seed: int | None) -> tuple[ExerciseResult | None, str]:
    """Grade a module given as source (a generated wrong version)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="grader-validate-"))
    try:
        (folder / ex.file).write_text(source)
        # A capstone's reference imports the references of the exercises it uses: beside it too.
        from grader.submission import companion_sources

        for path in companion_sources(reference_path(ex, ex.path.parent.parent), ex).values():
            shutil.copyfile(path, folder / path.name)
        return _grade(ex, folder / ex.file, seed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _syntax_errors(ex: Exercise) -> str:
    """Why a grader file cannot even be imported, when that is why grading failed."""
    found = []
    for path in ex.grader_files():
        try:
            compile(path.read_text(), str(path), "exec")
        except SyntaxError as exc:
            found.append(f"{path.name} line {exc.lineno}: SyntaxError: {exc.msg}")
    return ("; " + "; ".join(found)) if found else f" (pytest {ex.path} shows why)"


def _fingerprint(result: ExerciseResult) -> list[tuple]:
    return [(t.name, t.status, round(t.score, 9), _TIMING.sub("#", t.output)) for t in result.tests]


def _first_difference(a: ExerciseResult, b: ExerciseResult) -> str:
    fa, fb = _fingerprint(a), _fingerprint(b)
    if len(fa) != len(fb):
        return f"{len(fa)} checks the first time, {len(fb)} the second"
    for x, y in zip(fa, fb):
        if x != y:
            what = "status/score" if x[:3] != y[:3] else "feedback"
            return f"{x[0]}: the {what} differs ({x[1]} {x[2]:g} vs {y[1]} {y[2]:g})"
    return ""


def check_metadata(ex: Exercise, root: Path, min_mutants: int = DEFAULT_MIN_MUTANTS) -> tuple[list[str], list[str]]:
    """(problems, warnings) about the exercise's files and metadata."""
    from grader.submission import defined_functions

    problems, warnings = [], []
    by_file = defined_checks(ex)
    if not by_file:
        problems.append("no grader (test_*.py) in the exercise folder")
    defined = [name for names in by_file.values() for name in names]
    duplicates = sorted({n for n in defined if defined.count(n) > 1})
    if duplicates:
        problems.append(f"check(s) defined more than once: {', '.join(duplicates)}")
    missing = sorted(set(defined) - set(ex.checks))
    extra = sorted(set(ex.checks) - set(defined))
    if missing:
        problems.append(f"check(s) without an entry in exercise.yaml: {', '.join(missing)}")
    if extra:
        problems.append(f"exercise.yaml lists check(s) the grader does not define: {', '.join(extra)}")
    for file, names in by_file.items():
        for name in names:
            check = ex.checks.get(name)
            if check is None:
                continue
            if check.hidden and not is_hidden_file(file):
                problems.append(f"{name} is hidden: true but lives in {file}; hidden checks go in "
                                f"test_*{HIDDEN_FILE_SUFFIX}.py (the release leaves those files out)")
            if not check.hidden and is_hidden_file(file):
                problems.append(f"{name} lives in {file} but is not marked hidden: true in exercise.yaml")
    for check in ex.checks.values():
        if check.points <= 0:
            problems.append(f"{check.name} is worth {check.points:g} points")
    if not ex.functions:
        problems.append("exercise.yaml lists no graded functions (functions: [...])")
    reference = reference_path(ex, root)
    for label, path in (("the stub", ex.student_file), ("the reference", reference)):
        if not path.is_file():
            problems.append(f"{label} {path} is missing")
            continue
        absent = [f for f in ex.functions if f not in defined_functions(path.read_text())]
        if absent:
            problems.append(f"{label} ({path.name}) does not define {', '.join(absent)}")
    mutants = mutant_paths(ex)
    if len(mutants) < min_mutants:
        problems.append(f"{len(mutants)} mutant(s) in mutants/, at least {min_mutants} wanted")
    for mutant in mutants:
        if expected_hint(mutant) is None:
            warnings.append(f"mutant {mutant.name} has no '# expect-hint: ...' line: its hint is not checked")
    if not (ex.path / "README.md").is_file():
        warnings.append("no README.md in the exercise folder")
    leftovers = [_short(p, ex.path.parent.parent) for p in [*ex.path.rglob("*"), reference]
                 if p.is_file() and p.suffix in {".py", ".md", ".yaml"} and PLACEHOLDER in _read(p)]
    if leftovers:
        warnings.append(f"{PLACEHOLDER} placeholders left in: {', '.join(sorted(set(leftovers)))}")
    return problems, warnings


def _short(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return ""


def validate_exercise(ex: Exercise, root: Path, seeds: list[int], min_mutants: int = DEFAULT_MIN_MUTANTS,
                      progress=None) -> Validation:
    """Run every validation step on ``ex``; see the module docstring."""
    started = time.perf_counter()
    v = Validation(ex.name, ex.title, seeds=[getattr(s, "shown", s) for s in seeds])
    say = progress or (lambda message: None)

    def step(name: str, problems: list[str], message: str, since: float) -> None:
        v.steps.append(Step(name, not problems, message, problems, round(time.perf_counter() - since, 3)))

    # metadata
    t = time.perf_counter()
    problems, v.warnings = check_metadata(ex, root, min_mutants)
    hidden = [c for c in ex.checks.values() if c.hidden]
    step("metadata", problems, f"{len(ex.checks)} check{'s' if len(ex.checks) != 1 else ''} ({len(hidden)} hidden), {ex.max_score:g} points, "
                               f"{len(mutant_paths(ex))} mutants", t)

    # reference, on every seed
    t = time.perf_counter()
    reference = reference_path(ex, root)
    problems, first_reference, scores = [], None, []
    if reference.is_file():
        for seed in seeds:
            say(f"{ex.name}: reference, seed {seed}")
            result, error = _grade(ex, reference, seed)
            if result is None:
                problems.append(f"seed {seed}: grading failed: {error}")
                continue
            first_reference = first_reference or result
            v.devices = result.devices
            scores.append(f"{result.score:g}")
            if result.grader_faults:
                problems.append(f"seed {seed}: grader error(s) in "
                                + ", ".join(t.name for t in result.grader_faults) + "\n" + summary(result))
            elif abs(result.max_score - ex.max_score) > 1e-9:
                problems.append(f"seed {seed}: the checks add up to {result.max_score:g} points, "
                                f"exercise.yaml to {ex.max_score:g}")
            elif result.score < result.max_score - 1e-9:
                failed = [t for t in result.tests if t.status != PASSED]
                problems.append(f"seed {seed}: {result.score:g} / {result.max_score:g}; failed: "
                                + "; ".join(f"{t.name}: {t.output}" for t in failed))
        if first_reference is not None:
            v.grading_seconds = first_reference.seconds
    else:
        problems.append(f"no reference at {reference}")
    step("reference", problems,
         f"{' / '.join(scores) or '-'} of {ex.max_score:g} on seeds {', '.join(map(str, seeds))} "
         f"(devices: {', '.join(v.devices) or '?'})", t)

    # stub
    t = time.perf_counter()
    say(f"{ex.name}: stub")
    stub, error = _grade(ex, ex.student_file, seeds[0])
    problems = []
    if stub is None:
        problems.append(f"grading failed: {error}")
        message = "not graded"
    else:
        message = f"{stub.score:g} / {stub.max_score:g}"
        if stub.score != 0:
            problems.append("the stub scores points:\n" + summary(stub))
        if stub.grader_faults:
            problems.append("grader error(s) on the stub (a check must fail cleanly on NotImplementedError): "
                            + ", ".join(t.name for t in stub.grader_faults) + "\n" + summary(stub))
        silent = [t.name for t in stub.tests if t.status != PASSED and not t.output]
        if silent:
            problems.append(f"failed check(s) without feedback: {', '.join(silent)}")
    step("stub", problems, message, t)

    # mutants
    t = time.perf_counter()
    problems = []
    for mutant in mutant_paths(ex):
        say(f"{ex.name}: mutant {mutant.stem}")
        outcome = check_mutant(ex, mutant, seeds[0])
        v.mutants.append(outcome)
        if not outcome.ok:
            problems.append(f"{outcome.name}: {outcome.problem()}")
    with_hint = sum(m.hint_found is True for m in v.mutants)
    message = (f"{v.caught} / {len(v.mutants)} caught (strength {100 * v.strength:.0f}%), "
               f"{with_hint} / {sum(m.expected_hint is not None for m in v.mutants)} with their hint"
               if v.mutants else "none")
    step("mutants", problems, message, t)

    # tolerances and coverage: can each check fail?
    t = time.perf_counter()
    problems, warnings = check_tolerances(ex)
    v.warnings += warnings
    step("tolerances", problems, (f"{len(problems)} looser than 1e-3" if problems else "none looser than 1e-3")
         + (f"; {len(warnings)} looser than rtol 1e-6 / atol 1e-9" if warnings else ""), t)
    t = time.perf_counter()
    if reference.is_file():
        coverage = check_coverage(ex, reference.read_text(), [m.result for m in v.mutants if m.result],
                                  lambda source: _grade_source(ex, source, seeds[0]), say)
        v.warnings += coverage.notes
        step("coverage", coverage.problems, coverage.message, t)

    # determinism: the same seed twice
    t = time.perf_counter()
    problems = []
    say(f"{ex.name}: determinism")
    pairs = []
    if first_reference is not None:
        pairs.append(("reference", reference, first_reference))
    failing = next((m for m in v.mutants if m.result is not None), None)
    if failing is not None:
        pairs.append((f"mutant {failing.name}", ex.path / "mutants" / f"{failing.name}.py", failing.result))
    elif stub is not None:
        pairs.append(("stub", ex.student_file, stub))
    for label, path, before in pairs:
        after, error = _grade(ex, path, seeds[0])
        if after is None:
            problems.append(f"{label}: grading failed the second time: {error}")
            continue
        diff = _first_difference(before, after)
        if diff:
            problems.append(f"{label}, seed {seeds[0]} twice: {diff}")
    step("determinism", problems, f"seed {seeds[0]} twice: "
         + (", ".join(label for label, _, _ in pairs) or "nothing graded") + (" identical" if pairs else ""), t)

    v.seconds = round(time.perf_counter() - started, 3)
    return v


# -- reports ------------------------------------------------------------------------


def format_text(v: Validation, verbose: bool = False) -> str:
    lines = [f"{v.exercise}: {v.title}"]
    for s in v.steps:
        lines.append(f"  {'ok  ' if s.ok else 'FAIL'}  {s.name:<12} {s.message}")
        for problem in s.problems:
            text = problem if verbose else _first_lines(problem, 12)
            lines.extend("          " + line for line in text.splitlines())
        if s.name == "mutants" and v.mutants:
            width = max(len(m.name) for m in v.mutants)
            for m in v.mutants:
                hint = {True: "hint ok", False: "hint MISSING", None: "no expect-hint"}[m.hint_found]
                mark = "ERROR" if m.error else "caught" if m.caught else "NOT CAUGHT"
                hint = "" if m.error else hint
                lines.append(f"          {m.name:<{width}}  {m.score:>6g} / {m.max_score:<6g} {mark:<10}  {hint}")
    for warning in v.warnings:
        lines.append(f"  warn  {warning}")
    lines.append(f"  time: {v.seconds:.1f} s to validate; one grading of the reference {v.grading_seconds:.2f} s")
    lines.append(f"  {'PASS' if v.ok else 'FAIL'}")
    return "\n".join(lines)


def _first_lines(text: str, n: int) -> str:
    lines = text.splitlines()
    return "\n".join(lines[:n] + ([f"... ({len(lines) - n} more lines; --verbose shows all)"] if len(lines) > n else []))


def format_summary(validations: list[Validation], seconds: float) -> str:
    passed = sum(v.ok for v in validations)
    mutants = sum(len(v.mutants) for v in validations)
    caught = sum(v.caught for v in validations)
    lines = ["", f"{'exercise':<18} {'result':<6} {'strength':>9} {'time':>8}"]
    for v in validations:
        strength = f"{100 * v.strength:.0f}%" if v.strength is not None else "-"
        lines.append(f"{v.exercise:<18} {'PASS' if v.ok else 'FAIL':<6} {strength:>9} {v.seconds:>7.1f}s")
    pct = f" ({100 * caught / mutants:.0f}%)" if mutants else ""
    lines.append(f"{passed} / {len(validations)} exercise(s) valid; mutants caught {caught} / {mutants}{pct}; "
                 f"{seconds:.1f} s")
    return "\n".join(lines)


def to_json(validations: list[Validation], seconds: float) -> str:
    return json.dumps({
        "ok": all(v.ok for v in validations),
        "seconds": round(seconds, 3),
        "exercises": [v.to_dict() for v in validations],
    }, indent=2)
