"""Report formats for CI: JUnit XML, and GitHub's job summary and annotations.

- :func:`to_junit`: one ``<testsuite>`` per exercise, one ``<testcase>`` per
  check; a failed check is a ``<failure>`` whose message is the first line of
  the feedback and whose text is all of it (an ``<error>`` for a fault of the
  grader). Every string is XML-escaped by the serialiser, and the characters
  XML 1.0 cannot hold (control characters) are removed first.
- :func:`github_summary`: a markdown job summary (a table: exercise, score,
  what failed and the hint; then the full feedback per failed check). Text
  that came from the student's side is made inert: HTML-escaped, with the
  markdown punctuation written as character references, so it can neither
  format, link, mention nor close the surrounding block.
- :func:`github_annotations`: ``::error file=…,line=…,title=…::message``
  workflow commands pointing at the ``def`` of the student's failing
  function. Data and properties are escaped by GitHub's rules (``%``, ``\\r``,
  ``\\n``, and in properties also ``:`` and ``,``), so a message is always one
  command and cannot start another.
- :func:`stop_commands` wraps a log text in a ``::stop-commands::`` block with
  a random token, so nothing in it is read as a workflow command.

The function a check is about comes from the check's ``function:`` key in
exercise.yaml, else from the check itself: the student's function it called
last (recorded by the grader as the check runs, never read from the
feedback). The line of ``def <function>`` is found with :mod:`ast` in the
grader's process (the student's file is parsed, never run); an annotation
always has a line (the file's first when no function's ``def`` can be told).

GitHub shows at most 10 annotations of a level per step and 50 per job and
drops the rest silently: :func:`github_annotations` keeps within that, errors
first, and adds one ``::notice`` saying how many were left out; it keeps room
for the notices `grader ci` prints besides (GitHub Classroom's points:
:mod:`grader.course.classroom`).
"""

from __future__ import annotations

import ast
import os
import re
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

from grader.exercises import Exercise
from grader.report import _points, wall_seconds
from grader.results import ERROR, FAILED, PASSED, CheckResult, ExerciseResult

# -- escaping -------------------------------------------------------------------------

# Characters XML 1.0 cannot hold (not even as references); C1 controls and
# DEL, which it can but no CI viewer shows sensibly; and the characters that
# fake a line break or reorder text (U+2028, U+2029, bidirectional controls).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
                          "\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def xml_clean(text: str) -> str:
    """``text`` without the characters an XML document cannot carry."""
    return _XML_INVALID.sub("", str(text))


def escape_data(text: str) -> str:
    """Escape the message of a workflow command (GitHub's ``escapeData``)."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value of a workflow command (GitHub's ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# Only what Markdown (GFM) and HTML would read as syntax is escaped, so that
# the summary reads well as a file too: HTML's ``& < >`` as entities; with a
# backslash, the characters that make code spans, emphasis (``_`` only at a
# word's edge: ``ex01_sigmoid`` is left alone), links and images, tables,
# strikethrough and math; a ``#`` that would start a heading. Autolinks
# (``://``) and mentions (``@name``) are broken with a character reference.
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_INLINE = re.compile(r"[\\`*\[\]|~$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _html_escape(text: str) -> str:
    return "".join(_HTML.get(c, c) for c in text)


def _no_links(text: str) -> str:
    """Break autolinks and mentions (GitHub makes them even where Markdown is otherwise literal)."""
    return re.sub(r"@(?=\w)", "&#64;", text.replace("://", "&#58;//"))


def md_text(text: str) -> str:
    """Untrusted text as inert markdown (one line; newlines become ``<br>``)."""
    out = _no_links(_MD_INLINE.sub(lambda m: "\\" + m.group(0), _html_escape(xml_clean(text))))
    out = re.sub(r"(?m)^(\s*)#", r"\1\\#", out)
    return out.replace("\r\n", "\n").replace("\n", "<br>")


def md_pre(text: str) -> str:
    """Untrusted multi-line text as a ``<pre>`` block that renders literally.

    Inside ``<pre>`` (an HTML block that only ``</pre>`` ends) Markdown is not
    read: only HTML's ``& < >`` need escaping (and links and mentions breaking)."""
    body = _no_links(_html_escape(xml_clean(text).replace("\r\n", "\n")))
    # Nor a line that a log would read as a workflow command, should the file be printed.
    body = re.sub(r"(?m)^(\s*):", r"\1&#58;", body)
    return "<pre>" + body.rstrip("\n") + "</pre>"


def stop_commands(text: str, token: str | None = None) -> str:
    """``text`` inside a stop-commands block: GitHub ignores workflow commands in it."""
    token = token or secrets.token_hex(16)
    return f"::stop-commands::{token}\n{text.rstrip()}\n::{token}::"


# -- which function a check is about, and where it is -------------------------------------


def _student_source(submission: str | Path, ex: Exercise) -> Path | None:
    """The file graded for ``ex``: ``submission`` itself, or the exercise's file in that folder."""
    path = Path(submission) if submission else ex.student_file
    if path.is_dir():
        candidates = [path / ex.file, path / ex.name / ex.file, path / "exercises" / ex.name / ex.file,
                      path / f"{ex.name}.ipynb", path / f"{ex.module}.ipynb"]
        path = next((c for c in candidates if c.is_file()), None)
    return path if path is not None and path.is_file() else None


def function_lines(path: Path) -> dict[str, int]:
    """Line of each top-level ``def`` in a Python file (empty for notebooks and broken files)."""
    if path.suffix != ".py":
        return {}
    try:
        if path.stat().st_size > 2 * 1024 * 1024:
            return {}
        tree = ast.parse(path.read_bytes())
    except Exception:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError
        return {}
    lines = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines.setdefault(node.name, node.lineno)
    return lines


def function_for(check: CheckResult, ex: Exercise) -> str | None:
    """The student's function a failed check is about (None when it cannot be told)."""
    spec = ex.checks.get(check.name) or ex.checks.get(check.name.split("[", 1)[0])
    if spec is not None and spec.function:
        return spec.function
    if check.kind in ("import", "submission"):
        return None  # the whole file failed, not one function
    return check.function or None  # recorded as the check ran: the call it made last


def _display_path(path: Path, base: Path | None) -> str:
    """``path`` relative to ``base``, the workspace or the current folder, when inside one."""
    path = path.resolve()
    for start in (base, os.environ.get("GITHUB_WORKSPACE"), Path.cwd()):
        if start:
            try:
                return path.relative_to(Path(start).resolve()).as_posix()
            except ValueError:
                continue
    return path.as_posix()


def locate(results: Iterable[ExerciseResult], exercises: Iterable[Exercise],
           base: Path | None = None, display: dict[str, str] | None = None) -> None:
    """Fill ``file`` and ``line`` of every failed check (in place).

    ``display`` maps an exercise to the path to show for its file (the path in
    the repository when the graded file is a copy); otherwise the graded file's
    path relative to ``base``, ``$GITHUB_WORKSPACE`` or the current folder.
    """
    by_name = {ex.name: ex for ex in exercises}
    for result in results:
        ex = by_name.get(result.exercise)
        if ex is None:
            continue
        source = _student_source(result.submission, ex)
        if source is None:
            continue
        shown = (display or {}).get(ex.name) or _display_path(source, base)
        lines = function_lines(source)
        for t in result.tests:
            if t.status == PASSED:
                continue
            t.file = shown
            func = function_for(t, ex)
            t.line = lines.get(func) if func else None
            if t.line is None and t.kind == "import":
                # A syntax error or a failure at import: the traceback names the line.
                m = re.search(r"\bline (\d+)", t.output or "")
                t.line = int(m.group(1)) if m else None
            if t.line is None:
                t.line = 1  # no def to point at (a notebook, a missing function): the file's top


# -- JUnit XML --------------------------------------------------------------------------



def _first_line(text: str) -> str:
    for line in xml_clean(text or "").replace("\r", "\n").split("\n"):
        if line.strip():
            return line.strip()
    return ""


def to_junit(results: list[ExerciseResult], show_seed: bool = True) -> str:
    """JUnit XML: ``<testsuites>``, one ``<testsuite>`` per exercise, one ``<testcase>`` per check."""
    suites = ET.Element("testsuites", name="grader")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for r in results:
        failures = sum(1 for t in r.tests if t.status == FAILED)
        errors = sum(1 for t in r.tests if t.status == ERROR)
        suite = ET.SubElement(suites, "testsuite", {
            "name": xml_clean(r.exercise), "tests": str(len(r.tests)), "failures": str(failures),
            "errors": str(errors), "skipped": "0", "time": f"{r.seconds:.3f}",
        })
        props = ET.SubElement(suite, "properties")
        info = {"title": r.title, "score": _points(r.score), "max_score": _points(r.max_score),
                "seed": str(r.seed) if show_seed else "secret", "devices": ", ".join(r.devices),
                "versions": ", ".join(f"{k} {v}" for k, v in r.versions.items() if k != "executable")}
        for key, value in info.items():
            ET.SubElement(props, "property", name=key, value=xml_clean(value))
        for t in r.tests:
            attrs = {"classname": xml_clean(r.exercise), "name": xml_clean(t.name), "time": f"{t.seconds:.3f}"}
            if t.file:
                attrs["file"] = xml_clean(t.file)
            if t.line:
                attrs["line"] = str(t.line)
            case = ET.SubElement(suite, "testcase", attrs)
            case_props = ET.SubElement(case, "properties")
            ET.SubElement(case_props, "property", name="score", value=_points(t.score))
            ET.SubElement(case_props, "property", name="max_score", value=_points(t.max_score))
            text = xml_clean(t.output or "")
            if t.status == FAILED:
                node = ET.SubElement(case, "failure", message=_first_line(text) or "failed",
                                     type=xml_clean(t.kind or "failed"))
                node.text = text
            elif t.status == ERROR:
                node = ET.SubElement(case, "error", message=_first_line(text) or "grader error", type="grader")
                node.text = text
            elif text:
                ET.SubElement(case, "system-out").text = text
        totals["tests"] += len(r.tests)
        totals["failures"] += failures
        totals["errors"] += errors
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("time", f"{wall_seconds(results):.3f}")  # the run's wall time, not a sum of the suites
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# -- GitHub: job summary and annotations ----------------------------------------------------


def _hint(check: CheckResult) -> str:
    """The grader's first hint for ``check`` (structural: never read out of its output)."""
    return xml_clean(check.hints[0]) if check.hints else ""


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _what_failed(failed: list[CheckResult]) -> str:
    """The table cell: each failed check with its first line, then the distinct hints."""
    lines, hints = [], []
    for t in failed:
        first = "(hidden check)" if t.hidden else (_first_line(t.output) or t.status)
        lines.append(f"**{md_text(t.name)}**: {md_text(_cut(first, 160))}")
        hint = "" if t.hidden else _hint(t)
        if hint and hint not in hints:
            hints.append(hint)
    lines += [f"*{md_text(_cut(h, 300))}*" for h in hints[:3]]
    return "<br>".join(lines)


def github_summary(results: list[ExerciseResult], title: str = "Grading report",
                   show_seed: bool = True, notes: Iterable[str] = ()) -> str:
    """A markdown job summary: a table of exercises, then the feedback of each failed check."""
    total, best = sum(r.score for r in results), sum(r.max_score for r in results)
    pct = 100.0 * total / best if best else 0.0
    lines = [f"## {md_text(title)}", ""]
    if results:
        lines += [f"**Total: {_points(total)} / {_points(best)} ({pct:.0f}%)**", ""]
    lines += ["| exercise | score | what failed (and the hint) |", "|---|---|---|"]
    for r in results:
        failed = [t for t in r.tests if t.status != PASSED]
        cell = _what_failed(failed) or "all checks pass"
        mark = "✅" if not failed else ("⚠️" if r.grader_faults else "❌")
        lines.append(f"| {mark} {md_text(r.exercise)} | {_points(r.score)} / {_points(r.max_score)} | {cell} |")
    if not results:
        lines.append("| | | no exercise graded |")
    details = []
    for r in results:
        for t in r.tests:
            if t.status == PASSED or t.hidden or not t.output:
                continue
            where = f" ({md_text(t.file)}" + (f", line {t.line})" if t.line else ")") if t.file else ""
            details += ["<details>", f"<summary>{md_text(r.exercise)}: {md_text(t.name)} "
                        f"({_points(t.score)} / {_points(t.max_score)}){where}</summary>", "",
                        md_pre(t.output), "", "</details>", ""]
    if details:
        lines += ["", "### Feedback", ""] + details
    meta = []
    for r in results[:1]:
        v = r.versions
        seed = f"seed {r.seed}" if show_seed else "seed: secret"
        meta.append(f"{seed} · devices: {', '.join(r.devices)} · Python {v.get('python', '?')}, "
                    f"NumPy {v.get('numpy', '?')}, PyTorch {v.get('torch', '?')}, grader {v.get('grader', '?')}")
    meta += list(notes)
    if meta:
        lines += [""] + [f"<sub>{md_text(m)}</sub><br>" for m in meta]
    return "\n".join(lines).rstrip() + "\n"


# GitHub shows at most 10 annotations of each level (error, warning, notice) per step
# and 50 per job, and drops the rest without a word.
ANNOTATIONS_PER_LEVEL = 10
ANNOTATIONS_PER_JOB = 50


def github_annotations(results: list[ExerciseResult], per_level: int = ANNOTATIONS_PER_LEVEL,
                       per_job: int = ANNOTATIONS_PER_JOB, notices: int = 0) -> str:
    """``::error`` commands, one per failing function of each exercise (``::warning`` for grader faults).

    Within GitHub's limits: at most ``per_level`` of each level and ``per_job``
    in all, errors first; when some are left out, one ``::notice`` says how
    many (the job summary lists every failed check). ``notices``: the notices
    the step prints besides these (GitHub Classroom's two points lines), which
    must always fit: room is kept for them and for the "left out" notice."""
    errors, warnings = [], []
    for r in results:
        groups: dict[tuple, list[CheckResult]] = {}
        for t in r.tests:
            if t.status == PASSED:
                continue
            groups.setdefault((t.status == ERROR, t.file, t.line), []).append(t)
        for (fault, file, line), checks in groups.items():
            lost = sum(t.max_score - t.score for t in checks)
            names = ", ".join(t.name for t in checks)
            title = f"{r.exercise}: {names} (-{_points(lost)} points)"
            shown = [t for t in checks if not t.hidden]
            first = shown[0] if shown else None
            body = [_first_line(first.output)] if first else ["hidden check(s) failed"]
            hint = _hint(first) if first else ""
            if hint and hint not in body:
                body.append(hint)
            if len(checks) > 1:
                body.append(f"({len(checks)} checks failed here: {names})")
            props = []
            if file:
                props.append(f"file={escape_property(xml_clean(file))}")
                if line:
                    props.append(f"line={int(line)}")
            props.append(f"title={escape_property(xml_clean(title))}")
            command = "warning" if fault else "error"
            message = xml_clean(chr(10).join(body))  # no control characters (no terminal escapes) either
            (warnings if fault else errors).append(f"::{command} {','.join(props)}::{escape_data(message)}")
    # One left for the "left out" notice, and the caller's notices (a notice per level is 1 + notices:
    # well under per_level for Classroom's two).
    room = max(per_job - 1 - notices, 0)
    kept = errors[:min(per_level, room)]
    kept += warnings[:min(per_level, room - len(kept))]
    left_out = len(errors) + len(warnings) - len(kept)
    if left_out:
        noun = "annotation was" if left_out == 1 else "annotations were"
        kept.append("::notice title=" + escape_property("grader: annotations left out") + "::" + escape_data(
            f"{left_out} more {noun} left out (GitHub shows at most {per_level} errors and {per_level} "
            f"warnings per step): the job summary lists every failed check"))
    return "\n".join(kept)
