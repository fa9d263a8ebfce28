"""The course as data: assignments, the late policy, extensions, the roster.

Times are aware datetimes in UTC (compared as instants, never as wall times);
the course's zone is used to show them and to count calendar days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from grader.course.timefmt import UTC, format_duration, format_when, iso

ON_TIME, LATE, TOO_LATE, UNKNOWN = "on time", "late", "past the late due date", "time unknown"


@dataclass
class LatePolicy:
    """Grace, then ``rate`` percent per started ``per`` (hour or day) after the due date, up to ``cap``;
    after the late due date: 0 (``after_late_due: zero``) or accepted, marked late, at the cap (``accept``)."""

    grace: timedelta = timedelta(0)
    rate: float = 0.0  # percent of the score per started unit
    per: str = "day"  # hour | day (a calendar day in the course's zone: a DST day counts as one day)
    cap: float = 100.0  # the most a late submission loses, in percent
    after_late_due: str = "zero"  # zero | accept

    def describe(self) -> str:
        if not self.rate:
            text = "late work is accepted without penalty"
        else:
            text = f"-{self.rate:g}% per started {self.per} late" + (f", at most -{self.cap:g}%" if self.cap < 100 else "")
        if self.grace:
            text += f" (a grace period of {format_duration(self.grace)})"
        return text

    def units_late(self, due: datetime, submitted: datetime, tz: ZoneInfo | None) -> int:
        """Started hours or days after ``due`` (0 when not after it)."""
        if submitted <= due:
            return 0
        if self.per == "hour":
            return math.ceil((submitted - due).total_seconds() / 3600)
        # Calendar days in the course's zone: due Saturday 23:59, submitted Sunday 23:59 is one day,
        # even when the clocks changed in between (that day has 23 or 25 hours).
        local = due.astimezone(tz or UTC)
        n = max(1, (submitted - due).days - 1)
        while (local + timedelta(days=n)).astimezone(UTC) < submitted:
            n += 1
        while n > 1 and (local + timedelta(days=n - 1)).astimezone(UTC) >= submitted:
            n -= 1
        return n

    def penalty(self, due: datetime, submitted: datetime, tz: ZoneInfo | None) -> float:
        """The percentage lost (0 to 100) by a submission at ``submitted`` for ``due``, grace included."""
        if submitted <= due + self.grace:
            return 0.0
        return min(self.cap, self.rate * self.units_late(due, submitted, tz))


@dataclass
class Assignment:
    name: str
    exercises: list[str]
    due: datetime
    late_due: datetime | None = None
    title: str = ""
    attempts: int | None = None  # graded submissions with full feedback (Gradescope), None: no budget
    cooldown: timedelta | None = None  # at most one submission with full feedback per cooldown (Gradescope)


@dataclass
class Extension:
    student: str  # an email, SID or login from the roster
    assignment: str  # an assignment's name, or "*" for all
    extra: timedelta | None = None
    due: datetime | None = None
    where: str = ""  # the file and line it came from, for messages

    def applies_to(self, assignment: str) -> bool:
        return self.assignment in ("*", assignment)


@dataclass
class Student:
    name: str = ""
    email: str = ""
    sid: str = ""
    login: str = ""
    lms_id: str = ""  # the LMS's own id (Canvas's "ID" column)
    section: str = ""

    def keys(self) -> set[str]:
        """The identifiers a submission or an extension may name this student by (normalised)."""
        return {k.strip().lower() for k in (self.email, self.sid, self.login) if k and k.strip()}


@dataclass
class Roster:
    students: list[Student] = field(default_factory=list)
    path: Path | None = None
    columns: dict[str, str] = field(default_factory=dict)  # our field -> the CSV's header
    headers: list[str] = field(default_factory=list)  # every header (a Canvas export's "hw1 (12345)" columns)

    def find(self, *identifiers: str) -> Student | None:
        """The student any of ``identifiers`` (email, SID, login) names, or None."""
        wanted = {str(i).strip().lower() for i in identifiers if i and str(i).strip()}
        for student in self.students:
            if student.keys() & wanted:
                return student
        return None


@dataclass
class Course:
    root: Path
    name: str
    term: str
    timezone: ZoneInfo
    assignments: dict[str, Assignment]
    late_policy: LatePolicy
    extensions: list[Extension] = field(default_factory=list)
    roster: Roster | None = None
    path: Path | None = None

    def assignment_of(self, exercise: str) -> Assignment | None:
        for a in self.assignments.values():
            if exercise in a.exercises:
                return a
        return None

    def when(self, instant: datetime) -> str:
        return format_when(instant, self.timezone)

    def extensions_for(self, assignment: str, identifiers: set[str]) -> list[Extension]:
        """The extensions given to the student known by ``identifiers`` (email, SID, login, name) for ``assignment``."""
        ids = {i.strip().lower() for i in identifiers if i and i.strip()}
        student = self.roster.find(*ids) if self.roster else None
        if student is not None:
            ids |= student.keys()
        return [e for e in self.extensions if e.applies_to(assignment) and e.student.strip().lower() in ids]

    def deadlines(self, assignment: Assignment, identifiers: set[str] = frozenset()) -> tuple[datetime, datetime | None, str]:
        """The due date and late due date for this student (extensions applied) and how the extension reads."""
        due, late_due, why = assignment.due, assignment.late_due, ""
        for ext in self.extensions_for(assignment.name, set(identifiers)):
            new_due = ext.due if ext.due is not None else assignment.due + (ext.extra or timedelta(0))
            if new_due > due:
                shift = new_due - assignment.due
                due = new_due
                late_due = assignment.late_due + shift if assignment.late_due else None
                why = (f"extension to {self.when(due)}" if ext.due is not None
                       else f"extension of {format_duration(shift)}")
        if late_due is not None and late_due < due:
            late_due = due
        return due, late_due, why


@dataclass
class Lateness:
    """How late one submission of one assignment was, and what that costs (a separate, explained step)."""

    assignment: str
    status: str  # ON_TIME | LATE | TOO_LATE | UNKNOWN
    source: str  # which trusted time decided it; for an unknown time, why there is none ("" when not said)
    submitted: datetime | None
    due: datetime
    late_due: datetime | None
    penalty: float  # percent of the raw score lost
    extension: str = ""
    policy: str = ""

    @property
    def late_by(self) -> timedelta:
        return max(self.submitted - self.due, timedelta(0)) if self.submitted else timedelta(0)

    def final(self, raw: float) -> float:
        return round(raw * (1 - self.penalty / 100.0), 6)

    def line(self, course: Course) -> str:
        """What the student's report says about it."""
        if self.status == UNKNOWN:  # with a source, it says why there is no time ("nothing pushed ...")
            return f"{self.assignment}: {self.source or 'submission time unknown: graded as on time'}"
        ext = f" ({self.extension})" if self.extension else ""
        if self.status == ON_TIME:
            return f"{self.assignment}: submitted on time{ext}"
        late = f"submitted {format_duration(self.late_by)} after the due date{ext}"
        if self.status == TOO_LATE:
            if self.penalty >= 100:
                return f"{self.assignment}: {late}, past the late due date {course.when(self.late_due)}: " \
                       f"−100% (course late policy)"
            return f"{self.assignment}: {late}, past the late due date: accepted, marked late, " \
                   f"−{self.penalty:g}% (course late policy)"
        if not self.penalty:
            return f"{self.assignment}: {late}: no penalty (course late policy: {self.policy})"
        return f"{self.assignment}: {late}: −{self.penalty:g}% (course late policy)"

    def to_dict(self) -> dict:
        return {"assignment": self.assignment, "status": self.status, "source": self.source,
                "submitted_at": iso(self.submitted), "due": iso(self.due), "late_due": iso(self.late_due),
                "late_by_seconds": int(self.late_by.total_seconds()), "late_by": (
                    format_duration(self.late_by) if self.late_by else ""),
                "penalty_percent": self.penalty, "extension": self.extension}


def lateness(course: Course, assignment: Assignment, submitted: datetime | None, source: str,
             identifiers: set[str] = frozenset(), extra_due: datetime | None = None) -> Lateness:
    """Decide lateness from a trusted time (None: unknown, graded as on time).
    ``extra_due``: a due date the platform gives this student (Gradescope's own extension); the later wins."""
    due, late_due, ext = course.deadlines(assignment, set(identifiers))
    if extra_due is not None and extra_due > due:
        shift = extra_due - due
        due, late_due = extra_due, (late_due + shift if late_due else None)
        ext = f"extension to {course.when(due)} (Gradescope)"
    policy = course.late_policy
    base = dict(assignment=assignment.name, source=source, submitted=submitted,
                due=due, late_due=late_due, extension=ext, policy=policy.describe())
    if submitted is None:
        return Lateness(status=UNKNOWN, penalty=0.0, **base)
    if submitted <= due:
        return Lateness(status=ON_TIME, penalty=0.0, **base)
    if late_due is not None and submitted > late_due:
        penalty = 100.0 if policy.after_late_due == "zero" else policy.penalty(due, submitted, course.timezone)
        return Lateness(status=TOO_LATE, penalty=penalty, **base)
    return Lateness(status=LATE, penalty=policy.penalty(due, submitted, course.timezone), **base)
