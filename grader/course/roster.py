"""The roster: the LMS's own CSV export (Canvas gradebook, Moodle participants, or any CSV with a header).

Columns are recognised by their header, case and spaces ignored: Canvas's
``Student, ID, SIS User ID, SIS Login ID, Section``; Moodle's ``First name,
Last name/Surname, ID number, Email address, Username``; or plain ``name, email,
sid, login``. Canvas's "Points Possible" row and blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.course.model import Roster, Student

_ALIASES = {
    "name": ("name", "student", "student name", "full name", "fullname"),
    "first": ("first name", "firstname", "given name"),
    "last": ("last name", "lastname", "surname", "family name"),
    "email": ("email", "email address", "e-mail", "e-mail address", "mail"),
    "sid": ("sid", "student id", "sis user id", "id number", "idnumber", "student number", "matriculation number"),
    "login": ("login", "username", "user name", "sis login id", "login id", "github", "github username",
              "github login", "github_username"),
    "lms_id": ("id", "canvas id", "user id"),
    "section": ("section", "sections", "group", "groups"),
}


class RosterError(ValueError):
    """The roster cannot be read (the message names the file and what is wrong)."""


def _norm(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").strip().lower().replace("_", " ").split())


def read_roster(path: Path) -> Roster:
    """Read ``path``; at least one of email, SID or login must be a column."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text (export the roster as CSV, UTF-8)") from None
    except OSError as exc:
        raise RosterError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise RosterError(f"{path}: empty")
    header = [_norm(h) for h in rows[0]]
    columns: dict[str, int] = {}
    for key, names in _ALIASES.items():
        for i, h in enumerate(header):
            if h in names and key not in columns:
                columns[key] = i
    if not {"email", "sid", "login"} & set(columns):
        raise RosterError(f"{path}: no column of emails, student ids or logins (found: {', '.join(rows[0])}); "
                          f"name one 'email', 'sid' or 'login'")
    roster = Roster(path=Path(path), columns={k: rows[0][i] for k, i in columns.items()},
                    headers=[h.replace("\ufeff", "").strip() for h in rows[0]])
    for row in rows[1:]:
        get = lambda key: row[columns[key]].strip() if key in columns and columns[key] < len(row) else ""  # noqa: E731
        name = get("name") or " ".join(p for p in (get("first"), get("last")) if p)
        if not any(cell.strip() for cell in row) or name.lower().startswith("points possible"):
            continue
        student = Student(name=name, email=get("email"), sid=get("sid"), login=get("login"),
                          lms_id=get("lms_id"), section=get("section"))
        if student.keys():
            roster.students.append(student)
    return roster
