"""GitHub Classroom clones graded at the deadline from GitHub's record of the pushes (never commit dates)."""

import csv
import json
import os
import subprocess
from datetime import datetime, timezone

import pytest

from conftest import ROOT, run_cli
from grader.batch.discovery import discover
from grader.course.batch import _identifiers, apply_to_report
from grader.course.clones import select_commits
from grader.course import load_course
from grader.course.pushes import PushRecordError, _safe, branch_at, cutoff, read_pushes, write_commit
from grader.exercises import load_exercise
from grader.submission import used_exercises
from test_course_channels import REFERENCE, SIGN_FLIPPED, make_course

A, B, C = "a" * 40, "b" * 40, "c" * 40
ZERO = "0" * 40


def activity(after, when, ref="refs/heads/main", kind="push", id=1):
    return {"id": id, "node_id": "RA_x", "before": ZERO, "after": after, "ref": ref, "timestamp": when,
            "activity_type": kind, "actor": {"login": "ada"}}


def utc(text):
    return datetime.fromisoformat(text).astimezone(timezone.utc)


# -- reading the record, and the branch at a cutoff ----------------------------------------------------


def test_a_record_is_read_as_one_array_as_pages_or_as_slurped_pages(tmp_path):
    one = [activity(B, "2026-10-25T10:00:00Z", id=2), activity(A, "2026-10-24T10:00:00Z", id=1)]
    for text in (json.dumps(one), json.dumps(one[:1]) + "\n" + json.dumps(one[1:]), json.dumps([one[:1], one[1:]])):
        (tmp_path / "r.json").write_text(text)
        pushes = read_pushes(tmp_path / "r.json")
        assert sorted(p.after for p in pushes) == [A, B]
        assert {p.at for p in pushes} == {utc("2026-10-25T10:00:00+00:00"), utc("2026-10-24T10:00:00+00:00")}


@pytest.mark.parametrize("entry, message", [
    ({"after": A, "ref": "refs/heads/main"}, "entry 1: not a repository activity"),
    (activity("HEAD~1", "2026-10-24T10:00:00Z"), "'HEAD~1' is not a commit id"),
    (activity(A, "2026-10-24 10:00"), "timezone"),
])
def test_a_broken_record_names_the_entry(tmp_path, entry, message):
    (tmp_path / "r.json").write_text(json.dumps([entry]))
    with pytest.raises(PushRecordError, match="r.json, ") as info:
        read_pushes(tmp_path / "r.json")
    assert message in str(info.value)
    (tmp_path / "r.json").write_text("<html>rate limited</html>")
    with pytest.raises(PushRecordError, match="not a saved activity list"):
        read_pushes(tmp_path / "r.json")


def test_the_branch_at_a_cutoff_is_the_last_push_before_it(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps([
        activity(A, "2026-10-24T10:00:00Z", id=1),
        activity(B, "2026-10-24T12:00:00Z", id=2),
        activity(A, "2026-10-24T20:00:00Z", kind="force_push", id=3),  # back to A (it arrived at 10:00)
        activity(C, "2026-10-24T20:00:00Z", id=4),  # the same second: the later activity wins
        activity(C, "2026-10-25T09:00:00Z", ref="refs/heads/scratch", id=5),  # another branch
        activity(ZERO, "2026-10-26T09:00:00Z", kind="branch_deletion", id=6),
    ]))
    pushes = read_pushes(tmp_path / "r.json")
    assert branch_at(pushes, "main", utc("2026-10-24T09:59:59+00:00")) is None  # nothing pushed yet
    assert branch_at(pushes, "main", utc("2026-10-24T10:00:00+00:00")) == (A, utc("2026-10-24T10:00:00+00:00"))
    assert branch_at(pushes, "main", utc("2026-10-24T13:00:00+00:00"))[0] == B
    assert branch_at(pushes, "main", utc("2026-10-24T21:00:00+00:00")) == (C, utc("2026-10-24T20:00:00+00:00"))
    assert branch_at(pushes[:3], "main", None) == (A, utc("2026-10-24T10:00:00+00:00"))
    assert branch_at(pushes, "main", None) is None  # the branch was deleted
    assert branch_at(pushes, "scratch", None)[0] == C


def test_the_cutoff_is_the_late_due_date_or_the_due_date(tmp_path):
    course = load_course(make_course(tmp_path / "course"))
    hw1 = course.assignments["hw1"]
    assert cutoff(course, hw1, {"ada"}) == hw1.late_due
    assert cutoff(course, hw1, {"fay"}) > hw1.late_due  # her extension of a day moves it too
    course.late_policy.after_late_due = "accept"
    assert cutoff(course, hw1, {"ada"}) is None  # late work always accepted: the last push counts
    hw1.late_due = None
    assert cutoff(course, hw1, {"ada"}) == hw1.due
    assert cutoff(course, None, {"ada"}) is None


@pytest.mark.parametrize("path, ok", [("sigmoid.py", True), ("exercises/ex01/sigmoid.py", True),
                                      ("../sigmoid.py", False), (".git/hooks/x.py", False), ("/etc/x.py", False),
                                      ("a/./b.py", False), (".GIT/config", False)])
def test_only_plain_relative_paths_are_written(path, ok):
    assert _safe(path) is ok


# -- a class of clones, end to end ---------------------------------------------------------------------


def git(repo, *args, date=None):
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s",
           "GIT_COMMITTER_EMAIL": "s@x", "GIT_CONFIG_GLOBAL": os.devnull}
    if date:  # what a student writes with `git commit --date`: never read
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo, source, date="2026-10-01T12:00:00+02:00"):
    (repo / "sigmoid.py").write_text(source)
    git(repo, "add", "sigmoid.py")
    git(repo, "commit", "-q", "-m", "work", date=date)
    return git(repo, "rev-parse", "HEAD")


def test_clones_are_graded_at_each_students_deadline_from_githubs_pushes(tmp_path):
    root = make_course(tmp_path / "course")  # hw1: due 2026-10-24 23:59 Paris, late due 10-26, -10% per hour
    clones, pushes = tmp_path / "hw1-submissions", tmp_path / "pushes"
    pushes.mkdir()
    shas = {}
    for login in ("ada", "bob", "cyd", "dee", "eve", "fay"):
        repo = clones / f"hw1-{login}"
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        shas[login] = [commit(repo, REFERENCE)]
        # Each student's last commit is wrong and dated (by them) long before the deadline.
        shas[login].append(commit(repo, SIGN_FLIPPED, date="2026-10-20T12:00:00+02:00"))
    record = {
        # ada: right on time, then a wrong push after the late due date: the on-time commit is graded.
        "ada": [activity(shas["ada"][0], "2026-10-24T21:59:00Z", id=1),
                activity(shas["ada"][1], "2026-10-27T10:00:00Z", id=2)],
        # bob: pushed 1 h 10 min late (his commit says 20 October): -20%.
        "bob": [activity(shas["bob"][0], "2026-10-24T23:09:00Z", id=1)],
        # cyd: nothing pushed before the late due date.
        "cyd": [activity(shas["cyd"][1], "2026-10-28T10:00:00Z", id=1)],
        # eve: the commit GitHub had is not in the clone (history rewritten after the clone was made).
        "eve": [activity("d" * 40, "2026-10-24T20:00:00Z", id=1)],
        # fay: 12 hours late, within her extension of a day.
        "fay": [activity(shas["fay"][0], "2026-10-25T10:00:00Z", id=1)],
        # gus: a push record, but his folder's .git is a file pointing at another repository.
        "gus": [activity(shas["ada"][0], "2026-10-24T20:00:00Z", id=1)],
    }  # dee: no record (time unknown; her files as cloned are graded)
    (clones / "hw1-gus").mkdir()
    (clones / "hw1-gus" / "sigmoid.py").write_text(REFERENCE)
    (clones / "hw1-gus" / ".git").write_text(f"gitdir: {clones / 'hw1-ada' / '.git'}\n")
    for login, items in record.items():
        (pushes / f"hw1-{login}.json").write_text(json.dumps(items))
    out = tmp_path / "grades"
    proc = run_cli("--root", str(root), "batch", str(clones), "-e", "ex01", "--out", str(out), "--no-progress",
                   "--pushes", str(pushes), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no push record" in proc.stdout and "hw1-dee" in proc.stdout
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["ada"]["hw1 raw"] == "10" and rows["ada"]["hw1 penalty"] == "0%"
    assert rows["ada"]["time_source"] == f"GitHub push record (repository activity), commit {shas['ada'][0][:12]}"
    assert rows["bob"]["hw1 late by"] == "1 h 10 min" and rows["bob"]["hw1 penalty"] == "20%"
    assert rows["bob"]["final_total"] == "8"
    assert rows["cyd"]["final_total"] == "0" and rows["cyd"]["hw1 late by"] == "nothing pushed"
    assert rows["cyd"]["time_source"] == "nothing pushed to main by 2026-10-26 23:59 CET (GitHub's push record)"
    assert rows["dee"]["time_source"] == "time unknown" and rows["dee"]["hw1 raw"] == "2"  # her wrong HEAD
    assert rows["fay"]["hw1 penalty"] == "0%" and rows["fay"]["final_total"] == "10"
    reports = {s: json.loads((out / "reports" / f"{s}.json").read_text()) for s in ("ada", "cyd", "eve", "gus")}
    assert reports["gus"]["exercises"]["ex01_sigmoid"]["missing"].startswith("hw1-gus is not a git clone")
    assert "is not a git clone (no .git folder of its own): not graded" in rows["gus"]["notes"]
    ex01 = reports["ada"]["exercises"]["ex01_sigmoid"]
    assert ex01["file_note"].startswith(f"commit {shas['ada'][0][:12]} of main, pushed 2026-10-24 23:59 CEST")
    assert reports["ada"]["submitted"]["assignments"]["hw1"]["commit"] == shas["ada"][0]
    assert "nothing pushed to main by 2026-10-26 23:59 CET" in reports["cyd"]["exercises"]["ex01_sigmoid"]["missing"]
    assert reports["cyd"]["course"]["lines"] == ["hw1: nothing pushed to main by 2026-10-26 23:59 CET (GitHub's "
                                                 "push record)"]
    eve = reports["eve"]["exercises"]["ex01_sigmoid"]
    assert eve.get("refused") and f"commit {'d' * 12} is not in the clone" in eve["missing"]

    # A record that is not GitHub's activity list: a clear error, no traceback.
    (pushes / "hw1-ada.json").write_text('{"message": "Not Found"}')
    proc = run_cli("--root", str(root), "batch", str(clones), "-e", "ex01", "--out", str(out), "--no-progress",
                   "--pushes", str(pushes), cwd=tmp_path)
    assert proc.returncode == 2 and "hw1-ada.json, entry 1: not a repository activity" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pushes_need_a_course_and_a_classroom_clone(tmp_path):
    root = make_course(tmp_path / "course")
    (tmp_path / "plain" / "ada").mkdir(parents=True)
    (tmp_path / "plain" / "ada" / "sigmoid.py").write_text(REFERENCE)
    (tmp_path / "pushes").mkdir()
    proc = run_cli("--root", str(root), "batch", str(tmp_path / "plain"), "-e", "ex01", "--out",
                   str(tmp_path / "g"), "--no-progress", "--pushes", str(tmp_path / "pushes"), cwd=tmp_path)
    assert proc.returncode == 2 and "--pushes is for GitHub Classroom clones" in proc.stderr
    (root / "course.yaml").unlink()
    proc = run_cli("--root", str(root), "batch", str(tmp_path / "plain"), "-e", "ex01", "--out",
                   str(tmp_path / "g"), "--no-progress", "--pushes", str(tmp_path / "pushes"), cwd=tmp_path)
    assert proc.returncode == 2 and "--pushes needs course.yaml" in proc.stderr


def stub_course(root, names, assignments):
    """A course of ``names`` (their exercise.yaml only: enough for course.yaml's checks) and ``assignments``."""
    for name in names:
        (root / "exercises" / name).mkdir(parents=True)
        (root / "exercises" / name / "exercise.yaml").write_text(f"name: {name}\nfile: x.py\n")
    (root / "course.yaml").write_text("name: c\nterm: t\ntimezone: UTC\nlate_policy: {penalty: 10%, per: day}\n"
                                      "assignments:\n" + assignments)
    return load_course(root)


def clone_of_two_pushes(clones, repo_name, files, first_at, second_at, pushes):
    """``clones/repo_name``: two commits, each writing ``files`` with the text ``# first``, then ``# second``,
    pushed at ``first_at`` and ``second_at`` by GitHub's record in ``pushes``; returns the two commits."""
    repo = clones / repo_name
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for version in ("first", "second"):
        for name in files:
            (repo / name).write_text(f"# {version}\n")
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", version)
        shas.append(git(repo, "rev-parse", "HEAD"))
    pushes.mkdir(exist_ok=True)
    (pushes / f"{repo_name}.json").write_text(json.dumps([activity(shas[1], second_at, id=2),
                                                         activity(shas[0], first_at, id=1)]))
    return shas


def test_each_assignment_of_one_clone_is_taken_at_its_own_deadline(tmp_path):
    """hw1 (ex01) and hw2 (ex05) in one repository: ex01 from the commit pushed by hw1's cutoff, ex05 from
    the one pushed by hw2's, each timed by its own push."""
    course = stub_course(tmp_path / "course", ("ex01_sigmoid", "ex05_softmax"),
                         "  hw1: {exercises: [ex01_sigmoid], due: 2026-10-10T23:59:00Z}\n"
                         "  hw2: {exercises: [ex05_softmax], due: 2026-10-20T23:59:00Z}\n")
    exercises = [load_exercise(ROOT / "exercises" / n) for n in ("ex01_sigmoid", "ex05_softmax")]
    shas = clone_of_two_pushes(tmp_path / "hw-submissions", "hw-ada", ("sigmoid.py", "softmax.py"),
                               "2026-10-09T08:00:00Z", "2026-10-15T08:00:00Z", tmp_path / "pushes")
    subs, layout = discover(tmp_path / "hw-submissions", exercises)
    assert layout == "classroom"
    times = select_commits(course, subs, exercises, tmp_path / "pushes", _identifiers, log=lambda *_: None)
    (ada,) = subs
    assert ada.files["ex01_sigmoid"][1] == b"# first\n" and ada.files["ex05_softmax"][1] == b"# second\n"
    hw = times["ada"]["assignments"]
    assert (hw["hw1"]["commit"], hw["hw1"]["at"]) == (shas[0], "2026-10-09T08:00:00Z")
    assert (hw["hw2"]["commit"], hw["hw2"]["at"]) == (shas[1], "2026-10-15T08:00:00Z")
    assert times["ada"]["at"] == "2026-10-15T08:00:00Z"
    # Each assignment's lateness from its own push: the later one (15 October) would make hw1 late.
    scores = {n: {"result": {"score": 1.0}} for n in ("ex01_sigmoid", "ex05_softmax")}
    report = {"submitted": times["ada"], "exercises": scores}
    apply_to_report(course, report)
    assert {a: late["status"] for a, late in report["course"]["late"].items()} == {"hw1": "on time", "hw2": "on time"}
    assert report["final_score"] == 2.0


def test_a_commit_is_read_without_links_and_within_its_limits(tmp_path):
    repo = tmp_path / "hw1-ada"
    (repo / "deep" / "er").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "deep" / "sigmoid.py").write_text("shallow = 1\n")
    (repo / "deep" / "er" / "sigmoid.py").write_text("deeper = 1\n")
    (repo / "big.py").write_text("x = 1\n" * 1000)
    os.symlink("/etc/passwd", repo / "sigmoid.py")  # a link in the commit: never followed, never written
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "w")
    sha = git(repo, "rev-parse", "HEAD")
    out = tmp_path / "out"
    assert write_commit(repo, sha, lambda p: p.endswith("sigmoid.py"), out, max_bytes=2 ** 20) == ""
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "deep/er/sigmoid.py", "deep/sigmoid.py"]
    # Within max_total: the shallowest first, and the rest left out.
    out2 = tmp_path / "out2"
    assert write_commit(repo, sha, lambda p: p.endswith(".py"), out2, max_bytes=2 ** 20, max_total=5000) == ""
    assert sorted(str(p.relative_to(out2)) for p in out2.rglob("*") if p.is_file()) == [
        "deep/er/sigmoid.py", "deep/sigmoid.py"]  # big.py (6000 bytes) would pass 5000: left out
    # Over max_bytes: not written at all.
    out3 = tmp_path / "out3"
    assert write_commit(repo, sha, lambda p: p == "big.py", out3, max_bytes=100) == "" and not out3.exists()
    assert "is not in the clone" in write_commit(repo, "e" * 40, lambda p: True, tmp_path / "o4", max_bytes=100)


def test_a_capstones_earlier_layers_come_from_the_same_commit(tmp_path):
    """ex12 imports the student's ex05/ex06/ex07/ex09 files: from the commit graded for ex12, never from the
    clone's later files."""
    course = stub_course(tmp_path / "course", ("ex12_lenet",),
                         "  final: {exercises: [ex12_lenet], due: 2026-12-01T12:00:00Z}\n")
    capstone = load_exercise(ROOT / "exercises" / "ex12_lenet")
    deps = used_exercises(capstone)
    clone_of_two_pushes(tmp_path / "final-submissions", "final-ada", [ex.file for ex in [capstone, *deps]],
                        "2026-12-01T11:00:00Z", "2026-12-02T08:00:00Z", tmp_path / "pushes")
    subs, _ = discover(tmp_path / "final-submissions", [capstone])
    select_commits(course, subs, [capstone], tmp_path / "pushes", _identifiers, log=lambda *_: None, deps=deps)
    (ada,) = subs
    assert sorted(ada.files) == sorted(ex.name for ex in [capstone, *deps])
    assert all(data == b"# first\n" for _, data in ada.files.values())
