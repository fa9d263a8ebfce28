"""Making untrusted text safe to show on a terminal, a web page or a CI log."""

from __future__ import annotations

import re

# C0/C1 control characters except tab and newline (this removes ESC, so no
# terminal escape sequence survives), plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# GitHub Actions reads a line starting with "::" (after optional spaces) as a
# workflow command.
_WORKFLOW_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


def sanitize(text: str, limit: int = 4000) -> str:
    """Return ``text`` with control characters and workflow commands defused,
    cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[:limit] + f"\n... ({len(text) - limit} more characters not shown)"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("\ufffd", text)
    return _WORKFLOW_COMMAND.sub("\\1:\u200b", text)


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.splitlines())
