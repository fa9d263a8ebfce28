"""Points as GitHub Classroom reads them.

Classroom's dashboard takes a repository's points from two notice annotations
of its autograding run. Its reporter action
(``classroom-resources/autograding-grading-reporter``, ``src/notify-classroom.js``)
prints them: it adds up the tests' ``score`` and the runners' ``max_score``
(a runner whose ``max_score`` is 0 counts for nothing; nothing is printed when
the total maximum is 0), then::

    ::notice title=Autograding complete::Points 7.5/10
    ::notice title=Autograding report::{"totalPoints":7.5,"maxPoints":10}

`grader ci` prints these two lines itself (:func:`classroom_notices`), outside
the stop-commands block that holds the student's output, so the shipped
workflow needs no reporter step (which also failed its step whenever a check
failed). This follows the reporter's published source; it was not tried
against a live Classroom.

`grader ci` still writes the reporter's input, for a course whose own workflow
keeps the reporter: the runner object (:func:`classroom_result`: base64 of a
JSON object ``{"version": 1, "status": "pass" | "fail" | "error",
"max_score": N, "tests": [{"name", "status", "score", "message", ...}]}``) as
the grade step's ``result`` output and as ``classroom.json`` in --out; such a
workflow passes it to the reporter as ``GRADER_RESULTS`` (``runners: grader``).
Then both print the notices: the same points, twice.
"""

from __future__ import annotations

import base64
import json
import math
from decimal import Decimal

from grader.ci_report import escape_data, escape_property


def classroom_result(results, penalties: dict[str, float] | None = None) -> dict:
    """The reporter's runner object for ``results`` (each check's points after its exercise's late penalty)."""
    penalties = penalties or {}
    tests = []
    for r in results:
        keep = 1 - penalties.get(r.exercise, 0.0) / 100
        for t in r.tests:
            tests.append({"name": f"{r.exercise}: {t.name}", "status": "pass" if t.status == "passed" else (
                "error" if t.status == "error" else "fail"), "score": round(t.score * keep, 6),
                "max_score": t.max_score, "message": (t.output or "").splitlines()[0][:200] if t.output else "",
                "test_code": "", "filename": "", "line_no": 0, "duration": 0})
    status = "error" if any(t["status"] == "error" for t in tests) else (
        "fail" if any(t["status"] == "fail" for t in tests) else "pass")
    return {"version": 1, "status": status, "max_score": round(sum(r.max_score for r in results), 6),
            "tests": tests}


def encode(result: dict) -> str:
    """The runner object as the reporter reads it from ``<RUNNER>_RESULTS``: base64 of compact JSON."""
    return base64.b64encode(json.dumps(result, separators=(",", ":")).encode()).decode()


def classroom_notices(result: dict) -> list[str]:
    """The two ``::notice`` lines the reporter would print for the runner object ``result``; none when
    its ``max_score`` is 0. The totals are added up as the reporter does (in floating point, tests in
    order), and written as JavaScript writes numbers, so Classroom reads what the reporter would give it."""
    max_points = result.get("max_score") or 0
    if not max_points:  # the reporter skips such a runner, and with no other one prints nothing
        return []
    total = 0
    for test in result.get("tests") or []:
        total += test.get("score") or 0
    text = f"Points {js_number(total)}/{js_number(max_points)}"
    summary = f'{{"totalPoints":{js_json_number(total)},"maxPoints":{js_json_number(max_points)}}}'
    return [f"::notice title={escape_property('Autograding complete')}::{escape_data(text)}",
            f"::notice title={escape_property('Autograding report')}::{escape_data(summary)}"]


def js_number(x: float) -> str:
    """``x`` as JavaScript's ``String(x)`` writes it (ECMAScript's Number::toString): integers without
    ".0", others in the fewest digits that read back as ``x``, exponents only below 1e-6 or from 1e21."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"  # -0 too
    sign = "-" if x < 0 else ""
    # repr gives the shortest digits that round-trip (as JavaScript does); only its layout differs.
    _, digits, exponent = Decimal(repr(abs(x))).as_tuple()
    s = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(s)
    k, n = len(s), len(s) + exponent  # x = 0.s × 10^n
    if k <= n <= 21:
        out = s + "0" * (n - k)
    elif 0 < n <= 21:
        out = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * -n + s
    else:
        e = n - 1
        out = (s[0] + ("." + s[1:] if k > 1 else "")) + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + out


def js_json_number(x: float) -> str:
    """``x`` as ``JSON.stringify`` writes a number (``null`` when not finite)."""
    return js_number(x) if math.isfinite(float(x)) else "null"


CLASSROOM_WORKFLOW, CLASSROOM_JOB = "Autograding Tests", "run-autograding-tests"


def classroom_workflow(text: str) -> str:
    """The shipped workflow with the names GitHub Classroom records points under (its reporter's README: a
    workflow named "Autograding Tests" whose one job is ``run-autograding-tests``), for ``grader release
    --classroom``. Raises ValueError when the workflow is not one job under the names it ships with."""
    import re

    import yaml

    renamed = re.sub(r"(?m)^name: .*$", f"name: {CLASSROOM_WORKFLOW}", text, count=1)
    renamed = re.sub(r"(?m)^  grade:\n    name: grade$", f"  {CLASSROOM_JOB}:\n    name: {CLASSROOM_JOB}", renamed,
                     count=1)
    data = yaml.safe_load(renamed) or {}
    if data.get("name") != CLASSROOM_WORKFLOW or list(data.get("jobs") or {}) != [CLASSROOM_JOB]:
        raise ValueError("the autograde workflow is not one job named grade: rename its workflow "
                         f"'{CLASSROOM_WORKFLOW}' and its job '{CLASSROOM_JOB}' by hand")
    return renamed
