"""Late penalties applied on the trusted side, the same way for every channel.

The raw score is always kept; the penalty is a separate step with its reason:
per assignment, the trusted time (or "time unknown"), how late, the penalty,
and the final score. Exercises that belong to no assignment are never penalised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.model import Course, Lateness, lateness
from grader.course.times import Submitted


@dataclass
class CourseOutcome:
    raw: float
    final: float
    lateness: dict[str, Lateness] = field(default_factory=dict)  # assignment -> how late
    exercises: dict[str, dict] = field(default_factory=dict)  # exercise -> {assignment, raw, penalty, final}
    lines: list[str] = field(default_factory=list)  # what the student's report says

    def to_dict(self) -> dict:
        return {"raw_score": round(self.raw, 6), "final_score": round(self.final, 6),
                "late": {name: late.to_dict() for name, late in self.lateness.items()},
                "exercises": self.exercises, "lines": self.lines}


def outcome(course: Course, scores: dict[str, float], submitted: Submitted,
            identifiers: set[str] = frozenset()) -> CourseOutcome:
    """Penalties for one submission: ``scores`` (exercise -> raw score), ``submitted`` its trusted time."""
    ids = set(identifiers) | set(submitted.identifiers)
    result = CourseOutcome(raw=sum(scores.values()), final=0.0)
    for exercise, raw in scores.items():
        assignment = course.assignment_of(exercise)
        if assignment is None:
            result.exercises[exercise] = {"assignment": "", "raw": raw, "penalty_percent": 0.0, "final": raw}
            result.final += raw
            continue
        late = result.lateness.get(assignment.name)
        if late is None:
            at, source = submitted.for_assignment(assignment.name)
            late = lateness(course, assignment, at, source, ids, extra_due=submitted.due)
            result.lateness[assignment.name] = late
            result.lines.append(late.line(course))
        final = late.final(raw)
        result.exercises[exercise] = {"assignment": assignment.name, "raw": raw,
                                      "penalty_percent": late.penalty, "final": final}
        result.final += final
    result.final = round(result.final, 6)
    return result


def for_gradescope(source: Path, metadata: Path, results, data: dict, log=print) -> CourseOutcome | None:
    """The bundle's course (``source/course.yaml``) applied to Gradescope's results dict, in place:
    ``score`` becomes the final score, the late lines open ``output``. None without a course."""
    from grader.course.loader import load_course
    from grader.course.times import from_gradescope_metadata

    course = load_course(source)
    if course is None:
        return None
    submitted = from_gradescope_metadata(metadata)
    result = outcome(course, {r.exercise: r.score for r in results}, submitted)
    data["score"] = result.final
    lines = result.lines + attempt_budget(course, data, {r.exercise for r in results}, submitted)
    if lines:
        data["output"] = "\n".join(lines) + "\n" + data.get("output", "")
    log(f"course: submitted {submitted.at.isoformat() if submitted.at else 'at an unknown time'}"
        f" ({submitted.source or submitted.note}); raw {result.raw:g}, final {result.final:g}")
    return result


def attempt_budget(course: Course, data: dict, exercises: set[str], submitted: Submitted) -> list[str]:
    """Per assignment with ``attempts: N`` and/or ``cooldown: D``: full feedback for the first N graded
    submissions, and at most once per D; the others keep every check's score and status but not its output
    (inputs, values, hints). The counts are Gradescope's ``previous_submissions`` (None: no trusted count,
    no limit). Returns the lines for the student."""
    from grader.course.timefmt import format_duration

    lines = []
    for assignment in course.assignments.values():
        if not (assignment.attempts or assignment.cooldown) or not set(assignment.exercises) & exercises:
            continue
        if submitted.previous is None:
            lines.append(f"{assignment.name}: attempts are not counted here (no trusted count of your submissions)")
            continue
        attempt, budget = submitted.previous + 1, assignment.attempts
        withheld = ""
        if budget and attempt > budget:
            withheld = (f"submission {attempt}: your {budget} submissions with full feedback are used; each "
                        f"check's score is shown, its details are not (check your code with grader check)")
        elif assignment.cooldown and submitted.at and submitted.previous_times:
            last = max(submitted.previous_times)
            if submitted.at - last < assignment.cooldown:
                withheld = (f"one submission with full feedback every {format_duration(assignment.cooldown)}: "
                            f"this one shows scores only; full feedback again from "
                            f"{course.when(last + assignment.cooldown)}")
        if withheld:
            lines.append(f"{assignment.name}: {withheld}")
            prefixes = tuple(f"{ex}: " for ex in assignment.exercises)
            for test in data.get("tests") or []:
                if str(test.get("name", "")).startswith(prefixes):
                    test["output"] = "details withheld (see the attempts line at the top)"
        elif budget:
            left = budget - attempt
            lines.append(f"{assignment.name}: submission {attempt} of {budget} with full feedback; "
                         f"{left} left" + (" (later submissions show scores only)" if left == 0 else ""))
    return lines


def for_ci(base: Path, results) -> CourseOutcome | None:
    """The base branch's course applied to a pull request's results (the time from ``$GITHUB_EVENT_PATH``)."""
    from grader.course.loader import load_course
    from grader.course.times import from_github_event

    course = load_course(base)
    if course is None:
        return None
    submitted = from_github_event(os.environ.get("GITHUB_EVENT_PATH"), os.environ.get("GITHUB_EVENT_NAME", ""))
    return outcome(course, {r.exercise: r.score for r in results}, submitted)
