"""When was it submitted: times the student does not control, and which source gave each.

- Gradescope's autograder: ``submission_metadata.json`` (``created_at``, set by
  Gradescope when the upload arrived; the student's own due dates when
  Gradescope gave them an extension; ``previous_submissions``).
- A pull request: ``pull_request.updated_at`` in the event payload GitHub wrote
  for the run (``$GITHUB_EVENT_PATH``). GitHub sets it whenever the pull request
  changes, pushes to its branch included, so it is never earlier than the
  arrival of the commit graded (``pull_request.head.sha`` of the same payload);
  the student can only make it later (by editing the pull request). Commit
  dates are never read: ``git commit --date`` and the committer's clock are the
  student's.
- A batch: a Gradescope export's ``submission_metadata.yml`` (each submission's
  ``:created_at:``), or a CSV of times the instructor supplies.

Where none exists the caller grades as on time and says "time unknown".
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from grader.course.timefmt import TimeError, parse_datetime

GRADESCOPE_SOURCE = "Gradescope upload time (submission_metadata created_at)"
GITHUB_SOURCE = "GitHub pull request event (pull_request.updated_at)"
EXPORT_SOURCE = "Gradescope export (submission_metadata.yml created_at)"
CSV_SOURCE = "instructor's times CSV"


@dataclass
class Submitted:
    """A trusted submission time (``at`` None: unknown) and what the platform says about the student."""

    at: datetime | None = None
    source: str = ""
    identifiers: set[str] = field(default_factory=set)  # emails, SIDs, logins of the submitters
    due: datetime | None = None  # the student's own due date on the platform (an extension there)
    previous: int | None = None  # graded submissions before this one (None: no trusted count)
    previous_times: list[datetime] = field(default_factory=list)  # when they were made (Gradescope's record)
    note: str = ""  # why no time was found, for the staff
    # assignment -> (time, source) where each assignment has its own (a Classroom clone graded per deadline)
    per_assignment: dict[str, tuple[datetime | None, str]] = field(default_factory=dict)

    def for_assignment(self, name: str) -> tuple[datetime | None, str]:
        return self.per_assignment.get(name, (self.at, self.source))


def _time(value, what: str) -> datetime | None:
    try:
        return parse_datetime(value, what)
    except TimeError:
        return None


def from_gradescope_metadata(path: Path) -> Submitted:
    """``/autograder/submission_metadata.json`` (written by Gradescope, outside the student's reach)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return Submitted(note=f"no usable {Path(path).name} ({exc})")
    if not isinstance(data, dict):
        return Submitted(note=f"{Path(path).name}: not an object")
    at = _time(data.get("created_at"), "created_at")
    ids, own_due = set(), None
    for user in data.get("users") or []:
        if isinstance(user, dict):
            ids |= {str(user[k]) for k in ("email", "sid") if user.get(k)}
            mine = user.get("assignment") if isinstance(user.get("assignment"), dict) else {}
            due = _time(mine.get("due_date"), "due_date") if mine.get("due_date") else None
            if due is not None and (own_due is None or due > own_due):
                own_due = due
    previous = data.get("previous_submissions")
    times = [t for t in (_time(p.get("submission_time"), "submission_time") for p in previous
                         if isinstance(p, dict) and p.get("submission_time")) if t is not None] \
        if isinstance(previous, list) else []
    return Submitted(at=at, source=GRADESCOPE_SOURCE if at else "", identifiers=ids, due=own_due,
                     previous=len(previous) if isinstance(previous, list) else None, previous_times=times,
                     note="" if at else "submission_metadata.json has no readable created_at")


def from_github_event(path: Path | None, event_name: str = "") -> Submitted:
    """The time GitHub recorded for the pull request event that started this job (see the module's docstring)."""
    if not path:
        return Submitted(note="no GitHub event payload ($GITHUB_EVENT_PATH)")
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return Submitted(note=f"unreadable GitHub event payload ({exc})")
    pr = data.get("pull_request") if isinstance(data, dict) else None
    if not isinstance(pr, dict):
        return Submitted(note=f"a {event_name or 'non-pull-request'} event: no trusted submission time")
    at = _time(pr.get("updated_at"), "updated_at")
    user = pr.get("user") if isinstance(pr.get("user"), dict) else {}
    ids = {str(user["login"])} if user.get("login") else set()
    return Submitted(at=at, source=GITHUB_SOURCE if at else "", identifiers=ids,
                     note="" if at else "the event payload has no readable pull_request.updated_at")


def from_gradescope_export(meta: dict, key: str) -> Submitted:
    """One submission of a Gradescope export's ``submission_metadata.yml`` (already parsed)."""
    record = meta.get(key) if isinstance(meta, dict) else None
    if not isinstance(record, dict):
        return Submitted(note=f"{key}: not in submission_metadata.yml")
    value = record.get(":created_at", record.get("created_at"))
    at = _time(value, "created_at") if value is not None else None
    return Submitted(at=at, source=EXPORT_SOURCE if at else "",
                     note="" if at else f"{key}: no readable :created_at:")


def read_times_csv(path: Path) -> dict[str, datetime]:
    """The instructor's CSV: a ``student`` column (folder name, email, SID or login) and ``submitted_at``
    (a date with its timezone). Raises ValueError naming the line of any bad row."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    if "student" not in fields or "submitted_at" not in fields:
        raise ValueError(f"{path}: needs the columns student and submitted_at (found: "
                         f"{', '.join(reader.fieldnames or []) or 'none'})")
    times = {}
    for line, row in enumerate(reader, 2):
        who = (row.get(fields["student"]) or "").strip()
        when = (row.get(fields["submitted_at"]) or "").strip()
        if not who and not when:
            continue
        try:
            times[who.lower()] = parse_datetime(when, "submitted_at")
        except TimeError as exc:
            raise ValueError(f"{path}, line {line}: {exc}") from None
    return times
