"""The score cache behind `grader list`, and how long each exercise took.

It lives outside the course folder (grading never writes into it), keyed by the
content of the student's file, the grader's version and the seed, so a score
shown is the current one. The durations only order `grader check --all`'s
jobs (the slowest first): nothing read from here changes a score.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("GRADER_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "grader")
    return Path(base)


def oracle_store():
    """The oracle's cache (oraclecache.OracleStore), beside the scores."""
    from grader.oraclecache import OracleStore

    return OracleStore(cache_dir() / "oracle")


def _key(ex) -> str | None:
    try:
        content = ex.student_file.read_bytes()
        # A capstone's score depends on the student's modules it imports too.
        from grader.submission import companion_sources

        for name, path in sorted(companion_sources(ex.student_file, ex).items()):
            content += f"|{name}|".encode() + path.read_bytes()
    except OSError:
        return None
    for notebook in (ex.path / f"{ex.name}.ipynb", ex.path / f"{ex.module}.ipynb"):
        # The notebook beside the file may be what is graded (submission.graded_file): a change to it counts.
        try:
            content += b"\0" + notebook.read_bytes()
        except OSError:
            pass
    from grader import __version__
    from grader.plugin import seed_from_env

    digest = hashlib.sha256(content + f"|{ex.name}|{__version__}|{seed_from_env()}".encode()).hexdigest()
    return digest[:32]


def store(ex, result) -> None:
    key = _key(ex)
    if key is None:
        return
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{key}.json").write_text(json.dumps({"score": result.score, "max_score": result.max_score}))
    except OSError:
        pass  # a read-only home: `grader list` just grades again


def load(ex) -> dict | None:
    key = _key(ex)
    if key is None:
        return None
    try:
        return json.loads((cache_dir() / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None


def load_durations() -> dict[str, float]:
    """Seconds each exercise's checks took at the last `grader check --all`
    ({} when unknown or unreadable)."""
    try:
        data = json.loads((cache_dir() / "durations.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


def store_durations(results) -> None:
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "durations.json").write_text(json.dumps({r.exercise: r.seconds for r in results}))
    except OSError:
        pass  # only the order of the next run's jobs depends on it
