"""Points as GitHub Classroom's autograding reporter reads them.

``classroom-resources/autograding-grading-reporter`` takes a comma-separated
list of runner ids and, for each, reads ``<RUNNER>_RESULTS`` from the
environment: base64 of a JSON object ``{"version": 1, "status": "pass" |
"fail" | "error", "max_score": N, "tests": [{"name", "status", "score",
"message", ...}]}``. It adds up the tests' ``score`` and the runners'
``max_score`` into "Points X/Y". `grader ci` writes that object, base64,
as the ``result`` output (and ``classroom.json`` in --out); the workflow
passes it to the reporter as ``GRADER_RESULTS``.
"""

from __future__ import annotations

import base64
import json


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
    return base64.b64encode(json.dumps(result, separators=(",", ":")).encode()).decode()
