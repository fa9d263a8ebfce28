"""The course on every channel: a Gradescope export graded around a deadline (batch), the Gradescope
autograder, a pull request whose commit dates lie, a release and a bundle that keep the roster private."""

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli

EX01 = ROOT / "exercises" / "ex01_sigmoid"
REFERENCE = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
SIGN_FLIPPED = (EX01 / "mutants" / "sign_flipped.py").read_text()

COURSE = """\
name: Deep learning from scratch
term: Autumn 2026
timezone: Europe/Paris
roster: roster.csv
extensions: extensions.csv
late_policy: {penalty: 10%, per: hour, max_penalty: 50%, after_late_due: zero}
assignments:
  hw1:
    exercises: [ex01_sigmoid]
    due: 2026-10-24 23:59 Europe/Paris
    late_due: 2026-10-26 23:59 Europe/Paris
    attempts: 2
"""
ROSTER = "Student,ID,SIS User ID,SIS Login ID,Email\n" + "".join(
    f"{n.title()},{i},s00{i},{n},{n}@example.edu\n" for i, n in enumerate(("ada", "bob", "cyd", "dee", "eve", "fay",
                                                                          "zed"), 1))
EXTENSIONS = "student,assignment,extra,due\nfay@example.edu,hw1,1 day,\n"


def make_course(root: Path) -> Path:
    folder = root / "exercises" / "ex01_sigmoid"
    shutil.copytree(EX01, folder, ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["limits"].update(call_seconds=1, total_seconds=3)
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    (root / "course.yaml").write_text(COURSE)
    (root / "roster.csv").write_text(ROSTER)
    (root / "extensions.csv").write_text(EXTENSIONS)
    return root


# student -> (source, Gradescope's created_at, expected late by, penalty, final out of 10)
EXPORT = {
    "ada": (REFERENCE, "2026-10-24 23:59:00.000000000 +02:00", "", "0%", "10"),  # exactly at the due date
    "bob": (REFERENCE, "2026-10-24 23:59:01.000000000 +02:00", "1 s", "10%", "9"),  # one second after
    "cyd": (SIGN_FLIPPED, "2026-10-25 00:09:00.000000000 +01:00", "1 h 10 min", "20%", "1.6"),  # after the clocks went back
    "dee": (REFERENCE, "2026-10-27 00:00:00.000000000 +01:00", "2 days 1 h", "100%", "0"),  # past the late due date
    "eve": (REFERENCE, None, "time unknown", "0%", "10"),  # no time in the export
    "fay": (REFERENCE, "2026-10-25 12:00:00.000000000 +02:00", "", "0%", "10"),  # her extension of a day
    "kim": (SIGN_FLIPPED, "2026-10-20 12:00:00.000000000 +02:00", "", "0%", "2"),  # not in the roster
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    work = tmp_path_factory.mktemp("course-batch")
    root = make_course(work / "course")
    export = work / "export"
    meta = {}
    for i, (name, (source, created, *_)) in enumerate(EXPORT.items(), 1):
        (export / f"submission_{i}").mkdir(parents=True)
        (export / f"submission_{i}" / "sigmoid.py").write_text(source)
        sid = f"s00{i}" if name != "kim" else "s099"
        meta[f"submission_{i}"] = (f"  :submitters:\n  - :name: {name.title()}\n    :sid: '{sid}'\n"
                                   f"    :email: {name}@example.edu\n"
                                   + (f"  :created_at: {created}\n" if created else ""))
    (export / "submission_metadata.yml").write_text("".join(f"{k}:\n{v}" for k, v in meta.items()))
    out = work / "grades"
    proc = run_cli("--root", str(root), "batch", str(export), "--exercise", "ex01", "--jobs", "2", "--out", str(out),
                   "--no-progress", "--export", "canvas", cwd=work)
    assert "canvas export:" in proc.stdout and "not in the roster (not exported): Kim" in proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return root, export, out, rows


def test_a_gradescope_export_around_the_deadline(batch):
    _, _, out, rows = batch
    for name, (_, _, late_by, penalty, final) in EXPORT.items():
        row = rows[name.title()]
        assert row["hw1 late by"].split(" (")[0] == late_by, name
        assert row["hw1 penalty"] == penalty, name
        assert row["hw1 final"] == final and row["final_total"] == final, name
        assert row["hw1 raw"] == row["ex01_sigmoid"] == row["total"]  # the raw score is kept
    assert rows["Dee"]["hw1 late by"].endswith("(past the late due date)")
    assert rows["Eve"]["time_source"] == "time unknown" and rows["Eve"]["submitted_at"] == ""
    assert rows["Ada"]["time_source"].startswith("Gradescope export")
    report = json.loads((out / "reports" / "Cyd.json").read_text())
    assert report["course"]["lines"] == ["hw1: submitted 1 h 10 min after the due date: −20% (course late policy)"]
    assert report["final_score"] == 1.6 and report["score"] == 2.0


def test_export_to_canvas_moodle_and_csv(batch, tmp_path):
    root, _, out, _ = batch
    proc = run_cli("--root", str(root), "export", str(out), "--to", "canvas", "--out", str(tmp_path / "c.csv"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    # Canvas's gradebook import: the student columns it reads, a Points Possible row, one column per assignment.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw1"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "10"
    by = {r[0]: r for r in rows[2:]}
    assert by["Cyd"][1:] == ["3", "s003", "cyd", "", "1.6"]  # the final score, after the late penalty
    assert by["Dee"][5] == "0" and by["Ada"][5] == "10" and by["Eve"][5] == "10"
    assert by["Zed"][5] == ""  # on the roster, no submission: empty (changes nothing on import) ...
    assert "no submission (left empty): Zed" in proc.stderr  # ... and listed
    # A roster that is Canvas's own gradebook export, where hw1 exists: its column is headed as Canvas heads it
    # (name and id), so that the import updates hw1 rather than creating a second one.
    canvas_roster = ROSTER.replace("Email\n", "Email,Homework 0 (111),HW1 (12345),Current Score\n", 1)
    (tmp_path / "canvas-roster.csv").write_text(canvas_roster)
    proc = run_cli("--root", str(root), "export", str(out), "--to", "canvas", "--roster",
                   str(tmp_path / "canvas-roster.csv"), "--out", str(tmp_path / "c2.csv"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "c2.csv", newline="", encoding="utf-8") as f:
        again = list(csv.reader(f))
    assert again[0][5:] == ["HW1 (12345)"] and again[2:] == rows[2:]
    assert "Kim" not in by and "not in the roster (not exported): Kim" in proc.stderr
    assert "1 submission(s) matched nobody in the roster, 1 student(s) of the roster have no submission" in proc.stderr
    assert (out / "canvas-import.csv").read_text() == (tmp_path / "c.csv").read_text()  # grader batch --export

    proc = run_cli("--root", str(root), "export", str(out), "--to", "moodle", "--out", str(tmp_path / "m.csv"),
                   cwd=tmp_path)
    with open(tmp_path / "m.csv", newline="", encoding="utf-8") as f:
        moodle = {r["Email address"]: r for r in csv.DictReader(f)}
    assert list(next(iter(moodle.values())))[:5] == ["First name", "Last name", "ID number", "Email address",
                                                      "Username"]
    assert moodle["cyd@example.edu"]["hw1"] == "1.6"
    assert moodle["cyd@example.edu"]["hw1 feedback"] == \
        "hw1: submitted 1 h 10 min after the due date: −20% (course late policy)"

    proc = run_cli("export", str(out), "--to", "csv", "--roster", str(root / "roster.csv"), "--out",
                   str(tmp_path / "p.csv"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "p.csv", newline="", encoding="utf-8") as f:
        checks = [r for r in csv.DictReader(f) if r["student"] == "Cyd"]
    assert len(checks) == 6 and {r["penalty_percent"] for r in checks} == {"20"}
    passed = [r for r in checks if r["status"] == "passed"]
    assert sum(float(r["score"]) for r in checks) == 2 and sum(float(r["final_score"]) for r in checks) == 1.6
    assert passed and all(float(r["final_score"]) == float(r["score"]) * 0.8 for r in passed)
    # Without a roster, the LMS formats are refused (they need the LMS's own students).
    proc = run_cli("export", str(out), "--to", "canvas", cwd=tmp_path)
    assert proc.returncode == 2 and "needs a roster" in proc.stderr


def test_an_extension_given_later_changes_the_final_grade_without_regrading(batch, tmp_path):
    root, export, out, rows = batch
    assert rows["Bob"]["hw1 penalty"] == "10%"
    shutil.copytree(out, tmp_path / "old")
    (root / "extensions.csv").write_text(EXTENSIONS + "bob,hw1,,2026-10-25 00:30 Europe/Paris\n")
    try:
        proc = run_cli("--root", str(root), "batch", str(export), "--exercise", "ex01", "--out", str(out),
                       "--no-progress", cwd=tmp_path)
    finally:
        (root / "extensions.csv").write_text(EXTENSIONS)
    assert proc.returncode == 0, proc.stderr
    assert "0 graded now" in proc.stdout  # same files, graders and seed: nothing graded again
    with open(out / "gradebook.csv", newline="") as f:
        bob = {row["student"]: row for row in csv.DictReader(f)}["Bob"]
    assert bob["hw1 penalty"] == "0%" and bob["final_total"] == "10"
    # grader diff: Bob alone is listed, with why; the others are counted.
    proc = run_cli("diff", str(tmp_path / "old"), str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Bob: final 9 → 10"
    assert lines[1].startswith("  hw1: extension added: extension to 2026-10-25 00:30 CEST") \
        and "late penalty 10% → 0%" in lines[1]
    assert lines[-1] == f"1 student(s) changed, {len(EXPORT) - 1} unchanged"


def test_an_instructors_times_csv_for_a_classroom_clone(tmp_path):
    root = make_course(tmp_path / "course")
    clone = tmp_path / "hw1-submissions"
    for login in ("hw1-ada", "hw1-bob"):
        (clone / login).mkdir(parents=True)
        (clone / login / "sigmoid.py").write_text(REFERENCE)
    (tmp_path / "times.csv").write_text("student,submitted_at\nada,2026-10-25T01:30:00+02:00\n")
    out = tmp_path / "grades"
    proc = run_cli("--root", str(root), "batch", str(clone), "-e", "ex01", "--out", str(out), "--no-progress",
                   "--times", str(tmp_path / "times.csv"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["ada"]["hw1 penalty"] == "20%" and rows["ada"]["time_source"] == "instructor's times CSV"
    assert rows["bob"]["time_source"] == "time unknown" and rows["bob"]["final_total"] == "10"
    (tmp_path / "times.csv").write_text("student,submitted_at\nada,2026-10-25 01:30\n")
    proc = run_cli("--root", str(root), "batch", str(clone), "-e", "ex01", "--out", str(out), "--no-progress",
                   "--times", str(tmp_path / "times.csv"), cwd=tmp_path)
    assert proc.returncode == 2 and "line 2" in proc.stderr and "no timezone" in proc.stderr


def test_a_broken_course_file_is_a_clear_error(tmp_path):
    root = make_course(tmp_path / "course")
    (root / "course.yaml").write_text(COURSE.replace("max_penalty: 50%", "max_penalty: 150%"))
    proc = run_cli("--root", str(root), "batch", str(tmp_path), "-e", "ex01", "--out", str(tmp_path / "g"),
                   cwd=tmp_path)
    assert proc.returncode == 2 and "max_penalty: 150% is not between 0% and 100%" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- the Gradescope autograder -----------------------------------------------------------------------


def test_the_gradescope_autograder_applies_the_late_policy(tmp_path):
    from grader.autograder import autograde
    from grader.bundle import stage
    from grader.exercises import load_exercise

    root = make_course(tmp_path / "course")
    shutil.copytree(ROOT / "grader", root / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    source = tmp_path / "ag" / "source"
    stage(root, source, [load_exercise(root / "exercises" / "ex01_sigmoid")], "a-secret-seed-of-some-length", False)
    public = yaml.safe_load((source / "course.yaml").read_text())
    assert "roster" not in public and "extensions" not in public
    assert not (source / "roster.csv").exists() and not (source / "extensions.csv").exists()
    submission = tmp_path / "ag" / "submission"
    submission.mkdir()
    (submission / "sigmoid.py").write_text(REFERENCE)
    meta = {"id": 1, "created_at": "2026-10-25T02:09:00.0+02:00",
            "assignment": {"due_date": "2026-10-24T23:59:00.0+02:00", "late_due_date": None},
            "users": [{"email": "ada@example.edu", "id": 1, "name": "Ada"}], "previous_submissions": []}
    (tmp_path / "ag" / "submission_metadata.json").write_text(json.dumps(meta))
    data = autograde(source, submission)
    assert sum(t["score"] for t in data["tests"]) == 10  # every check keeps its points ...
    assert data["score"] == 7.0  # ... the assignment's score is after the penalty (3 started hours: -30%)
    assert data["output"].startswith("hw1: submitted 2 h 10 min after the due date: −30% (course late policy)\n"
                                     "hw1: submission 1 of 2 with full feedback; 1 left\n")
    # Gradescope's own extension for this student (their due date moved): on time.
    meta["users"][0]["assignment"] = {"due_date": "2026-10-25T12:00:00.0+02:00"}
    (tmp_path / "ag" / "submission_metadata.json").write_text(json.dumps(meta))
    data = autograde(source, submission)
    assert data["score"] == 10.0 and "submitted on time (extension to" in data["output"]
    # The third graded submission: scores kept, details withheld.
    (submission / "sigmoid.py").write_text(SIGN_FLIPPED)
    meta["previous_submissions"] = [{"submission_time": "2026-10-24T20:00:00.0+02:00", "score": 1.0, "results": {}}] * 2
    (tmp_path / "ag" / "submission_metadata.json").write_text(json.dumps(meta))
    data = autograde(source, submission)
    assert data["score"] == 2.0 and "hw1: submission 3: your 2 submissions with full feedback are used" in data["output"]
    assert all(t["output"] == "details withheld (see the attempts line at the top)" for t in data["tests"])
    assert sorted(t["score"] for t in data["tests"]) == [0, 0, 0, 0, 0, 2]  # as graded


# -- a pull request ----------------------------------------------------------------------------------


def git(repo: Path, *args: str, env=None) -> str:
    full = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
                GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull)
    full.update(env or {})
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=full)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_pull_request_whose_commit_dates_lie(tmp_path):
    """The commit claims to be from a week before the deadline, and the pull request rewrites course.yaml
    to move the deadline: the grade follows GitHub's event time and the base branch's course.yaml."""
    repo = make_course(tmp_path / "repo")
    shutil.copytree(ROOT / "grader", repo / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "late")
    (repo / "exercises" / "ex01_sigmoid" / "sigmoid.py").write_text(REFERENCE)
    (repo / "course.yaml").write_text(COURSE.replace("2026-10-24 23:59", "2027-10-24 23:59"))
    forged = {"GIT_AUTHOR_DATE": "2026-10-17T12:00:00+02:00", "GIT_COMMITTER_DATE": "2026-10-17T12:00:00+02:00"}
    git(repo, "commit", "-q", "-am", "done early, honest", env=forged)
    git(repo, "checkout", "-q", "main")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {
        "updated_at": "2026-10-25T03:30:00Z", "user": {"login": "ada"}, "head": {"sha": "x"}}}))
    out = tmp_path / "out"
    proc = run_cli("--root", str(repo), "ci", "--head-ref", "late", "--out", str(out), cwd=tmp_path,
                   env={"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request_target",
                        "GITHUB_OUTPUT": str(tmp_path / "github-output.txt")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["score"] == 10.0
    # 03:30 UTC is 04:30 CET (the clocks went back at 03:00 CEST): 5 h 31 min after 23:59 CEST; -50% (the cap).
    assert report["course"]["final_score"] == 5.0
    assert report["course"]["late"]["hw1"]["source"].startswith("GitHub pull request event")
    assert report["notes"][0] == "hw1: submitted 5 h 31 min after the due date: −50% (course late policy)"
    assert "−50% (course late policy)" in (out / "summary.md").read_text()
    assert "−50%" in proc.stdout
    # The points as GitHub Classroom's reporter reads them: base64 JSON, tests' scores after the penalty.
    import base64

    line = next(x for x in (tmp_path / "github-output.txt").read_text().splitlines() if x.startswith("result="))
    classroom = json.loads(base64.b64decode(line[len("result="):]))
    assert classroom["version"] == 1 and classroom["max_score"] == 10 and classroom["status"] == "pass"
    assert sum(t["score"] for t in classroom["tests"]) == 5.0 and len(classroom["tests"]) == 6
    assert json.loads((out / "classroom.json").read_text()) == classroom
    # And the two notices Classroom's dashboard reads, printed by `grader ci` itself, outside the
    # stop-commands block (GitHub reads no command inside it).
    block = proc.stdout.index("::stop-commands::")
    assert proc.stdout[:block].splitlines()[:2] == [
        "::notice title=Autograding complete::Points 5/10",
        '::notice title=Autograding report::{"totalPoints":5,"maxPoints":10}']
    # Without an event payload (a run by hand): no trusted time, graded as on time, and said so.
    proc = run_cli("--root", str(repo), "ci", "--head-ref", "late", "--out", str(out), cwd=tmp_path,
                   env={"GITHUB_EVENT_PATH": ""})
    report = json.loads((out / "report.json").read_text())
    assert report["course"]["final_score"] == 10.0
    assert report["notes"][0] == "hw1: submission time unknown: graded as on time"


# -- GitHub Classroom's points, as its reporter prints them ------------------------------------------


def _classroom_results(scores: list[float], points: list[float]):
    from grader.results import CheckResult, ExerciseResult

    tests = [CheckResult(f"test_{i}", s, p, "passed" if s == p else "failed")
             for i, (s, p) in enumerate(zip(scores, points))]
    return [ExerciseResult("ex01_sigmoid", "t", sum(scores), sum(points), 1, ["cpu"], tests)]


def test_classroom_notices_are_the_reporters_two_lines():
    from grader.course.classroom import classroom_notices, classroom_result

    # 10 of 10 points, submitted late: -25% on every check, 7.5 in all.
    result = classroom_result(_classroom_results([2, 3, 5], [2, 3, 5]), {"ex01_sigmoid": 25.0})
    assert classroom_notices(result) == [
        "::notice title=Autograding complete::Points 7.5/10",
        '::notice title=Autograding report::{"totalPoints":7.5,"maxPoints":10}']
    # An integer total is written without ".0", as JavaScript writes numbers.
    result = classroom_result(_classroom_results([2, 0, 4.0], [2, 3, 5]))
    assert classroom_notices(result) == [
        "::notice title=Autograding complete::Points 6/10",
        '::notice title=Autograding report::{"totalPoints":6,"maxPoints":10}']
    # Added up in floating point, check by check, as the reporter does (Classroom gets what it would).
    result = classroom_result(_classroom_results([0.1, 0.2], [1, 1]))
    assert classroom_notices(result)[0] == "::notice title=Autograding complete::Points 0.30000000000000004/2"
    # Nothing graded (0 points at stake): the reporter prints nothing, nor do we.
    assert classroom_notices(classroom_result([])) == []
    assert classroom_notices(classroom_result(_classroom_results([0, 0], [0, 0]))) == []


def test_numbers_are_written_as_javascript_writes_them():
    from grader.course.classroom import js_json_number, js_number

    cases = {10.0: "10", 7.5: "7.5", -3.0: "-3", 0.0: "0", 1 / 3: "0.3333333333333333", 2.5e-5: "0.000025",
             1e-6: "0.000001", 1e-7: "1e-7", 1.5e-7: "1.5e-7", 1e20: "100000000000000000000", 1e21: "1e+21",
             1.25e22: "1.25e+22"}
    assert {x: js_number(x) for x in cases} == cases
    assert js_json_number(float("nan")) == "null" and js_number(float("inf")) == "Infinity"


# -- the release keeps the roster and the extensions private -------------------------------------------


def test_a_release_ships_the_public_course_only(tmp_path):
    from grader.release import write_public_course

    root = make_course(tmp_path / "course")
    out = tmp_path / "release"
    out.mkdir()
    written = write_public_course(root, out, ["ex01_sigmoid"])
    assert written == [out / "course.yaml"]
    text = (out / "course.yaml").read_text()
    assert "fay" not in text and "s002" not in text and "roster" not in yaml.safe_load(text)
    assert write_public_course(tmp_path / "nothing-here", out, []) == []
