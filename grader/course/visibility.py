"""Results released on a schedule: ``visibility: visible | after_due_date | hidden`` per check.

- Gradescope: results.json carries Gradescope's own values (``visible``,
  ``after_due_date``, ``hidden``), and Gradescope holds them back itself.
- ``grader ci`` and a student's ``grader check``: a check whose result is not
  yet visible shows "result shown after <date>" (its assignment's due date in
  course.yaml), with no status, inputs, values or hints, and its points are
  left out of the score shown until then. Without course.yaml (no due date)
  such a check is shown as usual: there is no date to wait for.
- ``grader batch`` (the instructor's): everything, always.

On the student's own machine this is a courtesy, not a secret: the grader
file is theirs to read. A check that must stay secret is ``hidden`` (it never
leaves the course repository but for the Gradescope bundle).
"""

from __future__ import annotations

from datetime import datetime

from grader.course.timefmt import UTC

HELD = "held"  # CheckResult.kind of a check whose result is not shown yet


def gradescope_visibility(data: dict, exercises) -> None:
    """Set each test's ``visibility`` in Gradescope's results dict from its check's visibility."""
    checks = {f"{ex.name}: {name}": check for ex in exercises for name, check in ex.checks.items()}
    for test in data.get("tests") or []:
        check = checks.get(test.get("name"))
        if check is not None:
            test["visibility"] = check.visibility


def hold(results, exercises, course, now: datetime | None = None) -> list[str]:
    """Withhold, in place, the results of after_due_date checks before their assignment's due date;
    return a line per exercise that has some ("3 points shown after ...")."""
    if course is None:
        return []
    now = now or datetime.now(UTC)
    by_name = {ex.name: ex for ex in exercises}
    notes = []
    for r in results:
        ex = by_name.get(r.exercise)
        assignment = course.assignment_of(r.exercise)
        if ex is None or assignment is None or now >= assignment.due:
            continue
        when = course.when(assignment.due)
        held = 0.0
        for t in r.tests:
            check = ex.checks.get(t.name)
            if check is None or check.visibility != "after_due_date":
                continue
            r.score -= t.score
            held += t.max_score
            t.score, t.status, t.kind = 0.0, "failed", HELD
            t.output, t.hints, t.description, t.curves = f"result shown after {when}", [], "", []
            t.file, t.line, t.function = "", None, ""
            t.hidden = True  # the CI formats show no output, hint or annotation for it
        if held:
            r.score = round(max(r.score, 0.0), 6)
            notes.append(f"{r.exercise}: {held:g} point(s) of checks whose results are shown after {when} "
                         f"are not counted in the score shown")
    return notes
