"""course.yaml: loading and checking it, trusted submission times, late penalties at their boundaries."""

import json
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.course import CourseError, load_course, public_course_yaml
from grader.course.apply import outcome
from grader.course.model import LATE, ON_TIME, TOO_LATE, UNKNOWN, LatePolicy, lateness
from grader.course.timefmt import TimeError, format_duration, parse_datetime, parse_duration
from grader.course.times import (EXPORT_SOURCE, GITHUB_SOURCE, GRADESCOPE_SOURCE, Submitted, from_github_event,
                                 from_gradescope_export, from_gradescope_metadata, read_times_csv)

UTC = timezone.utc
PARIS_DUE = "2026-10-24 23:59 Europe/Paris"  # the night before the clocks go back (25 October 2026)

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section
    Points Possible,,,,
Ada Lovelace,101,s001,ada,A
Bob Babbage,102,s002,bob,A
Cyd Hopper,103,s003,cyd,B
"""


def make_course(root: Path, course_yaml: str, roster: str = ROSTER, extensions: str | None = None) -> Path:
    for name in ("ex01_sigmoid", "ex02_propagate", "ex05_softmax"):
        (root / "exercises" / name).mkdir(parents=True, exist_ok=True)
        (root / "exercises" / name / "exercise.yaml").write_text(f"name: {name}\nfile: x.py\n")
    (root / "course.yaml").write_text(textwrap.dedent(course_yaml))
    (root / "roster.csv").write_text(textwrap.dedent(roster))
    if extensions is not None:
        (root / "extensions.csv").write_text(textwrap.dedent(extensions))
    return root


GOOD = f"""\
    name: Deep learning from scratch
    term: Autumn 2026
    timezone: Europe/Paris
    roster: roster.csv
    extensions: extensions.csv
    late_policy:
      grace: 15 min
      penalty: 10%
      per: day
      max_penalty: 30%
      after_late_due: zero
    assignments:
      hw1:
        exercises: [ex01, ex02_propagate]
        due: {PARIS_DUE}
        late_due: 2026-10-31T23:59:00+01:00
        attempts: 3
      hw2:
        exercises: [softmax]
        due: 2026-11-15T23:59:00Z
"""
EXTENSIONS = """\
    student,assignment,extra,due
    s002,hw1,2 days,
    cyd,hw2,,2026-11-20 12:00 America/New_York
"""


@pytest.fixture
def course(tmp_path):
    return load_course(make_course(tmp_path, GOOD, extensions=EXTENSIONS))


def test_a_good_course_loads(course):
    assert course.name == "Deep learning from scratch" and course.timezone.key == "Europe/Paris"
    hw1 = course.assignments["hw1"]
    assert hw1.exercises == ["ex01_sigmoid", "ex02_propagate"] and hw1.attempts == 3
    assert hw1.due == datetime(2026, 10, 24, 21, 59, tzinfo=UTC)  # 23:59 CEST is 21:59 UTC
    assert course.assignment_of("ex05_softmax").name == "hw2"
    assert [s.login for s in course.roster.students] == ["ada", "bob", "cyd"]  # "Points Possible" skipped
    assert course.late_policy == LatePolicy(timedelta(minutes=15), 10.0, "day", 30.0, "zero")


def test_no_course_file_means_no_course(tmp_path):
    assert load_course(tmp_path) is None


def test_every_mistake_is_reported_with_where_it_is(tmp_path):
    bad = """\
        name: x
        timezone: Europe/Pariss
        roster: roster.csv
        extensions:
          - {student: nobody@example.edu, assignment: hw1, extra: 1 day}
          - {student: ada, assignment: hw9, extra: 1 day}
        late_policy: {penalty: 150%, per: week}
        assignments:
          hw1:
            exercises: [ex01, ex99]
            due: 2026-09-21 23:59:00
          hw2:
            exercises: [ex01]
            due: 2026-09-21
          hw3:
            exercises: [ex05]
            due: 2026-10-25 02:30 Europe/Paris
    """
    with pytest.raises(CourseError) as info:
        load_course(make_course(tmp_path, bad))
    text = str(info.value)
    assert "unknown time zone 'Europe/Pariss'" in text
    assert "assignments.hw1.exercises: unknown exercise 'ex99'" in text
    assert "assignments.hw1.due: due date 2026-09-21 23:59:00 has no timezone" in text
    assert "assignments.hw2.exercises: ex01_sigmoid is already in assignment hw1" in text
    assert "assignments.hw2.due: due date 2026-09-21 has no time and no timezone" in text
    assert "happens twice in Europe/Paris" in text  # 02:30 on the night the clocks go back
    assert "'nobody@example.edu' is nobody in the roster" in text
    assert "no assignment called 'hw9'" in text
    assert "late_policy" in text and "not between 0% and 100%" in text  # the first policy error is named


def test_policy_errors_one_at_a_time(tmp_path):
    for policy, message in (("{penalty: 10%, per: week}", "per: 'hour' or 'day'"),
                            ("{max_penalty: 101%}", "max_penalty: 101% is not between"),
                            ("{after_late_due: maybe}", "after_late_due: 'zero'"),
                            ("{grace: soon}", "grace 'soon': expected a duration")):
        make_course(tmp_path, f"timezone: UTC\nlate_policy: {policy}\nassignments: {{}}\n")
        with pytest.raises(CourseError, match=message.replace("(", r"\(")):
            load_course(tmp_path)


def test_an_extension_needs_a_roster_to_be_checked_against(tmp_path):
    make_course(tmp_path, "timezone: UTC\nextensions: [{student: ada, extra: 1 day}]\nassignments: {}\n")
    with pytest.raises(CourseError, match="give a roster"):
        load_course(tmp_path)


def test_dates_and_durations():
    with pytest.raises(TimeError, match="does not exist"):
        parse_datetime("2026-03-29 02:30 Europe/Paris")  # the clocks jump from 2:00 to 3:00
    assert parse_datetime("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_datetime("2026-01-01 09:00 America/New_York") == datetime(2026, 1, 1, 14, tzinfo=UTC)
    assert parse_duration("1 day 12 h") == timedelta(hours=36) and parse_duration(90) == timedelta(seconds=90)
    assert format_duration(timedelta(hours=2, minutes=10, seconds=5)) == "2 h 10 min"
    assert format_duration(timedelta(days=1, minutes=3)) == "1 day"
    assert format_duration(timedelta(seconds=1)) == "1 s"


# -- late work at the boundaries ---------------------------------------------------------------------


def _late(course, assignment, when, who=("ada",)):
    return lateness(course, course.assignments[assignment], when, "test", set(who))


def test_exactly_at_the_due_date_is_on_time_one_second_after_is_late(course):
    due = course.assignments["hw2"].due
    assert _late(course, "hw2", due).status == ON_TIME
    late = _late(course, "hw2", due + timedelta(seconds=1))
    # Within the 15 minutes' grace: late, marked, no penalty.
    assert late.status == LATE and late.penalty == 0 and late.late_by == timedelta(seconds=1)
    assert _late(course, "hw2", due + timedelta(minutes=15)).penalty == 0
    assert _late(course, "hw2", due + timedelta(minutes=15, seconds=1)).penalty == 10  # one day started
    assert _late(course, "hw2", due + timedelta(days=1)).penalty == 10
    assert _late(course, "hw2", due + timedelta(days=1, seconds=1)).penalty == 20
    assert _late(course, "hw2", due + timedelta(days=9)).penalty == 30  # the cap


def test_a_day_late_across_the_clock_change_is_one_day(course):
    """hw1 is due Saturday 24 October 23:59 in Paris; the clocks go back that night (a 25-hour Sunday)."""
    due = course.assignments["hw1"].due
    sunday_2359 = parse_datetime("2026-10-25 23:59 Europe/Paris")
    assert sunday_2359 - due == timedelta(hours=25)
    assert _late(course, "hw1", sunday_2359).penalty == 10  # one calendar day, not two
    assert _late(course, "hw1", sunday_2359 + timedelta(seconds=1)).penalty == 20


def test_another_timezone_and_the_late_due_date(course):
    due = course.assignments["hw1"].due
    # The same instant written in New York: 17:59 EDT is 23:59 CEST.
    assert _late(course, "hw1", parse_datetime("2026-10-24 17:59 America/New_York")).status == ON_TIME
    assert _late(course, "hw1", parse_datetime("2026-10-24T18:00:00-04:00")).status == LATE
    late_due = course.assignments["hw1"].late_due
    assert _late(course, "hw1", late_due).status == LATE and _late(course, "hw1", late_due).penalty == 30
    past = _late(course, "hw1", late_due + timedelta(seconds=1))
    assert past.status == TOO_LATE and past.penalty == 100 and past.final(8) == 0
    assert due < late_due


def test_accepted_marked_late_after_the_late_due_date(tmp_path):
    text = GOOD.replace("after_late_due: zero", "after_late_due: accept")
    course = load_course(make_course(tmp_path, text, extensions=EXTENSIONS))
    past = _late(course, "hw1", course.assignments["hw1"].late_due + timedelta(hours=1))
    assert past.status == TOO_LATE and past.penalty == 30 and "accepted, marked late" in past.line(course)


def test_extensions_by_sid_login_or_a_new_date(course):
    hw1, hw2 = course.assignments["hw1"], course.assignments["hw2"]
    # Bob (SID s002) has 2 more days for hw1; his late due date moves with it.
    assert _late(course, "hw1", hw1.due + timedelta(days=2), who=("bob@x", "bob")).status == ON_TIME
    bob = _late(course, "hw1", hw1.due + timedelta(days=2, hours=1), who=("bob",))
    assert bob.status == LATE and bob.due == hw1.due + timedelta(days=2) and "extension of 2 days" in bob.extension
    assert bob.late_due == hw1.late_due + timedelta(days=2)
    # Ada has none.
    assert _late(course, "hw1", hw1.due + timedelta(days=2), who=("ada",)).status == LATE
    # Cyd: a new due date, written in New York time.
    assert _late(course, "hw2", parse_datetime("2026-11-20T17:00:00Z"), who=("cyd",)).status == ON_TIME
    assert _late(course, "hw2", hw2.due + timedelta(hours=1), who=("ada",)).penalty == 10


def test_the_students_report_line(course):
    due = course.assignments["hw2"].due
    late = _late(course, "hw2", due + timedelta(hours=2, minutes=10))
    assert late.line(course) == "hw2: submitted 2 h 10 min after the due date: −10% (course late policy)"
    assert lateness(course, course.assignments["hw2"], None, "", set()).line(course) == \
        "hw2: submission time unknown: graded as on time"


def test_outcome_keeps_the_raw_score_and_penalises_per_assignment(course):
    hw1_due = course.assignments["hw1"].due
    result = outcome(course, {"ex01_sigmoid": 10.0, "ex02_propagate": 5.0, "ex05_softmax": 4.0},
                     Submitted(hw1_due + timedelta(hours=20), "test", {"ada"}))
    assert result.raw == 19.0
    assert result.exercises["ex01_sigmoid"] == {"assignment": "hw1", "raw": 10.0, "penalty_percent": 10.0,
                                                "final": 9.0}
    assert result.exercises["ex05_softmax"]["penalty_percent"] == 0  # hw2 is due later
    assert result.final == 9.0 + 4.5 + 4.0
    unknown = outcome(course, {"ex01_sigmoid": 10.0}, Submitted(note="none"))
    assert unknown.final == 10.0 and unknown.lateness["hw1"].status == UNKNOWN


# -- trusted times -----------------------------------------------------------------------------------


def test_gradescope_submission_metadata(tmp_path):
    meta = {
        "id": 123456, "created_at": "2026-10-25T01:14:32.365935+02:00",
        "assignment": {"due_date": "2026-10-24T23:59:00.000000+02:00", "late_due_date": None,
                       "title": "hw1", "total_points": "20.0"},
        "submission_method": "upload",
        "users": [{"email": "bob@example.edu", "id": 1234, "name": "Bob",
                   "assignment": {"due_date": "2026-10-26T23:59:00.000000+01:00"}}],
        "previous_submissions": [{"submission_time": "2026-10-24T20:00:00.0+02:00", "score": 3.0,
                                  "results": {}}],
    }
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps(meta))
    got = from_gradescope_metadata(path)
    assert got.at == datetime(2026, 10, 24, 23, 14, 32, 365935, tzinfo=UTC) and got.source == GRADESCOPE_SOURCE
    assert got.identifiers == {"bob@example.edu"} and got.previous == 1
    assert got.previous_times == [datetime(2026, 10, 24, 18, tzinfo=UTC)]
    assert got.due == datetime(2026, 10, 26, 22, 59, tzinfo=UTC)
    path.write_text("{not json")
    assert from_gradescope_metadata(path).at is None


def test_a_pull_request_is_timed_by_github_never_by_its_commit_dates(tmp_path):
    event = {"action": "synchronize", "pull_request": {
        "updated_at": "2026-10-25T08:00:00Z", "user": {"login": "ada"},
        "head": {"sha": "abc", "repo": {"pushed_at": "2026-10-25T08:00:00Z"}}},
        "commits": [{"timestamp": "2026-10-20T10:00:00+02:00"}]}  # a forged commit date: never read
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    got = from_github_event(path, "pull_request_target")
    assert got.at == datetime(2026, 10, 25, 8, tzinfo=UTC) and got.source == GITHUB_SOURCE
    assert got.identifiers == {"ada"}
    path.write_text(json.dumps({"ref": "refs/heads/main", "head_commit": {"timestamp": "2026-10-20T10:00:00Z"}}))
    assert from_github_event(path, "push").at is None  # a push carries only commit dates: unknown
    assert from_github_event(None).at is None


def test_gradescope_export_times_and_the_instructors_csv(tmp_path):
    import yaml

    meta = yaml.safe_load("submission_1:\n  :created_at: 2026-11-15 16:00:00.000000000 -08:00\n"
                          "submission_2:\n  :submitters: []\n")
    assert from_gradescope_export(meta, "submission_1").at == datetime(2026, 11, 16, 0, tzinfo=UTC)
    assert from_gradescope_export(meta, "submission_1").source == EXPORT_SOURCE
    assert from_gradescope_export(meta, "submission_2").at is None
    (tmp_path / "times.csv").write_text("student,submitted_at\nada,2026-11-15T23:00:00Z\n")
    assert read_times_csv(tmp_path / "times.csv") == {"ada": datetime(2026, 11, 15, 23, tzinfo=UTC)}
    (tmp_path / "times.csv").write_text("student,submitted_at\nada,2026-11-15 23:00\n")
    with pytest.raises(ValueError, match="line 2: .*no timezone"):
        read_times_csv(tmp_path / "times.csv")


def test_the_public_course_file_has_no_roster_and_no_extensions(course, tmp_path):
    text = public_course_yaml(course, ["ex01_sigmoid", "ex02_propagate"])
    import yaml

    assert set(yaml.safe_load(text)) == {"name", "term", "timezone", "assignments", "late_policy"}
    assert "s002" not in text and "Bob" not in text and "cyd" not in text and "2026-11-20" not in text
    for name in ("ex01_sigmoid", "ex02_propagate"):
        (tmp_path / "pub" / "exercises" / name).mkdir(parents=True)
        (tmp_path / "pub" / "exercises" / name / "exercise.yaml").write_text(f"name: {name}\nfile: x.py\n")
    (tmp_path / "pub" / "course.yaml").write_text(text)
    public = load_course(tmp_path / "pub")  # it loads where only the shipped exercises exist
    assert list(public.assignments) == ["hw1"] and public.assignments["hw1"].due == course.assignments["hw1"].due
    assert public.late_policy == course.late_policy and public.roster is None and not public.extensions


def test_grader_validate_checks_the_course(tmp_path):
    from conftest import run_cli

    make_course(tmp_path, GOOD, extensions=EXTENSIONS)
    proc = run_cli("--root", str(tmp_path), "validate", "--course", cwd=tmp_path)
    assert proc.returncode == 0 and "course.yaml: ok" in proc.stdout and "2 extension(s)" in proc.stdout
    (tmp_path / "extensions.csv").write_text("student,assignment,extra,due\nzed,hw1,1 day,\n")
    proc = run_cli("--root", str(tmp_path), "validate", "--course", cwd=tmp_path)
    assert proc.returncode == 1 and "extensions.csv, line 2: 'zed' is nobody in the roster" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_attempt_budget_keeps_scores_and_withholds_details(course):
    from grader.course.apply import attempt_budget

    def data():
        return {"tests": [{"name": "ex01_sigmoid: test_a", "score": 0, "output": "Inputs: z of shape (5,)\nHint: x"},
                          {"name": "ex05_softmax: test_b", "score": 1, "output": "softmax details"}]}

    d = data()  # hw1 allows 3 submissions with full feedback; this is the third
    lines = attempt_budget(course, d, {"ex01_sigmoid", "ex05_softmax"}, Submitted(previous=2))
    assert lines == ["hw1: submission 3 of 3 with full feedback; 0 left (later submissions show scores only)"]
    assert d == data()
    d = data()
    lines = attempt_budget(course, d, {"ex01_sigmoid", "ex05_softmax"}, Submitted(previous=3))
    assert lines[0].startswith("hw1: submission 4: your 3 submissions with full feedback are used")
    assert d["tests"][0]["score"] == 0 and "Inputs" not in d["tests"][0]["output"]
    assert d["tests"][1]["output"] == "softmax details"  # hw2 has no budget
    d = data()
    assert attempt_budget(course, d, {"ex01_sigmoid"}, Submitted(previous=None)) == [
        "hw1: attempts are not counted here (no trusted count of your submissions)"] and d == data()


def test_a_cooldown_between_submissions_with_full_feedback(tmp_path):
    from grader.course.apply import attempt_budget

    course = load_course(make_course(tmp_path, GOOD.replace("        attempts: 3\n", "        cooldown: 2 h\n"),
                                     extensions=EXTENSIONS))
    assert course.assignments["hw1"].cooldown == timedelta(hours=2)
    last = datetime(2026, 10, 20, 10, tzinfo=UTC)
    d = {"tests": [{"name": "ex01_sigmoid: test_a", "output": "Inputs: z"}]}
    soon = Submitted(last + timedelta(hours=1, minutes=59), previous=4, previous_times=[last - timedelta(days=1), last])
    assert attempt_budget(course, d, {"ex01_sigmoid"}, soon) == [
        "hw1: one submission with full feedback every 2 h: this one shows scores only; full feedback again from "
        "2026-10-20 14:00 CEST"]
    assert "Inputs" not in d["tests"][0]["output"]
    d = {"tests": [{"name": "ex01_sigmoid: test_a", "output": "Inputs: z"}]}
    later = Submitted(last + timedelta(hours=2), previous=4, previous_times=[last])
    assert attempt_budget(course, d, {"ex01_sigmoid"}, later) == [] and d["tests"][0]["output"] == "Inputs: z"
