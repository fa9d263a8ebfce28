"""What the batch modules share: the usage error, the output folder's names, safe writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_FILE_BYTES = 2 * 1024 * 1024
REPORTS = "reports"  # OUT/reports/<student>.json


class BatchError(Exception):
    """The batch cannot run (a usage error)."""


def atomic_write(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def load_report(path: Path) -> dict | None:
    """A student's report from an earlier run, or None."""
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def not_reached(entry: dict) -> bool:
    """An exercise of a student report that an interrupted run did not grade:
    no result, no error, and a file to grade."""
    return not (entry.get("result") or entry.get("error") or entry.get("missing"))
