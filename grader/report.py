"""Report formats: a terminal report, JSON, and Gradescope's results.json.

Every string that came from the student's side (exception messages, printed
output) was sanitised and quoted under a label in the sandbox client and the
plugin (see :mod:`grader.text`); the formats sanitise once more (it is
idempotent), so that no format can carry a line break other than ``\n``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Iterable

from grader.results import ERROR, PASSED, ExerciseResult
from grader.text import indent, one_line, sanitize

_COLORS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}


def _c(text: str, color: str, on: bool) -> str:
    return f"\x1b[{_COLORS[color]}m{text}\x1b[0m" if on else text


def _points(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def reproduce_command(result: ExerciseResult) -> str:
    """The command that grades the same file with the same inputs again (with a
    secret seed: the staff's, who set GRADER_SEED to the secret it fingerprints)."""
    if str(result.seed).startswith("secret:"):
        secret, _, run = str(result.seed).partition("/run:")  # a run's inputs: its nonce (grader.seed)
        command = f"GRADER_SEED=<the secret seed {secret}> grader check {result.exercise}"
        command += f" --run-nonce {run}" if run else ""
    else:
        command = f"grader check {result.exercise} --seed {result.seed}"
    path = Path(result.submission) if result.submission else None
    if path is not None and path.parts[-3:-1] != ("exercises", result.exercise):  # not the student's own file
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
        command += f" --submission {shlex.quote(one_line(str(path), 300))}"
    return command


def held_line(result: ExerciseResult) -> str:
    """What the score line adds while some checks' results are held until the due date ("" when none)."""
    held = sum(t.max_score for t in result.tests if t.kind == "held")  # grader.course.visibility
    return f"({_points(held)} point(s) not counted yet: their results are shown after the due date)" if held else ""


def format_text(result: ExerciseResult, color: bool = False, verbose: bool = False,
                reproduce: str | None = None) -> str:
    """The terminal report: one line per check, feedback under each failure, the total.
    ``reproduce``: the command shown to grade the same again (default: :func:`reproduce_command`)."""
    lines = [_c(f"{result.exercise}: {result.title}", "bold", color)]
    width = max((len(t.name) for t in result.tests), default=10)
    for t in result.tests:
        if t.kind == "held":  # a result shown after the due date (grader.course.visibility)
            mark = _c("LATER", "dim", color)
        elif t.status == PASSED:
            mark = _c("PASS", "green", color)
        elif t.status == ERROR:
            mark = _c("ERROR", "yellow", color)
        else:
            mark = _c("FAIL", "red", color)
        lines.append(f"  {mark:<5} {t.name:<{width}}  {_points(t.score):>5} / {_points(t.max_score)}")
        if t.output:
            lines.append(indent(sanitize(t.output, 20000), "        "))
    pct = 100.0 * result.score / result.max_score if result.max_score else 0.0
    lines.append(_c(f"  Score: {_points(result.score)} / {_points(result.max_score)} ({pct:.0f}%)", "bold", color))
    if held_line(result):
        lines.append(f"  {held_line(result)}")
    v = result.versions
    lines.append(_c(
        f"  seed {result.seed} | devices: {', '.join(result.devices)} | Python {v.get('python', '?')}, "
        f"NumPy {v.get('numpy', '?')}, PyTorch {v.get('torch', '?')} | {_timing(result)}", "dim", color))
    lines.append(_c(f"  reproduce: {reproduce or reproduce_command(result)}", "dim", color))
    if result.sandbox:
        lines.append(_c(f"  sandbox: {', '.join(result.sandbox)}", "dim", color))
    if result.grader_faults:
        lines.append(_c("  The grader itself failed on some checks (not your fault): please report it.",
                        "yellow", color))
    return "\n".join(lines)


def _timing(result: ExerciseResult) -> str:
    """What the time figures cover: this exercise's checks, and the whole run when it is more."""
    text = f"graded in {result.seconds:.1f} s"
    if result.run_seconds > result.seconds:
        text += f"; {result.run_seconds:.1f} s in all"
    return text


def wall_seconds(results: Iterable[ExerciseResult]) -> float:
    """The wall time of the run the results came from (the exercises' own times added, if unknown)."""
    results = list(results)
    runs = [r.run_seconds for r in results if r.run_seconds]
    return max(runs) if runs else sum(r.seconds for r in results)


def to_json(results: list[ExerciseResult], many: bool) -> str:
    data = [r.to_dict() for r in results]
    return json.dumps(data if many else data[0], indent=2)


def to_gradescope(results: Iterable[ExerciseResult], visibility: str = "visible",
                  execution_seconds: float | None = None) -> dict:
    """Gradescope's autograder results.json (one file for all exercises graded).

    ``execution_time`` is the run's wall time: ``execution_seconds`` when the
    caller measured it, else :func:`wall_seconds`."""
    results = list(results)
    tests = []
    for r in results:
        for i, t in enumerate(r.tests, 1):
            tests.append({
                "name": f"{r.exercise}: {t.name}",
                "number": f"{r.exercise[2:4].lstrip('0') or '0'}.{i}" if r.exercise.startswith("ex") else str(i),
                "score": round(t.score, 6),
                "max_score": round(t.max_score, 6),
                "status": "passed" if t.status == PASSED else "failed",
                "output": sanitize(t.output or (t.description if t.status == PASSED else ""), 20000),
                "output_format": "text",
                "visibility": "hidden" if t.hidden else "visible",
                "tags": [r.exercise],
            })
    info = "; ".join(
        f"{r.exercise}: seed {r.seed}, devices {', '.join(r.devices)}" for r in results)
    versions = results[0].versions if results else {}
    return {
        "score": round(sum(r.score for r in results), 6),
        "execution_time": int(round(execution_seconds if execution_seconds is not None
                                    else wall_seconds(results))),
        "output": f"Graded by grader {versions.get('grader', '?')} (Python {versions.get('python', '?')}, "
                  f"NumPy {versions.get('numpy', '?')}, PyTorch {versions.get('torch', '?')}); {info}",
        "output_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
