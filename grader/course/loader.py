"""Reading and checking ``course.yaml`` (beside ``exercises/``).

Every mistake is reported, each on its own line with where it is: an unknown
exercise, a date without a timezone, a penalty above 100%, an extension for
nobody in the roster, and so on. No ``course.yaml``: :func:`load_course`
returns None and every command behaves as without a course.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

from grader.course.model import Assignment, Course, Extension, LatePolicy
from grader.course.roster import RosterError, read_roster
from grader.course.timefmt import TimeError, parse_datetime, parse_duration, zone
from grader.exercises import ExerciseError

COURSE_FILE = "course.yaml"
_TOP = {"name", "term", "timezone", "assignments", "late_policy", "extensions", "roster"}
_ASSIGNMENT = {"title", "exercises", "due", "late_due", "attempts", "cooldown"}
_POLICY = {"grace", "penalty", "per", "max_penalty", "after_late_due"}


class CourseError(ExerciseError):
    """course.yaml (or a file it names) is invalid: a usage error, with every problem listed."""


def _percent(value, what: str) -> float:
    text = str(value).strip()
    try:
        number = float(text[:-1] if text.endswith("%") else text)
    except ValueError:
        raise ValueError(f"{what}: expected a percentage such as 10%, got {value!r}") from None
    if not 0 <= number <= 100:
        raise ValueError(f"{what}: {text} is not between 0% and 100%")
    return number


def _exercise_names(root: Path) -> dict[str, str]:
    """Every way of naming an exercise (ex01, 1, ex01_sigmoid, sigmoid) -> its folder name."""
    from grader.exercises import METADATA

    names = {}
    for meta in sorted((root / "exercises").glob(f"*/{METADATA}")):
        name = meta.parent.name
        names[name.lower()] = name
        head, _, short = name.partition("_")
        names.setdefault(head.lower(), name)
        if short:
            names.setdefault(short.lower(), name)
        if head[2:].isdigit():
            names.setdefault(str(int(head[2:])), name)
    return names


def load_course(root: Path) -> Course | None:
    """The course of ``root`` (``root/course.yaml``), None when there is none; :class:`CourseError` if invalid."""
    path = Path(root) / COURSE_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CourseError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CourseError(f"{path}: expected a mapping (name, term, timezone, assignments, ...)")
    problems: list[str] = []

    def check(what, fn, *args):
        try:
            return fn(*args)
        except (TimeError, RosterError, ValueError, TypeError) as exc:
            problems.append(f"{what}: {exc}" if what else str(exc))
            return None

    for key in sorted(set(data) - _TOP):
        problems.append(f"unknown key {key!r} (known: {', '.join(sorted(_TOP))})")
    tz = check("timezone", zone, data.get("timezone") or "UTC") if "timezone" in data else None
    if "timezone" not in data:
        problems.append("timezone: missing (the course's IANA zone, such as Europe/Paris)")
    policy = check("late_policy", _policy, data.get("late_policy") or {})
    exercises = _exercise_names(Path(root))
    assignments: dict[str, Assignment] = {}
    owner: dict[str, str] = {}
    raw = data.get("assignments") or {}
    if not isinstance(raw, dict):
        problems.append("assignments: expected a mapping of assignment names to their settings")
        raw = {}
    for name, spec in raw.items():
        name = str(name)
        where = f"assignments.{name}"
        if not isinstance(spec, dict):
            problems.append(f"{where}: expected exercises and due")
            continue
        for key in sorted(set(spec) - _ASSIGNMENT):
            problems.append(f"{where}: unknown key {key!r} (known: {', '.join(sorted(_ASSIGNMENT))})")
        names = spec.get("exercises") or []
        names = [names] if isinstance(names, str) else names
        resolved = []
        for ex in names:
            full = exercises.get(str(ex).strip().lower())
            if full is None:
                problems.append(f"{where}.exercises: unknown exercise {ex!r} (known: "
                                f"{', '.join(sorted(set(exercises.values()))) or 'none'})")
            elif full in owner:
                problems.append(f"{where}.exercises: {full} is already in assignment {owner[full]}")
            else:
                owner[full] = name
                resolved.append(full)
        if not names:
            problems.append(f"{where}: no exercises")
        if "due" not in spec:
            problems.append(f"{where}: no due date")
            continue
        due = check(f"{where}.due", parse_datetime, spec["due"], "due date")
        late_due = check(f"{where}.late_due", parse_datetime, spec["late_due"], "late due date") \
            if spec.get("late_due") is not None else None
        if due and late_due and late_due < due:
            problems.append(f"{where}.late_due: before the due date")
        attempts = spec.get("attempts")
        if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1):
            problems.append(f"{where}.attempts: expected a whole number of at least 1, got {attempts!r}")
            attempts = None
        cooldown = check(f"{where}.cooldown", parse_duration, spec["cooldown"], "cooldown") \
            if spec.get("cooldown") is not None else None
        if due:
            assignments[name] = Assignment(name, resolved, due, late_due, str(spec.get("title") or name), attempts,
                                           cooldown or None)
    roster = None
    if data.get("roster"):
        roster = check("roster", read_roster, Path(root) / str(data["roster"]))
    extensions = _extensions(data.get("extensions"), Path(root), problems)
    for ext in extensions:
        if ext.assignment != "*" and ext.assignment not in raw:
            problems.append(f"{ext.where}: no assignment called {ext.assignment!r} (known: "
                            f"{', '.join(map(str, raw)) or 'none'})")
        if roster is not None and roster.find(ext.student) is None:
            problems.append(f"{ext.where}: {ext.student!r} is nobody in the roster ({roster.path.name}: "
                            f"no such email, SID or login)")
    if extensions and data.get("roster") is None:
        problems.append("extensions: give a roster (roster: roster.csv) so that every extension is checked "
                        "against the class")
    if problems:
        raise CourseError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return Course(root=Path(root), name=str(data.get("name") or ""), term=str(data.get("term") or ""),
                  timezone=tz, assignments=assignments, late_policy=policy, extensions=extensions,
                  roster=roster, path=path)


def _policy(spec) -> LatePolicy:
    if not isinstance(spec, dict):
        raise ValueError("expected grace, penalty, per, max_penalty, after_late_due")
    errors, values = [], {}
    unknown = sorted(set(spec) - _POLICY)
    if unknown:
        errors.append(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_POLICY))})")
    per = str(spec.get("per", "day")).strip().lower()
    if per not in ("hour", "day"):
        errors.append(f"per: 'hour' or 'day', not {per!r}")
    after = str(spec.get("after_late_due", "zero")).strip().lower()
    if after not in ("zero", "accept"):
        errors.append(f"after_late_due: 'zero' (no points) or 'accept' (accepted, marked late), not {after!r}")
    for key, fn, default in (("grace", parse_duration, 0), ("penalty", _percent, 0), ("max_penalty", _percent, 100)):
        try:
            values[key] = fn(spec.get(key, default), key)
        except (TimeError, ValueError) as exc:
            errors.append(str(exc))
    if errors:
        raise ValueError("; ".join(errors))
    return LatePolicy(grace=values["grace"], rate=values["penalty"], per=per, cap=values["max_penalty"],
                      after_late_due=after)


def _extension(item: dict, where: str) -> Extension:
    student = str(item.get("student") or "").strip()
    if not student:
        raise ValueError("no student (an email, SID or login from the roster)")
    assignment = str(item.get("assignment") or "*").strip()
    assignment = "*" if assignment.lower() in ("*", "all") else assignment
    extra = item.get("extra")
    due = item.get("due")
    if (extra in (None, "")) == (due in (None, "")):
        raise ValueError("give either extra (such as '2 days') or due (a new due date), not both")
    return Extension(student, assignment,
                     extra=parse_duration(extra, "extra") if extra not in (None, "") else None,
                     due=parse_datetime(due, "due") if due not in (None, "") else None, where=where)


def _extensions(spec, root: Path, problems: list[str]) -> list[Extension]:
    """From a list in course.yaml, or a CSV/YAML file it names (student, assignment, extra or due)."""
    if not spec:
        return []
    items: list[tuple[dict, str]] = []
    if isinstance(spec, str):
        path = root / spec
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"extensions: cannot read {path}: {exc}")
            return []
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(io.StringIO(text))
            for line, row in enumerate(reader, 2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                if any(row.values()):
                    items.append((row, f"{path.name}, line {line}"))
        else:
            try:
                loaded = yaml.safe_load(text) or []
            except yaml.YAMLError as exc:
                problems.append(f"extensions: cannot read {path}: {exc}")
                return []
            if not isinstance(loaded, list):
                problems.append(f"extensions: {path.name} should hold a list")
                return []
            items = [(x, f"{path.name}, entry {i}") for i, x in enumerate(loaded, 1)]
    elif isinstance(spec, list):
        items = [(x, f"extensions, entry {i}") for i, x in enumerate(spec, 1)]
    else:
        problems.append("extensions: a list, or the name of a CSV or YAML file")
        return []
    out = []
    for item, where in items:
        if not isinstance(item, dict):
            problems.append(f"{where}: expected student, assignment and extra or due")
            continue
        try:
            out.append(_extension(item, where))
        except (TimeError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    return out


def public_course_yaml(course: Course, exercises: list[str] | None = None) -> str:
    """course.yaml for students (a release, a Gradescope bundle): no roster, no extensions; only the
    assignments of ``exercises`` (the ones shipped), so that it loads where only they exist."""
    data = {"name": course.name, "term": course.term, "timezone": course.timezone.key,
            "assignments": {}, "late_policy": {
                "grace": f"{int(course.late_policy.grace.total_seconds())} s",
                "penalty": f"{course.late_policy.rate:g}%", "per": course.late_policy.per,
                "max_penalty": f"{course.late_policy.cap:g}%", "after_late_due": course.late_policy.after_late_due}}
    for a in course.assignments.values():
        shipped = [e for e in a.exercises if exercises is None or e in exercises]
        if not shipped:
            continue
        entry = {"title": a.title, "exercises": shipped, "due": a.due.isoformat()}
        if a.late_due:
            entry["late_due"] = a.late_due.isoformat()
        if a.attempts:
            entry["attempts"] = a.attempts
        if a.cooldown:
            entry["cooldown"] = f"{int(a.cooldown.total_seconds())} s"
        data["assignments"][a.name] = entry
    return ("# The course's public settings, written by grader from the course repository's course.yaml\n"
            "# (the roster and the extensions stay with the staff).\n" + yaml.safe_dump(data, sort_keys=False))
