"""The pytest plugin: fixtures for exercise graders, and scoring.

Loaded through the ``pytest11`` entry point, so ``pytest exercises/ex01_sigmoid``
grades the student's file and prints the score; ``grader check`` runs the same
tests in-process and reads the results from :class:`GradingSession`.

Fixtures for a grader (``test_*.py`` in an exercise folder):

- ``student``: the student's module, running in a sandbox process;
  ``student.sigmoid(z)`` returns the value, ``student.call(...)`` the full
  :class:`~grader.sandbox.client.CallResult`.
- ``oracle``: PyTorch in float64 on every device (:class:`~grader.oracle.Oracle`).
- ``check``: comparisons with the exercise's tolerances and actionable messages.
- ``rng``: a NumPy generator seeded from the grading seed and the test's name.
- ``exercise``: the exercise's metadata.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import compare, crash_hints
from grader.exercises import METADATA, Exercise, load_exercise
from grader.results import ERROR, FAILED, PASSED, CheckResult, ExerciseResult
from grader.sandbox.client import CallResult, Sandbox, StudentError
from grader.seed import DEFAULT_SEED, Seed, as_seed, seed_from_env  # noqa: F401 (seed_from_env: re-exported)
from grader.submission import SubmissionError, prepare_submission
from grader.text import sanitize

class Student:
    """The student's module as the grader sees it: every call crosses into the sandbox."""

    def __init__(self, sandbox: Sandbox, called: list[str] | None = None,
                 signatures: dict[str, tuple[str, ...]] | None = None):
        self._sandbox = sandbox
        # The student's functions this check called, in order: the last one is
        # the one a failure is about (CI annotations point at its ``def``).
        self._called = called if called is not None else []
        self._signatures = signatures or {}

    def call(self, func: str, *args: Any, **kwargs: Any) -> CallResult:
        self._called.append(func)
        try:
            return self._sandbox.call(func, *args, **kwargs)
        except StudentError as exc:
            if exc.kind != "exception":
                raise
            # A crash says which call crashed, and names a typical cause when it has one.
            named = crash_hints.bind(self._signatures.get(func, ()), args, kwargs)
            lines = [exc.cause, "Call: " + crash_hints.call_line(func, named)]
            for said, hint in crash_hints.hints(named, exc.cause):
                lines += ([said] if said else []) + [f"Hint: {hint}"]
            raise StudentError("\n".join(lines), exc.details, kind=exc.kind) from None

    def store(self, value: Any):
        return self._sandbox.store(value)

    def frozen(self):
        """The student's processes stopped while the block runs (to time a baseline undisturbed)."""
        return self._sandbox.frozen()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs).value


class Checker:
    """``compare`` bound to the current check's tolerances."""

    def __init__(self, rtol: float, atol: float, notes: list | None = None, curves: list | None = None):
        self.rtol, self.atol = rtol, atol
        self.notes = notes if notes is not None else []
        self.curves = curves if curves is not None else []

    def _tol(self, kwargs: dict) -> dict:
        kwargs.setdefault("rtol", self.rtol)
        kwargs.setdefault("atol", self.atol)
        return kwargs

    def close(self, actual, expected, what: str, **kwargs) -> None:
        compare.check_close(actual, expected, what, **self._tol(kwargs))

    def scalar(self, actual, expected, what: str, **kwargs) -> float:
        return compare.check_scalar(actual, expected, what, **self._tol(kwargs))

    def as_scalar(self, actual, what: str) -> float:
        """The student's scalar as a float, or a failure saying why it is not one."""
        return compare.as_scalar(actual, what)

    def floats(self, actual, what: str) -> np.ndarray:
        """The student's numbers as a float64 array, or a failure saying why they are not numbers."""
        return compare.as_floats(actual, what)

    def keys(self, actual, keys, what: str) -> dict:
        return compare.check_keys(actual, keys, what)

    def tuple(self, actual, n: int, what: str) -> tuple:
        return compare.check_tuple(actual, n, what)

    def note(self, message: str) -> None:
        """Feedback shown with the check even when it passes (a timing ratio, say)."""
        self.notes.append(message)

    def curve(self, title: str, series, x_label: str = "step", y_label: str = "loss") -> bool:
        """Attach a small numeric series to the check's result, shown whether it passes or fails:
        ``check.curve("loss per step", {"yours": losses, "torch.optim.Adam": theirs})``.

        The notebook's HTML report and the class report draw it as a line chart; the JSON
        reports carry it; the terminal shows nothing of it (add a :meth:`note` for that).
        The values may be the student's (untrusted): they are cleaned here (see
        :mod:`grader.curves`: at most 4 series of at most 500 points, non-finite values
        as gaps, huge ones clipped), a series that is not numbers is dropped, and this
        never raises. Returns whether a curve was attached."""
        from grader.curves import MAX_CURVES, make_curve

        if len(self.curves) >= MAX_CURVES:
            return False
        made = make_curve(title, series, x_label, y_label)
        if made is not None:
            self.curves.append(made)
        return made is not None

    def fail(self, message: str):
        raise compare.GradingFailure(message)

    def no_mutation(self, result: CallResult, what: str, names: list[str] | None = None,
                    ignore: tuple = (), advice: str | None = None) -> None:
        """Fail if the call modified any of its array arguments in place.

        ``ignore`` lists argument positions or names that may change (a cache)."""
        where = []
        for position, key in result.mutated:
            arg = names[position] if names and isinstance(position, int) and position < len(names) else position
            if position in ignore or arg in ignore:
                continue
            where.append(f"{arg}[{key!r}]" if key is not None else str(arg))
        if where:
            raise compare.GradingFailure(
                f"{what} modified its input(s) in place: {', '.join(where)}. Graded functions must "
                f"not change their arguments: " + (advice or "compute new arrays (`w = w - lr * dw`, "
                "not `w -= lr * dw`), or work on a copy (`x = x.copy()`)"))

    def no_warnings(self, result: CallResult, what: str) -> None:
        """Fail on NumPy's floating-point warnings (overflow, invalid value, divide by zero):
        those are the student's numerical fault. Any other warning (a ResourceWarning, a
        DeprecationWarning, the student's own warnings.warn) costs nothing; it is only mentioned."""
        numeric = [w for w in result.warnings if _FLOAT_WARNING.match(w)]
        others = [w for w in result.warnings if not _FLOAT_WARNING.match(w)]
        if others:
            self.note(f"{what} also raised other warning(s), not graded: {'; '.join(others[:3])}")
        if numeric:
            hints = [hint for word, hint in _FLOAT_WARNING_HINTS if any(word in w for w in numeric)]
            raise compare.GradingFailure(
                f"{what} raised NumPy floating-point warning(s): {'; '.join(numeric[:3])}\n"
                f"Hint: " + " ".join(hints))


# NumPy's floating-point error messages ("overflow encountered in exp", ...), as the worker reports them.
_FLOAT_WARNING = re.compile(r"^RuntimeWarning: (overflow|invalid value|divide by zero) encountered")
_FLOAT_WARNING_HINTS = [
    ("overflow", "An overflow warning means an intermediate value was too large: rewrite the formula "
                 "so that np.exp never sees a large positive number."),
    ("divide by zero", "A divide-by-zero warning usually means log(0) or x / 0: an exponential that "
                       "underflowed to 0 before a log or a division?"),
    ("invalid value", "An invalid-value warning means a NaN was made (inf - inf, 0 / 0, inf * 0): "
                      "an intermediate that overflowed, or a mean or max over an empty slice?"),
]


class GradingSession:
    """Collects check results per exercise; owns the sandboxes and the oracle."""

    def __init__(self, seed: int | str | Seed | None = None, submissions: dict[str, Path] | None = None):
        # See grader.seed: an int is public, text (from a secret's store) is secret.
        self.seed = as_seed(seed) if seed is not None else None
        self.submissions = dict(submissions or {})
        self.results: dict[str, ExerciseResult] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self.stand_ins: dict[str, Any] = {}  # a capstone's grader.capstone.StandIns, by exercise
        self.usage_errors: list[str] = []
        self._oracle = None
        # Set by grading.grade(use_cache=True): the oracle's results replayed from there.
        self.oracle_store = None
        self.verify_cache = False
        self._cached_oracles: dict[str, Any] = {}
        self._exercises: dict[Path, Exercise] = {}
        self._points: dict[str, float] = {}
        self._elapsed: dict[str, float] = {}  # exercise -> seconds spent in its own checks
        self.started = time.perf_counter()
        self._tmp_dirs: list[Path] = []

    # -- set-up ---------------------------------------------------------------

    def exercise_for(self, path: Path) -> Exercise | None:
        folder = path if path.is_dir() else path.parent
        if folder not in self._exercises:
            self._exercises[folder] = load_exercise(folder) if (folder / METADATA).exists() else None
        return self._exercises[folder]

    def sandbox(self, ex: Exercise) -> Sandbox:
        if ex.name not in self.sandboxes:
            source = self.submissions.get(ex.name, ex.student_file)
            prepared = prepare_submission(Path(source), ex)
            self._tmp_dirs.extend(prepared.cleanup)
            if prepared.source is not None:  # the file the rule chose (the notebook beside the stub, say)
                self._result_for(ex).submission = str(prepared.source)
            companions = self._capstone_companions(ex, prepared.companions)
            self.sandboxes[ex.name] = Sandbox(prepared.path, ex.module, ex.limits, ex.forbidden,
                                              display_name=prepared.display_name, companions=companions)
            if ex.name in self.stand_ins:
                self.sandboxes[ex.name].callback = self.stand_ins[ex.name].answer
        return self.sandboxes[ex.name]

    def _capstone_companions(self, ex: Exercise, companions: dict[str, Path]) -> dict[str, Path]:
        """A capstone's companions (the student's modules of earlier exercises), with a
        stand-in for each layer that fails its quick check (see grader.capstone)."""
        if not companions:
            return companions
        import dataclasses

        from grader.capstone import prepare

        limits = dataclasses.replace(ex.limits, call_seconds=min(ex.limits.call_seconds, 10.0),
                                     total_seconds=min(ex.limits.total_seconds, 60.0))
        rng = (self.seed or as_seed(DEFAULT_SEED)).generator(f"{ex.name}: the layers")
        stand_ins, companions, tmp = prepare(companions, limits, ex.forbidden, self.oracle_for(ex), rng)
        if tmp is not None:
            self._tmp_dirs.append(tmp)
        self.stand_ins[ex.name] = stand_ins
        return companions

    @property
    def oracle(self):
        if self._oracle is None:
            from grader.oracle import Oracle

            self._oracle = Oracle()
        return self._oracle

    def oracle_for(self, ex: Exercise):
        """The oracle a check of ``ex`` asks: the real one, or one that replays
        cached results and asks the real one (importing torch) for the rest."""
        if self.oracle_store is None:
            return self.oracle
        if ex.name not in self._cached_oracles:
            from grader.oraclecache import CachedOracle, exercise_digest

            self._cached_oracles[ex.name] = CachedOracle(self.oracle_store, exercise_digest(ex, self.seed),
                                                         lambda: self.oracle, verify=self.verify_cache)
        return self._cached_oracles[ex.name]

    def close(self) -> None:
        import shutil

        for sandbox in self.sandboxes.values():
            sandbox.close()
        self.sandboxes.clear()
        for path in self._tmp_dirs:
            shutil.rmtree(path, ignore_errors=True)

    # -- pytest hooks -----------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection(self, session):
        # With the oracle's cache, graders import stand-ins for torch (they name
        # torch functions; none is imported for a cached answer). Only while
        # they are imported: torch's own code, once loaded, must see torch.
        if self.oracle_store is None:
            yield
            return
        from grader.lazytorch import stand_ins

        with stand_ins():
            yield

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        counts: dict[tuple, int] = {}
        for item in items:
            ex = self.exercise_for(item.path)
            if ex is not None:
                key = (ex.name, _check_name(item))
                counts[key] = counts.get(key, 0) + 1
                item.repr_failure = _short_repr_failure(item.repr_failure)
        for item in items:
            ex = self.exercise_for(item.path)
            if ex is None:
                continue
            name = _check_name(item)
            check = ex.checks.get(name)
            points = check.points if check else 1.0
            self._points[item.nodeid] = points / counts[(ex.name, name)]
            self._result_for(ex)

    def _result_for(self, ex: Exercise) -> ExerciseResult:
        if ex.name not in self.results:
            self.results[ex.name] = ExerciseResult(
                exercise=ex.name, title=ex.title, score=0.0, max_score=0.0,
                seed=(self.seed or Seed.public(DEFAULT_SEED)).shown, devices=[],
                submission=str(self.submissions.get(ex.name, ex.student_file)),
            )
        return self.results[ex.name]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        ex = self.exercise_for(item.path)
        if ex is None:
            return
        # An exercise's time is that of its own checks: set-up, call and tear-down.
        self._elapsed[ex.name] = self._elapsed.get(ex.name, 0.0) + call.duration
        if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
            exc = call.excinfo.value if call.excinfo else None
            hints: list[str] = []
            if report.outcome == "passed":
                status, output, kind = PASSED, "\n".join(_notes(item)), ""
            elif report.outcome == "skipped":
                status, output, kind = FAILED, f"skipped: {_skip_reason(report)}", "skipped"
            elif isinstance(exc, StudentError):
                status, output, kind = FAILED, str(exc), exc.kind
                # The cause is the grader's (with one-line fragments of the student's);
                # the details are the student's own text, quoted: never a hint.
                hints = _hints(exc.cause) if exc.kind != "submission" else []
            elif isinstance(exc, compare.GradingFailure):
                status, output, kind = FAILED, str(exc), getattr(exc, "kind", "mismatch")
                hints = _hints(str(exc))
            else:
                status, kind = ERROR, "grader"
                output = (f"internal error in the grader (not your fault; please report it): "
                          f"{type(exc).__name__}: {exc}" if exc else "internal error in the grader")
            name = _check_name(item)
            check = ex.checks.get(name)
            earlier = self._result_for(ex).tests
            if kind == "import":
                # A file that cannot be imported (a syntax error...) fails every check the same way: say it once.
                first = next((t for t in earlier if t.kind == kind), None)
                if first is not None:
                    output = f"not run: {ex.file} could not be imported (the feedback of {first.name} says why)"
                    hints = []
            elif status == FAILED and isinstance(exc, StudentError) and exc.kind == "exception" \
                    and check is not None and check.requires:
                failing = _failing(earlier, check.requires)
                if failing:
                    # A property check that crashes as the checks it goes with fail: name those.
                    kind = "requires"
                    output = (f"{exc.cause}\nNote: this check{_said(check.description)} goes with correct values: "
                              f"its point is awarded once {_names(failing)} "
                              f"{'passes' if len(failing) == 1 else 'pass'}, and "
                              f"{'it fails' if len(failing) == 1 else 'they fail'} too"
                              + (f"\n{exc.details}" if exc.details else ""))
            if status == PASSED and check is not None and check.requires:
                outcomes: dict[str, list[bool]] = {}  # check -> passed, for each of its parametrized runs
                for t in self._result_for(ex).tests:
                    outcomes.setdefault(t.name.split("[")[0], []).append(t.status == PASSED)
                missing = [r for r in check.requires if not outcomes.get(r) or not all(outcomes[r])]
                if missing:
                    status, kind = FAILED, "requires"
                    output = requires_message(check.description, missing) + (f"\n{output}" if output else "")
            # Student text reaches the feedback by many routes (messages, type and
            # class names, reprs of exit codes, ...): defuse it all once, here.
            output = sanitize(output, 20000)
            if report.outcome != "passed" and isinstance(exc, (StudentError, compare.GradingFailure)):
                report.longrepr = output
            points = self._points.get(item.nodeid, 1.0)
            called = item.stash.get(_CALLED, None)
            result = self._result_for(ex)
            label = name if item.name == name else item.name
            curves = [value for key, value in item.user_properties if key == "grader-curve"]
            result.tests.append(CheckResult(
                name=label,
                score=points if status == PASSED else 0.0,
                max_score=points,
                status=status,
                output=output,
                description=check.description if check else "",
                seconds=round(call.duration, 4),
                hidden=check.hidden if check else False,
                kind=kind,
                function=called[-1] if called else "",
                hints=hints,
                curves=curves,
            ))

    def pytest_sessionfinish(self, session):
        from grader.results import versions

        for name, result in self.results.items():
            result.score = sum(t.score for t in result.tests)
            result.max_score = sum(t.max_score for t in result.tests)
            result.seconds = round(self._elapsed.get(name, 0.0), 3)
            result.run_seconds = round(time.perf_counter() - self.started, 3)
            if name in self._cached_oracles:
                result.devices = self._cached_oracles[name].device_names
            elif self._oracle is not None:
                result.devices = self._oracle.device_names
            else:
                result.devices = ["cpu"]
            result.versions = versions()
            box = self.sandboxes.get(name)
            result.sandbox = box.isolation if box is not None else []
        self.close()

    def pytest_terminal_summary(self, terminalreporter):
        if not self.results:
            return
        from grader.report import format_text

        terminalreporter.section("grader")
        for result in self.results.values():
            terminalreporter.write(format_text(result, color=terminalreporter.hasmarkup) + "\n")


def _hints(grader_text: str) -> list[str]:
    """The ``Hint: ...`` lines of a message the grader wrote (each once, one line each).

    Student text reaches such a message only as one-line fragments (an
    exception's type and first line, reprs, opaque type names), never at the
    start of a line, so every line found here is the grader's."""
    found = []
    for line in sanitize(grader_text, 20000).split("\n"):
        line = line.strip()
        if line.startswith("Hint:") and line not in found:
            found.append(line)
    return found


def _failing(tests: list[CheckResult], required: list[str]) -> list[str]:
    """The required checks that ran and failed (any of their parametrized runs)."""
    return [r for r in required if any(t.name.split("[")[0] == r and t.status != PASSED for t in tests)]


def _said(description: str) -> str:
    return f" ({description.strip().rstrip('.')})" if description and description.strip() else ""


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def requires_message(description: str, missing: list[str]) -> str:
    """Why a check that passed earns nothing: its point goes with correct values elsewhere."""
    said = f" ({description.strip().rstrip('.')})" if description and description.strip() else ""
    names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
    return (f"not awarded yet: this check itself passes{said}; its point is awarded once {names} "
            f"{'passes' if len(missing) == 1 else 'pass'}, because it goes with correct values")


def _notes(item) -> list[str]:
    return [str(value) for key, value in item.user_properties if key == "grader-note"]


class _NoteList(list):
    """Notes recorded on the test item, so the scoring hook can read them."""

    key = "grader-note"

    def __init__(self, item):
        super().__init__()
        self.item = item

    def append(self, message) -> None:
        super().append(message)
        self.item.user_properties.append((self.key, message))


class _CurveList(_NoteList):
    """Curves (grader.curves, already cleaned) recorded on the test item."""

    key = "grader-curve"


def _short_repr_failure(default):
    """pytest's failure report for a check that failed as checks fail (a student
    error, a mismatch): the message only. The grader's feedback is built from
    the exception itself; pytest's traceback (with each frame's source parsed)
    cost most of the time of grading a stub. A grader fault keeps its traceback."""

    def repr_failure(excinfo, *args, **kwargs):
        if isinstance(excinfo.value, (StudentError, compare.GradingFailure)):
            return str(excinfo.value)
        return default(excinfo, *args, **kwargs)

    return repr_failure


def _check_name(item) -> str:
    return getattr(item, "originalname", None) or item.name


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


# -- module-level hooks (the plugin proper) -------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("grader", "grading student submissions")
    group.addoption("--submission", default=None,
                    help="grade this file (or folder holding the exercise's file) instead of the stub")
    group.addoption("--seed", dest="grader_seed", type=int, default=None,
                    help=f"seed for the test inputs (default: $GRADER_SEED or {DEFAULT_SEED})")


def pytest_configure(config):
    session = _session(config)
    if session is None or session.seed is None:
        seed = config.getoption("grader_seed")  # derived only when needed: a short secret costs 0.5 s
        seed = Seed.public(seed) if seed is not None else seed_from_env()
        if session is None:
            session = GradingSession(seed=seed)
            config.pluginmanager.register(session, "grader-session")
        else:
            session.seed = seed
    config.stash[_SESSION] = session


_SESSION = pytest.StashKey[GradingSession]()
_CALLED = pytest.StashKey[list]()  # on a test item: the student's functions it called


def _session(config) -> GradingSession | None:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, GradingSession):
            return plugin
    return None


def _exercise(request) -> Exercise:
    session = request.config.stash[_SESSION]
    ex = session.exercise_for(Path(request.node.path))
    if ex is None:
        pytest.fail(f"{request.node.path.parent} has no {METADATA}: not an exercise folder")
    submission = request.config.getoption("submission")
    if submission and ex.name not in session.submissions:
        session.submissions[ex.name] = Path(submission)
    return ex


@pytest.fixture
def exercise(request) -> Exercise:
    return _exercise(request)


@pytest.fixture
def student(request) -> Student:
    ex = _exercise(request)
    session = request.config.stash[_SESSION]
    try:
        sandbox = session.sandbox(ex)
    except SubmissionError as exc:
        raise StudentError(str(exc), kind="submission") from None
    spec = ex.checks.get(_check_name(request.node))
    # Named in "timed out in <check>" for later calls (a hidden check's name is not shown).
    sandbox.check_name = "a hidden check" if spec is not None and spec.hidden else request.node.name
    called: list[str] = []
    request.node.stash[_CALLED] = called
    return Student(sandbox, called, crash_hints.signatures(ex.student_file))


@pytest.fixture
def oracle(request):
    return request.config.stash[_SESSION].oracle_for(_exercise(request))


@pytest.fixture
def rng(request) -> np.random.Generator:
    """Independent of test order: seeded from the grading seed and the test's own name
    (keyed with a secret seed's key: see grader.seed)."""
    session = request.config.stash[_SESSION]
    return session.seed.generator(request.node.name)


@pytest.fixture
def check(request) -> Checker:
    ex = _exercise(request)
    spec = ex.checks.get(_check_name(request.node))
    rtol = spec.rtol if spec and spec.rtol is not None else ex.rtol
    atol = spec.atol if spec and spec.atol is not None else ex.atol
    checker = Checker(rtol, atol, _NoteList(request.node), _CurveList(request.node))
    stand_ins = request.config.stash[_SESSION].stand_ins.get(ex.name)
    for note in stand_ins.notes() if stand_ins is not None else []:
        checker.note(note)  # a capstone: which of the student's layers the grader answered for
    return checker


@pytest.fixture
def stand_ins(request, student):
    """A capstone's :class:`grader.capstone.StandIns` (the layers answered by the grader), or None."""
    return request.config.stash[_SESSION].stand_ins.get(_exercise(request).name)
