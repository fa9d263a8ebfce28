"""`grader batch`: layouts, parallel grading, gradebook, summary, resuming, stalls, Dask."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli
from grader.batch import discover, extract_zip, run_batch, summarize
from grader.exercises import load_exercise, resolve

EX01 = ROOT / "exercises" / "ex01_sigmoid"
REFERENCE = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
SIGN_FLIPPED = (EX01 / "mutants" / "sign_flipped.py").read_text()
STUB = (EX01 / "sigmoid.py").read_text()
HANG = "def sigmoid(z):\n    while True:\n        pass\n\n\ndef sigmoid_derivative(z):\n    while True:\n        pass\n"
CRASH = "import os\n\n\ndef sigmoid(z):\n    os._exit(3)\n\n\ndef sigmoid_derivative(z):\n    os._exit(3)\n"

# student -> (file contents, expected score out of 10)
CLASS = {
    "ada": (REFERENCE, 10.0),
    "bob": (REFERENCE + "\n# bob's copy\n", 10.0),
    "cyd": (SIGN_FLIPPED, 2.0),
    "dee": (STUB, 0.0),
    "eve": ("def sigmoid(z:\n", 0.0),  # syntax error
    "fay": (CRASH, 0.0),
    "gus": (HANG, 0.0),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with ex01 only, with tight limits so a hanging submission costs seconds."""
    root = tmp_path_factory.mktemp("course")
    folder = root / "exercises" / "ex01_sigmoid"
    shutil.copytree(EX01, folder, ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["limits"].update(call_seconds=1, total_seconds=3)
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    return root


def make_class(folder: Path, students=CLASS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, (source, _)) in enumerate(students.items()):
        if i % 2:  # a folder per student ...
            (folder / name).mkdir()
            (folder / name / "sigmoid.py").write_text(source)
        else:  # ... or a lone file
            (folder / f"{name}.py").write_text(source)
    return folder


def read_gradebook(path: Path) -> dict:
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """One batch run over the class, 2 jobs (shared by the tests that read its outputs)."""
    work = tmp_path_factory.mktemp("batch")
    subs = make_class(work / "subs")
    (subs / "hal").mkdir()  # a student without the exercise's file
    (subs / "hal" / "notes.txt").write_text("I did not do it\n")
    out = work / "grades"
    start = time.monotonic()
    proc = run_cli("--root", str(course), "batch", str(subs), "--exercise", "ex01", "--jobs", "2",
                   "--out", str(out), cwd=work)
    return proc, subs, out, time.monotonic() - start


def test_batch_grades_every_student_in_parallel(graded):
    proc, subs, out, seconds = graded
    assert proc.returncode == 0, proc.stdout + proc.stderr
    book = read_gradebook(out / "gradebook.csv")
    assert sorted(book) == sorted([*CLASS, "hal"])
    for name, (_, expected) in CLASS.items():
        assert float(book[name]["ex01_sigmoid"]) == expected, name
        assert float(book[name]["total"]) == expected and book[name]["max_score"] == "10"
    # Every 0 carries its cause.
    assert all(book[name]["notes"] for name in book if float(book[name]["total"]) == 0)
    assert "syntax error, line 1" in book["eve"]["notes"]
    assert "timed out" in book["gus"]["notes"]
    assert "not implemented" in book["dee"]["notes"]
    assert "no sigmoid.py" in book["hal"]["notes"]
    assert not book["ada"]["notes"] and not book["cyd"]["notes"]  # not a 0: nothing to explain
    # A first run into a new folder: nothing is "unchanged since the last run".
    assert "0 unchanged since the last run, 1 without a file to grade" in proc.stdout
    # Each student has a JSON report with the full feedback.
    report = json.loads((out / "reports" / "cyd.json").read_text())
    result = report["exercises"]["ex01_sigmoid"]["result"]
    assert report["score"] == 2.0 and "sign inside exp is flipped" in json.dumps(result)
    # Two long-lived jobs shared the class: fewer processes than students.
    jobs = {json.loads(p.read_text())["exercises"]["ex01_sigmoid"].get("job")
            for p in (out / "reports").glob("*.json") if p.name != "hal.json"}
    assert 1 <= len(jobs) <= 2
    # The hanging and crashing students cost their limits, not the run.
    gus = json.loads((out / "reports" / "gus.json").read_text())["exercises"]["ex01_sigmoid"]["result"]
    assert "did not finish within" in json.dumps(gus) or "time budget" in json.dumps(gus)
    assert seconds < 120
    # Progress with an ETA went to standard error.
    assert "ETA" in proc.stderr and f"{len(CLASS)}/{len(CLASS)}" in proc.stderr
    # The sandbox's layers are reported per student (here: the full set, so no note about them).
    report = json.loads((out / "reports" / "ada.json").read_text())
    assert "rlimits" in report["exercises"]["ex01_sigmoid"]["result"]["sandbox"]


def test_summary_for_the_instructor(graded):
    _, _, out, _ = graded
    summary = (out / "summary.md").read_text()
    assert "Score distribution" in summary and "90-100%" in summary
    assert "Checks failed most" in summary and "test_sigmoid_arrays" in summary
    assert "sign inside exp is flipped" in summary  # the most frequent hints
    data = json.loads((out / "summary.json").read_text())
    n = len(CLASS) + 1  # and hal, without a file
    assert data["students"] == n and sum(b["students"] for b in data["histogram"]) == n
    assert data["histogram"][9]["students"] == 2 and data["histogram"][0]["students"] == 5
    assert data["partial"] is None
    # Every figure says its unit and the students it is over.
    assert f"over all {n} students (an exercise without a file counts as 0)" in summary
    assert "mean score (points, of those graded)" in summary and "students without a file" in summary
    assert "Failed checks by cause (number of checks" in summary
    assert "## Sandbox" in summary and f"{len(CLASS)} students" in summary
    top = {(c["exercise"], c["check"]): c["students"] for c in data["failed_checks"]}
    assert top[("ex01_sigmoid", "test_sigmoid_arrays")] == 5


def test_unchanged_submissions_are_not_graded_again(graded, course, tmp_path):
    _, subs, out, _ = graded
    copy = tmp_path / "grades"
    shutil.copytree(out, copy)
    proc = run_cli("--root", str(course), "batch", str(subs), "-e", "ex01", "--out", str(copy), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "0 to grade" in proc.stdout and f"{len(CLASS) + 1} students: 0 graded now" in proc.stdout
    assert f"0 to grade, {len(CLASS) + 1} unchanged since the last run" in proc.stdout  # hal's too
    assert read_gradebook(copy / "gradebook.csv") == read_gradebook(out / "gradebook.csv")
    # A changed submission, or another seed, is graded again.
    (subs / "dee" / "sigmoid.py").write_text(REFERENCE)
    try:
        proc = run_cli("--root", str(course), "batch", str(subs), "-e", "ex01", "--out", str(copy),
                       "--no-progress", "--jobs", "1")
    finally:
        (subs / "dee" / "sigmoid.py").write_text(STUB)
    assert proc.returncode == 0, proc.stderr
    assert "1 to grade" in proc.stdout
    assert float(read_gradebook(copy / "gradebook.csv")["dee"]["total"]) == 10.0


def test_interrupted_run_resumes(course, tmp_path):
    students = {f"s{i:02d}": (REFERENCE + f"\n# {i}\n", 10.0) for i in range(8)}
    subs = make_class(tmp_path / "subs", students)
    out = tmp_path / "grades"
    cmd = [sys.executable, "-m", "grader", "--root", str(course), "batch", str(subs), "-e", "ex01",
           "--jobs", "1", "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "reports").glob("*.json"))) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # as a CI runner or `kill` stops it: handled like Ctrl-C
    said, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err, err[-2000:]
    reports = [json.loads(p.read_text()) for p in (out / "reports").glob("*.json")]
    assert len(reports) == len(students)  # those not reached too: their reports say "not graded yet"
    done = sum(bool(r["exercises"]["ex01_sigmoid"]["result"]) for r in reports)
    assert 2 <= done < len(students)
    # What was graded is in the gradebook and summary, marked partial.
    book = read_gradebook(out / "gradebook.csv")
    graded = [row for row in book.values() if row["total"] == "10"]
    waiting = [row for row in book.values() if "not graded yet" in row["notes"]]
    assert len(graded) == done and len(waiting) == len(students) - done and len(book) == len(students)
    assert all(row["ex01_sigmoid"] == "" for row in waiting)
    summary = (out / "summary.md").read_text()
    assert f"(partial): {done} of {len(students)} students graded" in summary
    assert json.loads((out / "summary.json").read_text())["partial"]["not_graded_yet"] == len(students) - done
    # ... and in the class report, written at the interruption, which says so at the top.
    page = (out / "report.html").read_text()
    assert f"partial: {len(students) - done} of {len(students)} not graded yet" in page
    assert f"<title>Class report (partial: {len(students) - done} of {len(students)} not graded yet): " in page
    assert f"partial: {len(students) - done} of {len(students)} not graded yet" in said + err
    again = run_cli("--root", str(course), "batch", str(subs), "-e", "ex01", "--out", str(out), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert f"{len(students) - done} to grade, {done} unchanged" in again.stdout
    book = read_gradebook(out / "gradebook.csv")
    assert len(book) == len(students) and all(row["total"] == "10" for row in book.values())
    assert "partial" not in (out / "summary.md").read_text()
    assert "partial:" not in (out / "report.html").read_text()


def test_a_stalled_job_is_stopped_and_replaced(course, tmp_path):
    """--timeout below the sandbox's own limits: the job is killed, the run goes on."""
    students = {"ann": (REFERENCE, 10.0), "gus": (HANG, 0.0), "zed": (REFERENCE + "\n# z\n", 10.0)}
    subs = make_class(tmp_path / "subs", students)
    out = tmp_path / "grades"
    start = time.monotonic()
    proc = run_cli("--root", str(course), "batch", str(subs), "-e", "ex01", "--jobs", "1", "--timeout", "1.5",
                   "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    book = read_gradebook(out / "gradebook.csv")
    assert book["ann"]["total"] == book["zed"]["total"] == "10"
    assert book["gus"]["total"] == "0" and "was stopped" in book["gus"]["notes"]
    assert time.monotonic() - start < 90
    # No student process is left behind.
    mine = [pid for pid in _sandbox_workers() if _started_after(pid, start)]
    assert not mine


def _sandbox_workers() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"grader-sandbox-" in cmd and b"/work/sigmoid.py" in cmd:
                found.append(int(entry))
    return found


def _started_after(pid: int, since_monotonic: float) -> bool:
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return False
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    started_ago = uptime - ticks / os.sysconf("SC_CLK_TCK")
    return started_ago < time.monotonic() - since_monotonic + 1


# -- layouts ---------------------------------------------------------------------------------------


def test_plain_layout_folders_files_and_nested(tmp_path):
    ex = resolve("ex01", ROOT)
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "sigmoid.py").write_text(REFERENCE)
    (tmp_path / "bob" / "exercises" / "ex01_sigmoid").mkdir(parents=True)
    (tmp_path / "bob" / "exercises" / "ex01_sigmoid" / "sigmoid.py").write_text(SIGN_FLIPPED)
    (tmp_path / "bob" / "notes.py").write_text("x = 1\n")
    (tmp_path / "cyd.py").write_text(REFERENCE)
    (tmp_path / "dee").mkdir()
    (tmp_path / "dee" / "my_work.py").write_text(REFERENCE)  # the only source file: taken
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "sigmoid.py").symlink_to("/etc/passwd")  # never followed
    (tmp_path / "fay").symlink_to(tmp_path / "ann")  # a linked student: listed, not graded
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "notes.txt").write_text("not a submission")
    subs, layout = discover(tmp_path, [ex])
    assert layout == "plain"
    by = {s.student: s for s in subs}
    assert sorted(by) == ["ann", "bob", "cyd", "dee", "eve", "fay"]
    assert not by["fay"].files and "symbolic link" in by["fay"].missing["ex01_sigmoid"]
    assert by["bob"].files["ex01_sigmoid"] == ("sigmoid.py", SIGN_FLIPPED.encode())
    assert by["dee"].files["ex01_sigmoid"][0] == "my_work.py"
    assert "ex01_sigmoid" in by["eve"].missing and not by["eve"].files
    # Reported as what it is, a link (refused), not as a missing file.
    assert by["eve"].missing["ex01_sigmoid"] == "sigmoid.py is a symbolic link, not the student's own file: not graded"


def test_a_symlinked_file_is_reported_as_a_link_not_as_missing(course, tmp_path):
    subs = tmp_path / "subs"
    (subs / "eve").mkdir(parents=True)
    (subs / "eve" / "sigmoid.py").symlink_to(ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py")
    (subs / "hal").mkdir()
    out = tmp_path / "grades"
    proc = run_cli("--root", str(course), "batch", str(subs), "-e", "ex01", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    book = read_gradebook(out / "gradebook.csv")
    assert "sigmoid.py is a symbolic link, not the student's own file: not graded" in book["eve"]["notes"]
    (ex,) = json.loads((out / "summary.json").read_text())["exercises"]
    assert (ex["missing"], ex["errors"]) == (1, 1)  # hal handed in nothing; eve's file was refused
    if (out / "report.html").exists():  # with matplotlib
        text = (out / "report.html").read_text()
        assert "ex01: sigmoid.py is a symbolic link" in text and "missing: ex01</summary>" in text  # hal's


def test_a_symlinked_file_is_refused_as_a_link_by_check(tmp_path):
    ex = resolve("ex01", ROOT)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "sigmoid.py").symlink_to(ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py")
    from grader.submission import SubmissionError, locate_submission

    for given in (tmp_path / "sub", tmp_path / "sub" / "sigmoid.py"):
        with pytest.raises(SubmissionError, match="sigmoid.py is a symbolic link, not your own file: not graded"):
            locate_submission(given, ex)


def test_gradescope_export_layout(tmp_path):
    ex = resolve("ex01", ROOT)
    export = tmp_path / "assignment_123_export"
    for sub_id, source in (("submission_1", REFERENCE), ("submission_2", SIGN_FLIPPED), ("submission_3", REFERENCE)):
        (export / sub_id / "upload").mkdir(parents=True)
        (export / sub_id / "upload" / "sigmoid.py").write_text(source)
    (export / "submission_metadata.yml").write_text(
        "submission_1: !ruby/hash:ActiveSupport::HashWithIndifferentAccess\n"
        "  :submitters:\n  - :name: Ada Lovelace\n    :sid: '001'\n    :email: ada@example.edu\n"
        "  :created_at: 2024-01-01 10:00:00.000000000 -08:00\n  :score: 0.0\n"
        "submission_2:\n  :submitters:\n  - :name: Bob\n    :sid: '002'\n    :email: bob@example.edu\n"
        "  - :name: \"Cy =cmd|' /C calc'!A0\"\n    :sid: '003'\n    :email: cy@example.edu\n"
        "submission_3:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '004'\n    :email: ada2@example.edu\n")
    subs, layout = discover(tmp_path, [ex])
    assert layout == "gradescope"
    by = {s.source: s for s in subs}
    assert by["submission_1"].student == "Ada Lovelace" and by["submission_1"].info == {
        "email": "ada@example.edu", "sid": "001"}
    assert by["submission_2"].student.startswith("Bob & Cy") and by["submission_2"].info["sid"] == "002; 003"
    assert by["submission_2"].files["ex01_sigmoid"][1] == SIGN_FLIPPED.encode()
    assert len({s.slug for s in subs}) == 3  # two Ada Lovelaces, two report files
    # The gradebook neutralises spreadsheet formulas in names.
    from grader.batch import write_gradebook

    reports = {s.slug: {"student": s.student, "info": s.info, "exercises": {}, "score": 0, "max_score": 0,
                        "percent": 0} for s in subs}
    write_gradebook(tmp_path, reports, [])
    assert "'=cmd" not in (tmp_path / "gradebook.csv").read_text().split("Cy ", 1)[0]
    assert all(not row["student"].startswith("=") for row in read_gradebook(tmp_path / "gradebook.csv").values())


def test_github_classroom_layout_and_zip(tmp_path):
    ex = resolve("ex01", ROOT)
    folder = tmp_path / "dl-course-submissions"
    for login, source in (("octocat", REFERENCE), ("hubot", STUB)):
        repo = folder / f"dl-course-{login}" / "exercises" / "ex01_sigmoid"
        repo.mkdir(parents=True)
        (repo / "sigmoid.py").write_text(source)
        (repo.parent.parent / ".git").mkdir()
    subs, layout = discover(folder, [ex])
    assert layout == "classroom" and sorted(s.student for s in subs) == ["hubot", "octocat"]
    # The folder `gh classroom clone` ran in, holding the clone: the same students.
    subs, layout = discover(tmp_path, [ex])
    assert layout == "classroom" and sorted(s.student for s in subs) == ["hubot", "octocat"]

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/ann/sigmoid.py", REFERENCE)
        zf.writestr("../evil.py", "x = 1\n")
        zf.writestr("/abs.py", "x = 1\n")
    target = tmp_path / "unzipped"
    extract_zip(archive, target)
    assert (target / "export" / "ann" / "sigmoid.py").read_text() == REFERENCE
    assert not (tmp_path / "evil.py").exists() and not list(target.glob("abs.py"))


# -- Dask ------------------------------------------------------------------------------------------


def test_dask_local_cluster_gives_the_same_results(graded, course, tmp_path):
    pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install 'grader[dask]')")
    _, subs, out, _ = graded
    few = tmp_path / "subs"
    few.mkdir()
    names = ["ada", "cyd", "dee", "eve"]
    for name in names:
        src = subs / name if (subs / name).is_dir() else subs / f"{name}.py"
        (shutil.copytree if src.is_dir() else shutil.copy)(src, few / src.name)
    ex = load_exercise(course / "exercises" / "ex01_sigmoid")
    summary = run_batch(few, [ex], tmp_path / "grades", jobs=2, dask="local", progress=False, log=lambda *a: None)
    assert summary.students == 4 and summary.graded == 4 and summary.errors == 0
    local = read_gradebook(out / "gradebook.csv")
    on_dask = read_gradebook(tmp_path / "grades" / "gradebook.csv")
    assert {n: on_dask[n]["total"] for n in names} == {n: local[n]["total"] for n in names}
    # Where each student was graded, and with which sandbox, is in the summary.
    data = json.loads((tmp_path / "grades" / "summary.json").read_text())
    assert sum(b["students"] for b in data["sandboxes"]) == 4 and all(b["hosts"] for b in data["sandboxes"])
    for name in names:
        a = json.loads((out / "reports" / f"{name}.json").read_text())["exercises"]["ex01_sigmoid"]["result"]
        b = json.loads((tmp_path / "grades" / "reports" / f"{name}.json").read_text())["exercises"]["ex01_sigmoid"]["result"]
        assert _checks(a) == _checks(b)


def _checks(result: dict) -> list:
    # The sandbox's scratch folder has a random name; nothing else may differ.
    return [(t["name"], t["score"], t["status"], re.sub(r"grader-sandbox-\w+", "", t["output"]))
            for t in result["tests"]]


# -- causes, sandbox, ETA, hanging functions -----------------------------------------------------------


def test_a_sandbox_without_namespaces_is_visible_in_the_gradebook(tmp_path):
    from grader.batch import write_gradebook

    ex = resolve("ex01", ROOT)
    full = ["pids cgroup", "mount+pid+ipc+network namespaces (filesystem view)", "runs as nobody",
            "landlock v4 (files, network)", "seccomp filter (keyrings, io_uring, namespaces, ptrace, bpf, mounts refused)",
            "own process group", "rlimits"]
    weak = ["own process group", "scrubbed environment", "rlimits"]

    def report(name, layers):
        result = {"score": 10.0, "tests": [], "sandbox": layers}
        return {"student": name, "info": {}, "score": 10.0, "max_score": 10.0, "percent": 100.0,
                "exercises": {ex.name: {"result": result, "job": f"worker-{name}:42"}}}

    write_gradebook(tmp_path, {"ann": report("ann", full), "bob": report("bob", weak)}, [ex])
    book = read_gradebook(tmp_path / "gradebook.csv")
    assert book["ann"]["notes"] == ""
    assert "sandbox without mount+pid+ipc+network namespaces and landlock and seccomp filter on worker-bob:42" \
        in book["bob"]["notes"]


def test_eta_counts_the_students_still_running(monkeypatch):
    import io

    from grader import progress

    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    bar = progress.Progress(4, stream=io.StringIO(), slots=2)
    now[0] = 130.0  # 30 s of start-up (imports) before the first student starts
    bar.started("a")
    bar.started("b")
    now[0] = 140.0
    bar.advance(key="a")  # a student takes 10 s
    bar.started("c")
    # b has run 10 s (done about now), c needs 10 s, d (queued) 10 s more on the slot b frees.
    assert bar.eta() == pytest.approx(10.0)
    now[0] = 145.0
    bar.advance(key="b")
    bar.started("d")
    # A student takes 12.5 s on average (10 s and 15 s): c has 7.5 s to go, d 12.5 s. The
    # ETA is the slowest student still running (not the mean gap between two finishing, 7.5 s).
    assert bar.eta() == pytest.approx(12.5)


def test_a_hanging_function_costs_one_timeout(tmp_path):
    """A conv backward that loops forever: one check waits call_seconds, later calls of it fail at once."""
    from grader.grading import grade

    folder = tmp_path / "exercises" / "ex06_conv"
    shutil.copytree(ROOT / "exercises" / "ex06_conv", folder, ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["limits"].update(call_seconds=2, total_seconds=60)
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    student = tmp_path / "conv.py"
    student.write_text((ROOT / "solutions" / "ex06_conv" / "conv.py").read_text()
                       + "\n\ndef conv2d_backward(dout, cache):\n    while True:\n        pass\n")
    ex = load_exercise(folder)
    (result,) = grade([ex], {ex.name: student})
    outputs = {t.name: t.output for t in result.tests}
    waited = [name for name, out in outputs.items() if "did not finish within" in out]
    assert len(waited) == 1, outputs  # one call waited its limit ...
    again = [name for name, out in outputs.items()
             if f"not run again: it timed out in {waited[0]} (2 s)" in out]
    backward = [t.name for t in result.tests if t.name.startswith("test_backward")]
    assert set(backward) - set(waited) <= set(again) and len(again) >= 3  # ... the later ones failed at once
    # The forward pass is still graded (and passes).
    assert all(t.status == "passed" for t in result.tests if t.name.startswith("test_forward"))
    assert not any("time budget" in out for out in outputs.values())


def test_every_summary_figure_matches_an_independent_count(graded):
    """summary.json and summary.md recomputed from gradebook.csv and the reports by other means."""
    _, _, out, _ = graded
    book = read_gradebook(out / "gradebook.csv")
    data = json.loads((out / "summary.json").read_text())
    percents = sorted(float(row["percent"]) for row in book.values())
    n = len(percents)
    middle = (percents[(n - 1) // 2] + percents[n // 2]) / 2  # the median, by its definition
    assert data["students"] == n
    assert data["mean_percent"] == pytest.approx(sum(percents) / n, abs=0.006)
    assert data["median_percent"] == pytest.approx(middle, abs=0.006)
    for band in data["histogram"]:
        inside = [p for p in percents if band["from"] <= p < band["to"] or (band["to"] == 100 and p == 100)]
        assert band["students"] == len(inside), band
    reports = [json.loads(p.read_text()) for p in (out / "reports").glob("*.json")]
    (ex,) = data["exercises"]
    entries = [r["exercises"]["ex01_sigmoid"] for r in reports]
    scores = [e["result"]["score"] for e in entries if e.get("result")]
    assert ex["graded"] == len(scores) and ex["mean_score"] == pytest.approx(sum(scores) / len(scores), abs=0.001)
    assert ex["missing"] == sum(bool(e.get("missing")) for e in entries)
    assert ex["errors"] == sum(bool(e.get("error")) for e in entries)
    assert ex["title"] == "The sigmoid function and its derivative"
    for row in data["failed_checks"]:
        failed = sum(any(t["name"] == row["check"] and t["status"] != "passed" for t in e["result"]["tests"])
                     for e in entries if e.get("result"))
        assert row["students"] == failed and row["percent"] == pytest.approx(100 * failed / len(scores), abs=0.05)
    kinds = {}
    for e in entries:
        for t in (e.get("result") or {}).get("tests", []):
            if t["status"] != "passed":
                kinds[t.get("kind") or t["status"]] = kinds.get(t.get("kind") or t["status"], 0) + 1
    assert data["failure_kinds"] == kinds
    given = {}
    for e in entries:
        for hint in {h.removeprefix("Hint:").strip() for t in (e.get("result") or {}).get("tests", [])
                     if t["status"] != "passed" for h in t.get("hints") or []}:
            given[hint] = given.get(hint, 0) + 1  # once per student
    assert {h["hint"]: h["students"] for h in data["hints"]} == given and given
    text = (out / "summary.md").read_text()
    assert f"mean {sum(percents) / n:.1f}%, median {middle:.1f}%" in text


def test_the_median_of_an_even_class_is_the_mean_of_the_middle_two():
    ex = resolve("ex01", ROOT)
    reports = {f"s{i}": {"slug": f"s{i}", "percent": p, "exercises": {}} for i, p in enumerate([10.0, 20.0, 21.1, 90.0])}
    data = summarize(reports, [ex])
    assert data["median_percent"] == 20.55  # not percents[len // 2] (21.1)
    from grader.batch.summary import format_summary

    assert format_summary(summarize({"a": reports["s0"]}, [ex])).splitlines()[0] == "# Batch grading: 1 student"
