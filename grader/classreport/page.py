"""The class report as one self-contained HTML page.

The page is written whole by the server side (every table row, every
figure), so it reads without JavaScript; the small script inlined from
``grader/templates/report/report.js`` adds sorting and filtering of the
students' table (also from the address: ``report.html#filter=ada&sort=total``).
The style and the script are inlined and the plots are inline SVG: nothing
is fetched when the page is viewed (a check's loss curves in a student's
drill-down too: :func:`grader.curves.figures`). Every text that comes from a student
(names, file names, messages, code) is escaped.
"""

from __future__ import annotations

import html
import re
import statistics
import string
from pathlib import Path

from grader import __version__
from grader.classreport.data import GRADED, MISSING, PENDING, ClassData, Student
from grader.curves import figures
from grader.text import counted, html_with_code

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "report"
MAX_HINTS = 3


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"




def _short(name: str) -> str:
    """``ex06`` for ``ex06_conv``: the column heads and notes of the students' table stay narrow."""
    head = name.split("_", 1)[0]
    return head if re.fullmatch(r"ex\d+", head) else name


def _figure(svg: str | None, caption: str) -> str:
    if not svg:
        return f'<p class="empty">{_e(caption)}: nothing to draw.</p>'
    return f'<figure class="plot">{svg}<figcaption>{_e(caption)}</figcaption></figure>'


def _distribution_section(data: ClassData, plots: dict) -> str:
    percents, not_graded, missing = data.overall()
    mean = f"{statistics.fmean(percents):.1f}%" if percents else "-"
    median = f"{statistics.median(percents):.1f}%" if percents else "-"
    rows = []
    for ex in data.exercises:
        rows.append(f"<tr><td>{_e(ex.name)}</td><td>{_e(ex.title)}</td><td class=n>{len(ex.scores)}</td>"
                    f"<td class=n>{_num(ex.mean)}</td><td class=n>{_num(ex.median)}</td><td class=n>{_num(ex.max_score)}</td>"
                    f"<td class=n>{ex.missing}</td><td class=n>{ex.not_graded + ex.pending}</td></tr>")
    figures = "".join(_figure(svg, f"{ex.name}: scores of the {counted(len(ex.scores), 'graded student')}")
                      if svg else _no_submissions(ex) for ex, svg in zip(data.exercises, plots["exercises"]))
    return (
        '<section id="distribution"><h2>Scores</h2>'
        f'<p class="stats" id="overall-stats" data-graded="{len(percents)}" data-not-graded="{not_graded}" '
        f'data-missing="{missing}" data-pending="{data.pending}">{counted(len(data.students), "student")}: '
        f'{len(percents)} with a grade, mean <b>{mean}</b>, median <b>{median}</b> of the maximum; apart, never '
        f'counted as zeros: {not_graded} not graded (the grading failed or was stopped'
        + (f", or the interrupted run has not reached them: {data.pending}" if data.pending else "")
        + f'), {missing} who handed in nothing.</p>'
        + _figure(plots["overall"], "Total score of the students with a grade; those without, apart")
        + '<table class="plain" id="exercise-stats"><thead><tr><th>exercise</th><th>title</th><th>graded</th>'
          '<th>mean</th><th>median</th><th>max</th><th>missing</th><th>not graded</th></tr></thead><tbody>'
        + "".join(rows) + "</tbody></table>"
        + f'<div class="grid">{figures}</div></section>')


def _checks_section(data: ClassData, plots: dict) -> str:
    rows = []
    for c in data.checks:
        hints = "".join(f"<li>{_e(h)} <span class=count>({n})</span></li>" for h, n in c.hints.most_common(MAX_HINTS))
        kinds = ", ".join(f"{_e(k)} {n}" for k, n in c.kinds.most_common())
        rows.append(f'<tr data-exercise="{_e(c.exercise)}"><td>{_e(c.exercise)}</td><td title="{_e(c.description)}">'
                    f'{_e(c.check)}</td><td class=n data-value="{c.share:.4f}">{100 * c.share:.0f}%</td>'
                    f"<td class=n>{c.failed} / {c.graded}</td><td>{kinds}</td><td><ul class=hints>{hints}</ul></td></tr>")
    return ('<section id="checks"><h2>Where the class struggled</h2>'
            '<p>The share of the graded students who failed each check, and the grader\'s most frequent hints '
            '(its own words: never text a student\'s code printed).</p>'
            + _figure(plots["checks"], "Students who failed each check")
            + '<table class="plain" id="check-stats"><thead><tr><th>exercise</th><th>check</th><th>failed</th>'
              '<th>students</th><th>why</th><th>most frequent hints</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></section>")


def _time_section(data: ClassData, plots: dict) -> str:
    hits = []
    for s in data.students:
        for name, cell in s.cells.items():
            if cell.limits:
                hits.append(f'<tr><td><a href="#s-{_e(s.slug)}">{_e(s.name)}</a></td><td>{_e(name)}</td>'
                            f'<td>{_e(", ".join(cell.limits))}</td><td class=n>{_num(cell.seconds)}</td></tr>')
    table = ('<table class="plain" id="limit-hits"><thead><tr><th>student</th><th>exercise</th><th>limit hit</th>'
             '<th>seconds</th></tr></thead><tbody>' + "".join(hits) + "</tbody></table>"
             if hits else "<p>No student's code hit a limit.</p>")
    return ('<section id="time"><h2>Time</h2><p>Seconds of grading per student and exercise (the student\'s '
            'total is in the table below). In orange, and listed, the students whose code hit a limit (time, '
            'memory, output, recursion) or whose grading was stopped.</p>'
            + _figure(plots["time"], "Seconds to grade, per student and exercise") + table + "</section>")


def _no_submissions(ex) -> str:
    """An exercise nobody was graded on: said in words, not drawn as an empty histogram."""
    apart = [counted(ex.missing, "missing file"), f"{ex.not_graded + ex.pending} not graded"]
    return (f'<figure class="plot empty" data-exercise="{_e(ex.name)}"><p class="empty">{_e(ex.name)}'
            f'{": " + _e(ex.title) if ex.title else ""}: no submissions graded ({_e(", ".join(apart))}).</p>'
            f"<figcaption>{_e(ex.name)}: no submissions</figcaption></figure>")


def _summary_notes(s: Student) -> str:
    """The notes of one student in a few words: the missing exercises together ("missing: ex06, ex07"),
    then each graded 0's cause as the gradebook words it, each exercise not graded, a weaker sandbox."""
    if s.state == PENDING:
        return "not graded yet (the run was interrupted)"
    parts, missing, failed = [], [], []
    for name, cell in s.cells.items():
        if cell.state == MISSING:
            missing.append(_short(name))
        elif cell.refused:
            parts.append(f"{_short(name)}: {cell.note}")
        elif cell.state != GRADED:
            failed.append(_short(name))
    if missing:
        parts.insert(0, f"missing: {', '.join(missing)}")
    if failed:
        parts.append(f"not graded: {', '.join(failed)}")
    parts += [f"{_short(name)}: {cell.short_cause}" for name, cell in s.cells.items() if cell.short_cause]
    if "sandbox without" in s.notes:
        parts.append("weaker sandbox")
    return " · ".join(parts)


def _student_row(s: Student, data: ClassData, flagged: set[str]) -> str:
    cells = []
    for ex in data.exercises:
        cell = s.cells.get(ex.name)
        if cell is None:
            cells.append('<td class=n data-value="-1">-</td>')
        elif cell.state == GRADED:
            title = f' title="{_e(cell.zero_cause)}"' if cell.zero_cause else ""
            cells.append(f'<td class="n score" data-value="{cell.score:g}"{title}>{cell.score:g}</td>')
        elif cell.state == PENDING:
            # The gradebook leaves it empty: the grade is not known yet.
            cells.append(f'<td class="n score pending" data-value="-1" title="{_e(cell.note)}">'
                         '<small>not yet</small></td>')
        else:
            # The gradebook's 0, marked: a missing or ungraded exercise is not a graded 0. One mark
            # (the legend under the table), the state in words on hover: 12 exercises fit at 1400 px.
            mark = "—" if cell.state == MISSING else "0!"
            cells.append(f'<td class="n score {"missing" if cell.state == MISSING else "error"}" data-value="0" '
                         f'title="{_e(cell.state)}: {_e(cell.note)}" aria-label="0 {_e(cell.state)}">{mark}</td>')
    causes = "; ".join(f"{name}: {cell.zero_cause}" for name, cell in s.cells.items() if cell.zero_cause)
    tags = [s.state.replace(" ", "-")]
    if any(c.limits for c in s.cells.values()):
        tags.append("limit")
    if any(c.state == GRADED and c.score == 0 for c in s.cells.values()):
        tags.append("zero")
    if s.slug in flagged:
        tags.append("similar")
    short = _summary_notes(s)
    full = "".join(f"<li>{html_with_code(n)}</li>" for n in s.notes.split("; ") if n)
    full += f'<li class="cause">cause: {html_with_code(causes)}</li>' if causes else ""
    notes = (f'<details><summary title="{_e(s.notes + ("; " if s.notes and causes else "") + causes)}">'
             f'{html_with_code(short)}</summary><ul>{full}</ul></details>' if short or full else "")
    if s.state == PENDING:
        total = '<td class="n total" data-value="-1"></td><td class="n percent" data-value="-1"></td>'
    else:
        total = (f'<td class="n total" data-value="{s.total:g}">{s.total:g}</td>'
                 f'<td class="n percent" data-value="{s.percent:.1f}">{s.percent:.1f}</td>')
    return (f'<tr class="student" id="row-{_e(s.slug)}" data-slug="{_e(s.slug)}" data-tags="{" ".join(tags)}">'
            f'<td class="name" data-value="{_e(s.name.lower())}"><a href="#s-{_e(s.slug)}" title="{_e(s.name)}">'
            f'{_e(s.name)}</a></td>'
            + "".join(cells) + total
            + f'<td class=n data-value="{s.seconds:g}" title="{s.seconds:g} s">{s.seconds:.1f}</td>'
              f'<td class="notes" data-full="{_e(s.notes)}">{notes}</td></tr>')


def _students_section(data: ClassData) -> str:
    by_exercise = ((data.similarity or {}).get("exercises") or {}).values()
    flagged = {side["slug"] for ex in by_exercise for p in ex.get("pairs", []) for side in (p["a"], p["b"])}
    flagged |= {slug for ex in by_exercise for slug in ex.get("review") or {}}
    heads = "".join(f'<th data-type="num" data-key="{_e(ex.name)}" title="{_e(ex.name)}: {_e(ex.title)}">'
                    f'{_e(_short(ex.name))}</th>' for ex in data.exercises)
    rows = "".join(_student_row(s, data, flagged) for s in data.students)
    pending = ('<option value="not-graded-yet">not graded yet</option>' if data.pending else "")
    return (
        '<section id="students"><h2>Students</h2>'
        '<div class="controls"><label>Filter <input id="filter" type="search" placeholder="name, note, cause..."></label> '
        '<label>Show <select id="show"><option value="">everyone</option><option value="zero">a graded 0</option>'
        f'<option value="not-graded">not graded</option>{pending}<option value="missing">handed in nothing</option>'
        '<option value="limit">hit a limit</option><option value="similar">flagged as similar or for review</option></select></label> '
        '<span id="shown"></span></div>'
        '<p class="meta">Notes in short; click one for the gradebook\'s full notes and the cause of each 0 '
        '(the first line the grader gave).</p>'
        '<table id="students-table" class="sortable"><thead><tr><th data-type="text" data-key="student">student</th>'
        + heads
        + '<th data-type="num" data-key="total">total</th><th data-type="num" data-key="percent">percent</th>'
          '<th data-type="num" data-key="seconds">seconds</th><th data-type="text" data-key="notes">notes</th>'
          f'</tr></thead><tbody>{rows}</tbody></table>'
          '<p class="meta legend">— handed in nothing (0 in the gradebook) · 0! not graded: the grading failed or '
          'was stopped (0 in the gradebook, left out of the figures) · "not yet": an interrupted run did not reach '
          'it · hover a cell for its note</p></section>')


def _student_detail(s: Student) -> str:
    parts = []
    for name, cell in s.cells.items():
        head = f"<h4>{_e(name)}: "
        if cell.state != GRADED:
            parts.append(head + f"{_e(cell.state)}</h4><p>{_e(cell.note)}</p>")
            continue
        total = sum(c.max_score for c in cell.checks)
        rows = "".join(
            f'<tr class="{_e(c.status)}"><td>{_e(c.name)}</td><td>{_e(c.status)}</td><td class=n>{c.score:g} / '
            f'{c.max_score:g}</td><td>{_e(c.kind)}</td><td class=n>{c.seconds:.3g}</td><td>{html_with_code(c.first_line)}'
            + "".join(f"<div class=hint>Hint: {_e(h)}</div>" for h in c.hints) + "</td></tr>"
            + (f'<tr class="curves"><td colspan=6>{figures(c.curves)}</td></tr>' if c.curves else "")
            for c in cell.checks)
        parts.append(head + f"{cell.score:g} / {total:g}</h4><p class=meta>file {_e(cell.file)}, "
                            f"{_num(cell.seconds)} s{'; hit: ' + _e(', '.join(cell.limits)) if cell.limits else ''}</p>"
                            '<table class="plain checks"><thead><tr><th>check</th><th>status</th><th>points</th>'
                            f'<th>why</th><th>s</th><th>feedback</th></tr></thead><tbody>{rows}</tbody></table>')
    info = "".join(f" · {_e(k)}: {_e(v)}" for k, v in s.info.items())
    score = (f"not graded yet (of {s.max_score:g})" if s.state == PENDING else
             f"{s.total:g} / {s.max_score:g} ({s.percent:.1f}%)")
    return (f'<details class="student-detail" id="s-{_e(s.slug)}"><summary>{_e(s.name)} — {score}{info}</summary>'
            + (f'<p class=meta>Full report: <a href="reports/{_e(s.slug)}.json">reports/{_e(s.slug)}.json</a></p>'
               if s.has_report else "<p class=meta>No report yet: the interrupted run did not reach this student.</p>")
            + "".join(parts) + "</details>")


def _code(side: dict, regions: list[list[int]]) -> str:
    shared = {line for a, b in regions for line in range(a, b + 1)}
    lines = "".join(f'<span class="line{" shared" if i in shared else ""}" data-line="{i}">{_e(text) or " "}</span>'
                    for i, text in enumerate(side["lines"], 1))
    more = '<span class="line">… (cut)</span>' if side.get("truncated") else ""
    return f'<div class="side"><h5>{_e(side["student"])} · {_e(side["file"])}</h5><pre>{lines}{more}</pre></div>'


def _similarity_section(data: ClassData) -> str:
    sim = data.similarity
    if not sim:
        return ('<section id="similarity"><h2>Similar submissions</h2><p>Not compared: run <code>grader batch ... '
                '--similarity</code> to list the pairs of similar submissions.</p></section>')
    parts = [f'<p>Compared {_e(sim.get("made", ""))}; method: {_e(sim.get("method", ""))}. Pairs at or above {100 * float(sim.get("threshold", 0)):.0f}% '
             "(the mean share of each one's fingerprints found in the other), after removing the stub's own code "
             "and the idioms many students share. The shares beside each pair count every token of the two "
             "files beyond the stub, idioms included, and the regions pair identical code (up to names and "
             "values). <b>It never changes a grade</b>: it is evidence for a human to look at.</p>"]
    for name, ex in (sim.get("exercises") or {}).items():
        pairs = ex.get("pairs") or []
        parts.append(f"<h3>{_e(name)}: {counted(len(pairs), 'pair')} of {counted(int(ex.get('compared', 0)), 'student')} "
                     "compared</h3>")
        review = ex.get("review") or {}
        if review:
            names = {student.slug: student.name for student in data.students}
            items = "".join(f"<li>{_e(names.get(slug, slug))}: {_e(why)}</li>" for slug, why in sorted(review.items()))
            parts.append(f'<div class="review"><p>For a human to read (never a change of grade):</p><ul>{items}</ul></div>')
        skipped = ex.get("skipped") or {}
        if skipped:
            parts.append(f"<p class=meta>Not compared (too little code of their own): {_e(', '.join(sorted(skipped)))}</p>")
        for i, p in enumerate(pairs):
            regions = "".join(f"<li>lines {r['a'][0]}–{r['a'][1]} ↔ {r['b'][0]}–{r['b'][1]}</li>" for r in p["regions"])
            parts.append(
                f'<details class="pair"{" open" if i == 0 else ""} data-score="{p["score"]}" data-a="{_e(p["a"]["slug"])}" '
                f'data-b="{_e(p["b"]["slug"])}"><summary><b>{100 * p["score"]:.0f}%</b> '
                f'{_e(p["a"]["student"])} ~ {_e(p["b"]["student"])} <span class=meta>({100 * p["a_share"]:.0f}% of '
                f'the code of the first found in the second, {100 * p["b_share"]:.0f}% the other way)</span></summary>'
                f'<ul class="regions">{regions}</ul><div class="sidebyside">'
                + _code(p["a"], [r["a"] for r in p["regions"]]) + _code(p["b"], [r["b"] for r in p["regions"]])
                + "</div></details>")
    return '<section id="similarity"><h2>Similar submissions</h2>' + "".join(parts) + "</section>"


def _facts_section(data: ClassData) -> str:
    f = data.facts

    def listing(values) -> str:
        if isinstance(values, dict):
            return ", ".join(f"{_e(k)} ({n})" for k, n in values.items()) or "-"
        return ", ".join(_e(v) for v in values) or "-"

    rows = [("seed", listing(f["seeds"])
             + ' <small>(as every report of the run shows it: a public seed as its number, a secret one as '
               '<code>secret:</code> and its fingerprint, which tells runs apart and keeps the secret)</small>'),
            ("grader version (results)", listing(f["grader_versions"])),
            ("devices (results)", listing(f["devices"])),
            ("sandbox layers (results)", listing(f["sandbox_layers"])),
            *[(k, listing(v)) for k, v in f["versions"].items()],
            ("layout", listing(f["layouts"])), ("grading hosts", listing(f["hosts"])),
            ("graded", f"{_e(f['graded_from'] or '-')} to {_e(f['graded_to'] or '-')}"),
            ("report made", f"{_e(f['report_made'])} by grader {_e(__version__)}")]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<section id="facts"><h2>The run</h2><table class="plain" id="run-facts">{body}</table></section>'


def _partial(data: ClassData) -> str:
    """The banner of a report whose run was interrupted: how many students it has not graded yet."""
    if not data.pending:
        return ""
    return (f'<p id="partial" class="partial" data-pending="{data.pending}" data-students="{len(data.students)}">'
            f"<b>partial: {data.pending} of {len(data.students)} not graded yet</b> (the run was interrupted: "
            "run the same <code>grader batch</code> command again to finish; it grades only those). "
            "Their rows say <i>not yet</i>, and they are left out of every figure.</p>")


def render(data: ClassData, plots: dict) -> str:
    """The whole page."""
    page = string.Template((TEMPLATES / "page.html").read_text())
    partial = f" (partial: {data.pending} of {len(data.students)} not graded yet)" if data.pending else ""
    return page.substitute(
        title=_e(f"Class report{partial}: {counted(len(data.students), 'student')}, "
                 f"{', '.join(e.name for e in data.exercises)}"),
        partial=_partial(data),
        style=(TEMPLATES / "report.css").read_text(),
        script=(TEMPLATES / "report.js").read_text(),
        distribution=_distribution_section(data, plots),
        checks=_checks_section(data, plots),
        time=_time_section(data, plots),
        students=_students_section(data),
        details="".join(_student_detail(s) for s in data.students),
        similarity=_similarity_section(data),
        facts=_facts_section(data),
    )
