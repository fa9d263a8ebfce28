"""Making untrusted text safe to show on a terminal, a web page or a CI log.

Two rules hold in every report format (text, JSON, JUnit, GitHub annotations
and job summary, Gradescope, batch summaries):

- The only line break left is ``\\n``. Every other character that a terminal,
  a browser, a CI log viewer or Python's own ``str.splitlines`` reads as the
  end of a line (``\\v``, ``\\f``, U+001C..U+001E, U+0085 NEL, U+2028, U+2029)
  becomes U+FFFD, and so does every character that can hide or reorder what is
  shown: the other C0 and C1 controls (ESC, so no terminal escape sequence
  survives), DEL, the bidirectional embeddings, overrides and isolates
  (U+202A..U+202E, U+2066..U+2069) and marks, and lone surrogates (which no
  UTF-8 file can hold). ``\\r\\n`` and a lone ``\\r`` become ``\\n``.
- Text that came from the student's code is shown under a label that says so
  (:func:`quote`), every line of it prefixed with :data:`QUOTE`, so none of it
  can read as a line of the grader's: a ``Hint:``, a ``PASS``/``FAIL`` line, a
  ``Score:`` or a workflow command (``::error ...``). A fragment of it inside a
  line of the grader's (an exception's type or first line) is made one line
  first (:func:`one_line`).
"""

from __future__ import annotations

import html
import re

# C0/C1 control characters except tab and newline, DEL; the Unicode line and
# paragraph separators; bidirectional controls (LRM, RLM, ALM, embeddings,
# overrides, isolates); BOM/word joiner family and the interlinear annotation
# characters (they hide text); lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]")
# GitHub Actions reads a line starting with "::" (after optional spaces) as a
# workflow command.
_WORKFLOW_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)

# The prefix of every line of the student's own text in a report.
QUOTE = "| "


def sanitize(text: str, limit: int = 4000) -> str:
    """Return ``text`` with unsafe characters replaced (see the module's
    docstring) and workflow commands defused, cut to ``limit`` characters."""
    text = str(text)
    if len(text) > limit:
        text = text[:limit] + f"\n... ({len(text) - limit} more characters not shown)"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNSAFE.sub("\ufffd", text)
    return _WORKFLOW_COMMAND.sub("\\1:\u200b", text)


def one_line(text: str, limit: int = 300) -> str:
    """``text`` sanitised and on one line (a line break shows as ``\\n``)."""
    return sanitize(text, limit).replace("\n", "\\n")


def lines(text: str) -> list[str]:
    """The lines of sanitised text: split at ``\\n`` only (``str.splitlines``
    would also split at characters that :func:`sanitize` removed anyway)."""
    return text.split("\n") if text else []


def quote(label: str, text: str, limit: int = 4000) -> str:
    """The student's own ``text`` under ``label`` (the grader's words), every
    line prefixed with :data:`QUOTE`; empty when there is no text."""
    text = sanitize(text, limit).rstrip()
    if not text.strip():
        return ""
    return label + "\n" + "\n".join((QUOTE + line).rstrip() for line in lines(text))


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in lines(text))


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 student``, ``2 students``: a count with its noun in the right number."""
    return f"{n:g} {singular if n == 1 else plural or singular + 's'}"


_BACKTICKS = re.compile(r"`([^`\n]{1,200})`")


def html_with_code(text) -> str:
    """``text`` escaped for HTML, its `code` spans (the names and commands the grader's messages
    quote so) as ``<code>``: the notebook report and the class report show notes alike."""
    return _BACKTICKS.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(str(text)))
