"""A batch's output folder read back as figures for the class report.

Reads what ``grader batch`` writes: ``reports/<student>.json`` (the source
of every figure), ``summary.json`` (the exercises' maximum scores, for an
exercise nobody was graded on) and ``similarity.json`` when
``--similarity`` was given. Nothing is graded again.

A student's exercise is in one of four states: ``graded`` (a result, even
a 0), ``missing`` (no file for it was handed in), ``not graded`` (the
grading failed or was stopped: the grade is unknown) or ``not graded yet``
(an interrupted run did not reach it). Only graded exercises enter the
distributions; the others are counted apart, never as zeros.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from grader.batch.common import not_reached
from grader.batch.gradebook import NOT_GRADED_YET, student_notes, zero_cause
from grader.curves import from_stored
from grader.text import sanitize

REPORTS = "reports"
GRADED, MISSING, NOT_GRADED = "graded", "missing", "not graded"
PENDING = "not graded yet"  # an interrupted run did not reach it: unknown, and not a failure
# The failure kinds that mean the student's code ran into one of the sandbox's limits.
LIMIT_KINDS = {"timeout": "time limit", "budget": "time budget", "memory": "memory limit",
               "output": "output limit", "recursion": "recursion limit"}
# The grader's hints, as the batch summary reads them: a "Hint:" line before the
# student's own text (a traceback or what their code printed) starts.
_HINT = re.compile(r"^\s*Hint:\s*(.+)$", re.MULTILINE)
_STUDENT_TEXT = re.compile(r"^\s*(Traceback \(your code\):|Your code printed:)", re.MULTILINE)


class ReportError(Exception):
    """The class report cannot be made (no batch output there, matplotlib missing...)."""


@dataclass
class CheckLine:
    """One check of one student's exercise, for the drill-down."""

    name: str
    status: str
    score: float
    max_score: float
    kind: str
    seconds: float
    hints: list[str]
    first_line: str
    curves: list[dict] = field(default_factory=list)  # grader.curves, cleaned again on reading


@dataclass
class ExerciseCell:
    """One student's exercise."""

    state: str
    score: float | None  # None unless graded
    seconds: float | None
    note: str = ""  # why missing / not graded
    zero_cause: str = ""  # why a graded exercise scored 0 (the commonest failure kind, the grader's first line)
    short_cause: str = ""  # the same in a few words, as the gradebook says it ("syntax error, line 3")
    limits: list[str] = field(default_factory=list)  # the limits the student's code hit
    checks: list[CheckLine] = field(default_factory=list)
    file: str = ""
    refused: bool = False  # a file was there but not graded (a symbolic link, too large)


@dataclass
class Student:
    slug: str
    name: str
    info: dict
    cells: dict[str, ExerciseCell]
    total: float
    max_score: float
    percent: float
    notes: str = ""  # the gradebook's notes column, in the same words
    has_report: bool = True  # False: a gradebook row without reports/<slug>.json (a run killed before writing it)

    @property
    def state(self) -> str:
        """graded when every exercise handed in was graded; not graded yet when an interrupted run did not
        reach one; not graded when one failed; missing when none was handed in."""
        states = {c.state for c in self.cells.values()}
        if PENDING in states:
            return PENDING
        if NOT_GRADED in states:
            return NOT_GRADED
        if states == {MISSING}:
            return MISSING
        return GRADED

    @property
    def seconds(self) -> float:
        return round(sum(c.seconds or 0.0 for c in self.cells.values()), 3)



@dataclass
class ExerciseStats:
    name: str
    title: str
    max_score: float
    scores: list[float]  # graded students only
    missing: int
    not_graded: int
    pending: int = 0  # not graded yet (an interrupted run)

    @property
    def mean(self) -> float | None:
        return round(statistics.fmean(self.scores), 3) if self.scores else None

    @property
    def median(self) -> float | None:
        return round(statistics.median(self.scores), 3) if self.scores else None


@dataclass
class CheckStats:
    exercise: str
    check: str
    description: str
    graded: int  # students who ran it
    failed: int
    kinds: Counter
    hints: Counter  # the grader's hints, once per student

    @property
    def share(self) -> float:
        return self.failed / self.graded if self.graded else 0.0


@dataclass
class ClassData:
    folder: Path
    exercises: list[ExerciseStats]
    students: list[Student]
    checks: list[CheckStats]
    facts: dict
    similarity: dict | None

    def overall(self) -> tuple[list[float], int, int]:
        """The percents of the students with a grade, and how many were not graded (now or yet) / handed in nothing."""
        percents = [s.percent for s in self.students if s.state == GRADED]
        return (percents, sum(s.state in (NOT_GRADED, PENDING) for s in self.students),
                sum(s.state == MISSING for s in self.students))

    @property
    def pending(self) -> int:
        """How many students an interrupted run has not graded yet (0 for a complete run)."""
        return sum(s.state == PENDING for s in self.students)


def shown_seed(seed) -> str:
    """The seed as every report shows it: ``secret:<fingerprint>`` (grader.seed.Seed.shown) for a
    secret one, the number for a public one (a student reproduces a run with it). The run nonce a
    secret seed draws per student (``/run:<nonce>``) is left out: one batch, one seed."""
    return _text(str(seed).split("/run:")[0], 80)


def _text(value, limit: int = 300) -> str:
    return " ".join(sanitize(str(value), limit).split())


def _hints(output: str) -> list[str]:
    cut = _STUDENT_TEXT.search(output)
    return [_text(h) for h in _HINT.findall(output[: cut.start()] if cut else output)]


def _first_line(output: str) -> str:
    cut = _STUDENT_TEXT.search(output)
    own = output[: cut.start()] if cut else output
    return _text(own.strip().splitlines()[0] if own.strip() else "", 200)


def _cell(entry: dict) -> ExerciseCell:
    result = entry.get("result")
    if isinstance(result, dict):
        checks = []
        for t in result.get("tests") or []:
            if not isinstance(t, dict):
                continue
            output = str(t.get("output") or "")
            checks.append(CheckLine(str(t.get("name", "?")), str(t.get("status", "?")), float(t.get("score") or 0),
                                    float(t.get("max_score") or 0), str(t.get("kind") or ""),
                                    float(t.get("seconds") or 0), _hints(output) if t.get("status") != "passed" else [],
                                    _first_line(output) if t.get("status") != "passed" else "",
                                    from_stored(t.get("curves"))))
        score = float(result.get("score") or 0.0)
        limits = sorted({LIMIT_KINDS[c.kind] for c in checks if c.kind in LIMIT_KINDS})
        cause = short = ""
        if score == 0:
            short = _text(zero_cause(result), 200)
            failed = [c for c in checks if c.status != "passed"]
            kinds = Counter(c.kind or c.status for c in failed)
            if failed:
                kind, _ = kinds.most_common(1)[0]
                example = next(c for c in failed if (c.kind or c.status) == kind)
                cause = f"{kind}: {example.first_line}" if example.first_line else kind
            else:
                cause = "no check"
        return ExerciseCell(GRADED, score, float(result.get("seconds") or 0.0), zero_cause=cause, short_cause=short,
                            limits=limits, checks=checks, file=_text(entry.get("file") or "", 120))
    if entry.get("missing") and entry.get("refused"):  # a file was there but refused (a link): not missing
        return ExerciseCell(NOT_GRADED, None, None, note=_text(entry["missing"]), refused=True)
    if entry.get("missing"):
        return ExerciseCell(MISSING, None, None, note=_text(entry["missing"]))
    if not_reached(entry):
        return ExerciseCell(PENDING, None, None, note=NOT_GRADED_YET, file=_text(entry.get("file") or "", 120))
    error = _text(entry.get("error") or "no result for this exercise")
    limits = ["grading deadline"] if "was stopped" in error or "took more than" in error else []
    return ExerciseCell(NOT_GRADED, None, None, note=error, limits=limits, file=_text(entry.get("file") or "", 120))


def _load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def load_class(folder: Path) -> ClassData:
    """The figures of the batch output in ``folder``."""
    folder = Path(folder)
    reports_dir = folder / REPORTS
    if not reports_dir.is_dir():
        raise ReportError(f"{folder}: no {REPORTS}/ folder: not the output of grader batch (its --out folder)")
    raw = []
    for path in sorted(reports_dir.glob("*.json")):
        data = _load_json(path)
        if isinstance(data, dict) and isinstance(data.get("exercises"), dict) and "slug" in data:
            raw.append(data)
    if not raw:
        raise ReportError(f"{reports_dir}: no student report (reports/<student>.json) to read")
    summary = _load_json(folder / "summary.json") or {}
    names, titles, maxima = [], {}, {}
    for e in summary.get("exercises", []) if isinstance(summary, dict) else []:
        if isinstance(e, dict) and e.get("exercise"):
            names.append(e["exercise"])
            maxima[e["exercise"]] = float(e.get("max_score") or 0)
            if e.get("title"):
                titles[e["exercise"]] = _text(e["title"], 120)
    for r in raw:
        for name, entry in r["exercises"].items():
            if name not in names:
                names.append(name)
            result = entry.get("result") if isinstance(entry, dict) else None
            if isinstance(result, dict):
                maxima.setdefault(name, float(result.get("max_score") or 0))
                titles.setdefault(name, _text(result.get("title") or "", 120))

    students = []
    for r in raw:
        cells = {n: _cell(r["exercises"][n]) for n in names if isinstance(r["exercises"].get(n), dict)}
        students.append(Student(str(r["slug"]), _text(r.get("student") or r["slug"], 200),
                                {k: _text(v, 200) for k, v in (r.get("info") or {}).items()}, cells,
                                float(r.get("score") or 0), float(r.get("max_score") or 0),
                                float(r.get("percent") or 0),
                                _text(student_notes(r, [n for n in names if isinstance(r["exercises"].get(n), dict)]),
                                      2000)))
    students += _unreported(folder, names, {s.name for s in students}, {s.slug for s in students})
    students.sort(key=lambda s: (s.name.lower(), s.slug))

    exercises = []
    for n in names:
        cells = [s.cells[n] for s in students if n in s.cells]
        exercises.append(ExerciseStats(n, titles.get(n, ""), maxima.get(n, 0.0),
                                       [c.score for c in cells if c.state == GRADED],
                                       sum(c.state == MISSING for c in cells),
                                       sum(c.state == NOT_GRADED for c in cells),
                                       sum(c.state == PENDING for c in cells)))
    return ClassData(folder, exercises, students, _check_stats(raw, names), _facts(raw),
                     _load_json(folder / "similarity.json"))


def _unreported(folder: Path, names: list[str], named: set[str], slugs: set[str]) -> list[Student]:
    """The students of gradebook.csv that an interrupted run wrote no report for (a run stopped
    by a kill, or by a grader older than this one): not graded yet, counted with the class."""
    try:
        with open(folder / "gradebook.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, ValueError, csv.Error):
        return []
    found = []
    for row in rows:
        name = _text(str(row.get("student") or "").removeprefix("'"), 200)
        if not name or name in named or not str(row.get("notes") or "").startswith("not graded yet"):
            continue
        slug, n = re.sub(r"[^\w.-]+", "-", name).strip("-") or "student", 1
        while slug in slugs:
            n += 1
            slug = f"{slug.rsplit('~', 1)[0]}~{n}"
        slugs.add(slug)
        named.add(name)
        try:
            best = float(row.get("max_score") or 0)
        except ValueError:
            best = 0.0
        cells = {n: ExerciseCell(PENDING, None, None, note=NOT_GRADED_YET) for n in names}
        found.append(Student(slug, name, {}, cells, 0.0, best, 0.0, NOT_GRADED_YET, has_report=False))
    return found


def _check_stats(raw: list[dict], names: list[str]) -> list[CheckStats]:
    stats: dict[tuple[str, str], CheckStats] = {}
    for r in raw:
        for name in names:
            entry = r["exercises"].get(name)
            result = entry.get("result") if isinstance(entry, dict) else None
            if not isinstance(result, dict):
                continue
            seen: set[tuple[str, str]] = set()
            for t in result.get("tests") or []:
                if not isinstance(t, dict):
                    continue
                check = str(t.get("name", "?")).split("[")[0]  # parametrized runs count as their check
                s = stats.setdefault((name, check), CheckStats(name, check, _text(t.get("description") or "", 200),
                                                               0, 0, Counter(), Counter()))
                if (check, "ran") not in seen:
                    seen.add((check, "ran"))
                    s.graded += 1
                if t.get("status") == "passed":
                    continue
                if (check, "failed") not in seen:
                    seen.add((check, "failed"))
                    s.failed += 1
                    s.kinds[str(t.get("kind") or t.get("status"))] += 1
                for h in _hints(str(t.get("output") or "")):
                    if (check, h) not in seen:
                        seen.add((check, h))
                        s.hints[h] += 1
    order = {n: i for i, n in enumerate(names)}
    return sorted(stats.values(), key=lambda s: (order[s.exercise], -s.share, s.check))


def _facts(raw: list[dict]) -> dict:
    seeds, graders, devices, layers, versions, layouts, jobs = set(), Counter(), Counter(), Counter(), {}, set(), set()
    times = []
    for r in raw:
        layouts.add(_text(r.get("layout") or "", 40))
        if r.get("seed") is not None:
            seeds.add(shown_seed(r["seed"]))
        for entry in r["exercises"].values():
            if not isinstance(entry, dict):
                continue
            if entry.get("graded_at"):
                times.append(float(entry["graded_at"]))
            if entry.get("job"):
                jobs.add(str(entry["job"]).rsplit(":", 1)[0])
            result = entry.get("result")
            if not isinstance(result, dict):
                continue
            if result.get("seed") is not None:
                seeds.add(shown_seed(result["seed"]))
            v = result.get("versions") or {}
            graders[_text(v.get("grader") or r.get("grader") or "?", 40)] += 1
            for d in result.get("devices") or []:
                devices[_text(d, 60)] += 1
            for layer in result.get("sandbox") or []:
                layers[_text(layer, 120)] += 1
            for k in ("python", "numpy", "torch", "platform"):
                if v.get(k):
                    versions.setdefault(k, set()).add(_text(v[k], 60))

    def when(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))

    return {
        "seeds": sorted(seeds),
        "grader_versions": dict(graders.most_common()),
        "devices": dict(devices.most_common()),
        "sandbox_layers": dict(layers.most_common()),
        "versions": {k: sorted(v) for k, v in versions.items()},
        "layouts": sorted(x for x in layouts if x),
        "hosts": sorted(jobs),
        "graded_from": when(min(times)) if times else None,
        "graded_to": when(max(times)) if times else None,
        "report_made": when(time.time()),
    }
