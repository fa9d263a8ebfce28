"""The report ``grader.check()`` returns: an HTML table in Jupyter, text elsewhere.

Jupyter shows ``_repr_html_``: one row per check (its name and what it
checks, its points, PASS / FAIL / ERROR in colour; LATER in grey, with no
points yet and no feedback, for a check whose result is shown after the due
date), the feedback of each failing check folded under its row
(``<details>``, open for the first one),
a small line chart under a check that attached curves (a loss curve,
:mod:`grader.curves`: inline SVG, no script), the total, the notes (which
cells were graded, a redefinition, an unsaved notebook) and the line that
grades the same again. A terminal, or a front end without HTML, shows the
text report. Every string in the HTML is escaped: the feedback carries the
student's own output and exception messages.
"""

from __future__ import annotations

from html import escape

from grader.course.visibility import HELD
from grader.curves import figures
from grader.report import _points, format_text, held_line
from grader.results import ERROR, PASSED, ExerciseResult
from grader.text import html_with_code

_STATUS = {PASSED: ("PASS", "#1a7f37", "#dafbe1"), ERROR: ("ERROR", "#9a6700", "#fff8c5")}
_FAILED = ("FAIL", "#cf222e", "#ffebe9")
# A check whose result is shown after the due date (grader.course.visibility): neither pass nor fail.
_HELD = ("LATER", "#59636e", "#eff2f5")


class Report:
    """A grading report that Jupyter shows as HTML (and a terminal as text)."""

    def __init__(self, result: ExerciseResult, notes: list[str] = (), reproduce: str | None = None):
        self.result, self.notes = result, list(notes)
        self.reproduce = reproduce or f"grader.check({result.exercise!r}, seed={result.seed})"

    @property
    def score(self) -> float:
        return self.result.score

    @property
    def max_score(self) -> float:
        return self.result.max_score

    def __repr__(self) -> str:
        return "\n".join([format_text(self.result, reproduce=self.reproduce),
                          *(f"  note: {n}" for n in self.notes)])

    def _repr_html_(self) -> str:
        r = self.result
        rows, opened = [], False
        for t in r.tests:
            if t.kind == HELD:  # "result shown after <date>" under its name; no score yet, no feedback
                label, color, background = _HELD
                about = f"<br><span style='opacity:0.7'>{escape(t.output)}</span>"
                points = f"– / {_points(t.max_score)}"  # not counted yet (the line under the score says so)
                css = HELD
            else:
                label, color, background = _STATUS.get(t.status, _FAILED)
                about = f"<br><span style='opacity:0.7'>{escape(t.description)}</span>" if t.description else ""
                points = f"{_points(t.score)} / {_points(t.max_score)}"
                css = t.status
            rows.append(
                f"<tr class='grader-{escape(css)}'>"
                f"<td style='text-align:left'><code>{escape(t.name)}</code>{about}</td>"
                f"<td style='text-align:right;white-space:nowrap'>{points}</td>"
                f"<td style='color:{color};background:{background};font-weight:bold;text-align:center'>"
                f"{label}</td></tr>")
            if t.status != PASSED and t.output and t.kind != HELD:
                first = t.output.strip().splitlines()[0] if t.output.strip() else ""
                rows.append(
                    f"<tr class='grader-feedback'><td colspan='3' style='text-align:left'>"
                    f"<details{'' if opened else ' open'}><summary>{html_with_code(first[:200])}</summary>"
                    f"<pre style='white-space:pre-wrap;margin:0.3em 0 0 1em'>{escape(t.output)}</pre>"
                    f"</details></td></tr>")
                opened = True
            charts = figures(t.curves)
            if charts:
                rows.append(f"<tr class='grader-curves'><td colspan='3' style='text-align:left'>{charts}</td></tr>")
        pct = 100.0 * r.score / r.max_score if r.max_score else 0.0
        later = f" <span style='opacity:0.7'>{escape(held_line(r))}</span>" if held_line(r) else ""
        notes = "".join(f"<li>{html_with_code(n)}</li>" for n in self.notes)
        faults = ("<p style='color:#9a6700'>The grader itself failed on some checks (not your fault): "
                  "please report it.</p>" if r.grader_faults else "")
        return (
            f"<div class='grader-report'><p><b>{escape(r.exercise)}: {escape(r.title)}</b></p>"
            "<table><thead><tr><th style='text-align:left'>check</th><th>points</th><th>result</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            f"<p><b>Score: {_points(r.score)} / {_points(r.max_score)} ({pct:.0f}%)</b>{later}</p>{faults}"
            + (f"<ul class='grader-notes'>{notes}</ul>" if notes else "")
            + f"<p style='opacity:0.7'>seed {escape(str(r.seed))} | devices: {escape(', '.join(r.devices))} | "
              f"{r.seconds:.1f} s<br>reproduce: <code>{escape(self.reproduce)}</code></p></div>")
