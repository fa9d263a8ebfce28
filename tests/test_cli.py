"""The command line end to end: names, formats, exit statuses, seeds, schemas."""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT, run_cli

SCHEMAS = Path(__file__).parent / "schemas"
REFERENCE = ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py"
SIGN_FLIPPED = ROOT / "exercises" / "ex01_sigmoid" / "mutants" / "sign_flipped.py"


def schema(name):
    return json.loads((SCHEMAS / name).read_text())


def check_json(*args, **kwargs):
    proc = run_cli("check", *args, "--format", "json", **kwargs)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_stub_report_scores_zero_with_feedback_and_versions():
    proc = run_cli("check", "ex01")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Score: 0 / 10 (0%)" in out
    assert out.count("FAIL") == 6 and "not implemented yet" in out
    assert re.search(r"seed 1234 \| devices: cpu.* \| Python 3\.\d+\.\d+, NumPy [\d.]+, PyTorch [\d.]+", out)


@pytest.mark.parametrize("name", ["1", "ex01", "ex01_sigmoid", "sigmoid", "EX01"])
def test_exercise_names(name):
    data = check_json(name, "--submission", str(REFERENCE))
    assert data["exercise"] == "ex01_sigmoid" and data["score"] == data["max_score"] == 10


def test_json_report_validates_and_carries_feedback():
    data = check_json("ex01", "--submission", str(SIGN_FLIPPED))
    jsonschema.validate(data, schema("report.schema.json"))
    assert 0 < data["score"] < data["max_score"]
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and all("sign inside exp is flipped" in t["output"] for t in failed
                          if t["name"].startswith("test_sigmoid"))


def test_all_gives_a_list():
    data = check_json("--all")
    assert isinstance(data, list) and [d["exercise"] for d in data][:3] == [
        "ex01_sigmoid", "ex02_propagate", "ex03_logreg"]
    for d in data:
        jsonschema.validate(d, schema("report.schema.json"))
        assert d["score"] == 0


def test_gradescope_output_validates(tmp_path):
    out = tmp_path / "results.json"
    proc = run_cli("check", "ex01", "--submission", str(SIGN_FLIPPED), "--format", "gradescope",
                   "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    jsonschema.validate(data, schema("gradescope-results.schema.json"))
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert {t["status"] for t in data["tests"]} == {"passed", "failed"}


def test_submission_may_be_a_folder(tmp_path):
    (tmp_path / "sigmoid.py").write_text(REFERENCE.read_text())
    assert check_json("ex01", "--submission", str(tmp_path))["score"] == 10


def test_fail_under_sets_exit_status_one():
    assert run_cli("check", "ex01", "--fail-under", "50").returncode == 1
    assert run_cli("check", "ex01", "--submission", str(REFERENCE), "--fail-under", "100").returncode == 0


@pytest.mark.parametrize("args,needle", [
    (["check", "ex99"], "no exercise called 'ex99'"),
    (["check", "ex01", "--submission", "/nonexistent/file.py"], "no such file"),
    (["check"], "name one exercise"),
    (["check", "ex01", "--format", "xml"], "invalid choice"),
])
def test_usage_errors_exit_two(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2 and needle in proc.stderr


def test_bad_student_code_never_changes_the_exit_status(tmp_path):
    bad = tmp_path / "sigmoid.py"
    bad.write_text("import sys\nprint('{\"score\": 10}')\nsys.exit(1)\n")
    proc = run_cli("check", "ex01", "--submission", str(bad), "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["score"] == 0 and "could not be imported" in data["tests"][0]["output"]


def test_seed_reproduces_and_changes_inputs():
    mutant = str(ROOT / "exercises/ex02_propagate/mutants/no_mean.py")
    a = check_json("ex02", "--submission", mutant, "--seed", "7")
    b = check_json("ex02", "--submission", mutant, "--seed", "7")
    c = check_json("ex02", "--submission", mutant, "--seed", "8")
    assert a["seed"] == b["seed"] == 7 and c["seed"] == 8
    outputs = lambda d: [t["output"] for t in d["tests"]]  # noqa: E731
    assert outputs(a) == outputs(b)
    assert outputs(a) != outputs(c)
    # $GRADER_SEED is a secret: its own (keyed) inputs, shown only by its fingerprint and the
    # run's nonce; each run draws a fresh nonce (new inputs), and the nonce reproduces a run.
    secret = "5f0c2b8e9d1a4c3b7e6f8a9b0c1d2e3f"
    d = check_json("ex02", "--submission", mutant, env={"GRADER_SEED": secret})
    e = check_json("ex02", "--submission", mutant, env={"GRADER_SEED": secret})
    assert re.fullmatch(r"secret:[0-9a-f]{10}/run:[0-9a-f]{16}", d["seed"])
    assert d["seed"] != e["seed"] and d["seed"].split("/")[0] == e["seed"].split("/")[0]
    assert outputs(d) != outputs(e) and outputs(d) != outputs(a)
    again = check_json("ex02", "--submission", mutant, "--run-nonce", d["seed"].split("/run:")[1],
                       env={"GRADER_SEED": secret})
    assert again["seed"] == d["seed"] and outputs(again) == outputs(d)
    assert secret not in json.dumps(d)


def test_list_shows_points_and_current_scores(tmp_path):
    course = tmp_path / "course"
    import shutil

    shutil.copytree(ROOT / "exercises", course / "exercises")
    shutil.copy(REFERENCE, course / "exercises" / "ex01_sigmoid" / "sigmoid.py")
    proc = run_cli("list", cwd=course, env={"GRADER_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("ex01_sigmoid"))
    assert line.split()[1:3] == ["10", "10"]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("ex02_propagate"))
    assert line.split()[1:3] == ["9", "0"]


def test_plain_pytest_grades_and_prints_the_score():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "exercises/ex01_sigmoid"),
                           "--submission", str(REFERENCE), "--seed", "3"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout
    assert "Score: 10 / 10 (100%)" in proc.stdout and "seed 3" in proc.stdout


def test_reproduce_line_names_the_submission_it_graded():
    mutant = ROOT / "exercises/ex02_propagate/mutants/no_mean.py"
    proc = run_cli("check", "ex02", "--submission", str(mutant), "--seed", "5")
    line = next(l for l in proc.stdout.splitlines() if "reproduce:" in l)
    assert line.split("reproduce: ")[1] == "grader check ex02_propagate --seed 5 --submission " + str(
        mutant.relative_to(ROOT))
    own = run_cli("check", "ex02", "--seed", "5")  # the student's own file: no --submission
    assert "reproduce: grader check ex02_propagate --seed 5\n" in own.stdout


def test_all_in_parallel_grades_exactly_as_a_serial_run(tmp_path):
    """`grader check --all` grades the exercises in parallel jobs; the report is
    the serial one: same exercises in the same order, same scores and feedback."""
    import re

    def run(*extra):
        proc = run_cli("check", "--all", "--format", "json", *extra)
        assert proc.returncode == 0, proc.stderr
        return [(r["exercise"], r["score"], [(t["name"], t["status"], re.sub(r"\d+\.\d+", "#", t["output"]))
                                             for t in r["tests"]]) for r in json.loads(proc.stdout)]

    serial, parallel = run("--jobs", "1"), run("--jobs", "3")
    assert [name for name, _, _ in parallel] == sorted(name for name, _, _ in parallel)
    assert len(parallel) >= 10 and parallel == serial


def test_the_command_line_starts_without_numpy():
    """`grader check --all` starts its jobs' fork server before anything imports
    NumPy (the server's own import then runs on a core this process leaves idle)."""
    import subprocess
    import sys

    code = ("import sys, grader.cli, grader.exercises; grader.cli._modules(); "
            "grader.exercises.all_exercises(grader.exercises.find_root()); "
            "print(sorted(m for m in ('numpy', 'pytest', 'torch') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_all_starts_a_fork_server_only_for_files_to_grade(tmp_path):
    from grader.commands.check import start_fork_server
    from grader.exercises import all_exercises
    from grader.sandbox import forkserver

    exercises = all_exercises(ROOT)
    empty = {ex.name: tmp_path for ex in exercises}
    assert start_fork_server(exercises, empty, 2) == [], "nothing to grade: no server"
    one = tmp_path / exercises[3].file
    one.write_text("")
    servers = start_fork_server(exercises, empty, 2)
    try:
        assert len(servers) == (2 if forkserver.enabled() else 0)
        assert start_fork_server(exercises, empty, 1) == [], "serial: the process's own server, on first use"
    finally:
        for server in servers:
            server.close()


_ADOPT_ORPHANS = r"""
import ctypes, json, os, signal, subprocess, sys
# PR_SET_CHILD_SUBREAPER: what the command leaves running, in any session or process group
# (the fork server starts its own session), becomes this process's child, and only that is listed.
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
import tempfile
with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:  # (a pipe would wait
    status = subprocess.run([sys.executable, "-m", "grader", *sys.argv[1:]], stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL).returncode  # for what was left holding it)
    out.seek(0), err.seek(0)
    stdout, stderr = out.read(), err.read()
me, left = os.getpid(), {}
for entry in os.listdir("/proc"):
    try:
        with open(f"/proc/{entry}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) != me:
                continue
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            left[int(entry)] = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (OSError, ValueError, IndexError):
        continue
for pid in left:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
while True:
    try:
        if os.waitpid(-1, 0)[0] == 0:
            break
    except ChildProcessError:
        break
print(json.dumps({"status": status, "out": stdout, "err": stderr,
                  "left": [c for c in left.values() if c.strip()]}))
"""


def _run_adopting_orphans(args: list[str], env: dict) -> tuple[int, str, str, list[str]]:
    """Run `grader ARGS` under a subreaper: (status, stdout, stderr, the command lines of the
    processes it left running), counting only processes that this command started."""
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _ADOPT_ORPHANS, *args], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, **env), timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return data["status"], data["out"], data["err"], data["left"]


def test_the_orphan_check_sees_a_process_left_behind(tmp_path):
    """The check above is worth something only if it sees what a command leaves running (and
    nothing that another program on the machine runs)."""
    import subprocess
    import sys

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "--fork-server"])
    try:
        leaver = tmp_path / "leaver.py"
        leaver.write_text("import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
                          "'import time; time.sleep(60)', '--fork-server'], start_new_session=True)\n")
        status, _, _, left = _run_adopting_orphans(["--root", str(tmp_path), "report", "--help"], env={})
        assert status == 0 and left == [], "a command that leaves nothing: nothing listed, not even `other`"
        code = f"import runpy, sys; runpy.run_path({str(leaver)!r})"
        proc = subprocess.run([sys.executable, "-c", _ADOPT_ORPHANS.replace(
            '[sys.executable, "-m", "grader", *sys.argv[1:]]', f"[sys.executable, '-c', {code!r}]")],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        left = json.loads(proc.stdout)["left"]
        assert len(left) == 1 and "--fork-server" in left[0], left
    finally:
        other.kill()
        other.wait()


def test_all_in_parallel_with_an_empty_cache(tmp_path, monkeypatch):
    """With an empty cache the parent imports torch once, while the jobs'
    fork server starts (one, with a handle for each job to adopt): every exercise solved, graded as a
    serial run without the cache grades it. Afterwards the cache knows each
    exercise (no import up front next time) and how long it took (the
    slowest go first), and no fork server is left running."""
    import shutil

    solved = tmp_path / "solved"
    solved.mkdir()
    for path in (ROOT / "solutions").glob("ex*/*.py"):
        shutil.copy(path, solved / path.name)
    cache = tmp_path / "cache"

    def run(*extra):
        proc = run_cli("check", "--all", "--format", "json", "--submission", str(solved), *extra,
                       env={"GRADER_CACHE_DIR": str(cache)})
        assert proc.returncode == 0, proc.stderr
        return [(r["exercise"], r["score"], r["max_score"]) for r in json.loads(proc.stdout)]

    # Only what this command started is looked at (another grader on the machine is not ours).
    status, out, err, left = _run_adopting_orphans(
        ["check", "--all", "--format", "json", "--submission", str(solved), "--jobs", "2"],
        env={"GRADER_CACHE_DIR": str(cache)})
    assert status == 0, err
    assert not [cmd for cmd in left if "--fork-server" in cmd], f"a fork server outlived its command: {left}"
    parallel = [(r["exercise"], r["score"], r["max_score"]) for r in json.loads(out)]
    assert all(score == best for _, score, best in parallel) and len(parallel) >= 10
    assert parallel == run("--jobs", "1", "--no-cache")
    assert len(list((cache / "oracle" / "seen").iterdir())) == len(parallel)
    from grader.commands.check import _first_time_with_cache
    from grader.exercises import all_exercises

    monkeypatch.setenv("GRADER_CACHE_DIR", str(cache))
    assert not _first_time_with_cache(all_exercises(ROOT), None), "the next --all imports no torch up front"
    assert _first_time_with_cache(all_exercises(ROOT), 7), "another seed: other answers"
    durations = json.loads((cache / "durations.json").read_text())
    assert sorted(durations) == [name for name, _, _ in parallel] and all(v > 0 for v in durations.values())


# -- the command line as a terminal user meets it ------------------------------------------------


def test_a_closed_pipe_ends_quietly_with_141():
    """`grader check ex01 | head -2`: the reader goes away before the report is written. The command
    stops as cat or grep do (141: killed by SIGPIPE, as a shell shows it), with no traceback."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "check", "ex01"], cwd=ROOT, stdout=write,
                            stderr=subprocess.PIPE, text=True)
    os.close(write)
    os.close(read)  # gone before the report (grading takes a while)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err
    assert err == "", err


def test_another_broken_pipe_is_not_taken_for_a_closed_output():
    """Only standard output's reader going away ends quietly: a broken pipe of the grader's own
    (standard output still open) is a fault, and shows as one."""
    import subprocess
    import sys

    code = ("import sys\nfrom grader import cli\nfrom grader.commands import check\n"
            "def run(*args):\n    raise BrokenPipeError(32, 'Broken pipe')\n"
            "check.run = run\nsys.exit(cli.main(['check', 'ex01']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode not in (0, 141) and "BrokenPipeError" in proc.stderr


@pytest.mark.parametrize("args,needle", [
    (["check", "ex01", "--fail-under", "150"], "between 0 and 100, not 150"),
    (["check", "ex01", "--fail-under", "-5"], "between 0 and 100, not -5"),
    (["check", "ex01", "--fail-under", "nan"], "between 0 and 100, not nan"),
    (["check", "ex01", "--fail-under", "half"], "not a number: 'half'"),
    (["ci", "--head", ".", "--pass-mark", "101"], "between 0 and 100, not 101"),
])
def test_percentages_out_of_range_are_usage_errors(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_pass_mark_out_of_range_in_the_environment_is_a_usage_error():
    proc = run_cli("ci", "--head", ".", env={"GRADER_PASS_MARK": "120"})
    assert proc.returncode == 2 and "GRADER_PASS_MARK: a percentage is between 0 and 100, not 120" in proc.stderr


def test_fail_under_accepts_the_ends_of_the_range():
    assert run_cli("check", "ex01", "--fail-under", "0").returncode == 0
    assert run_cli("check", "ex01", "--fail-under", "100").returncode == 1  # the stub scores 0


WEAK = "fewer than 64"


@pytest.mark.parametrize("args", [
    ["check", "ex01"],
    ["validate", "ex01", "--seeds", "0"],               # usage errors after the warning: cheap
    ["batch", "/nonexistent/submissions", "-e", "ex01"],
    ["ci", "--head", "/nonexistent/head"],
], ids=lambda a: a[0])
def test_every_command_that_grades_warns_once_about_a_weak_seed(args):
    proc = run_cli(*args, env={"GRADER_SEED": "abc"})
    assert proc.stderr.count(WEAK) == 1, proc.stderr
    assert "secrets.token_hex(16)" in proc.stderr and "abc" not in proc.stderr.replace("grader", "")


def test_no_seed_warning_for_a_strong_secret_or_an_explicit_seed():
    # (validate's usage error comes after the point where the warning would be given: cheap.)
    strong = run_cli("validate", "ex01", "--seeds", "0", env={"GRADER_SEED": "5f0c2b8e9d1a4c3b7e6f8a9b0c1d2e3f"})
    explicit = run_cli("validate", "ex01", "--seed", "3", "--seeds", "0", env={"GRADER_SEED": "abc"})
    for proc in (strong, explicit):
        assert proc.returncode == 2 and "--seeds must be at least 1" in proc.stderr and WEAK not in proc.stderr
    assert WEAK not in run_cli("list", env={"GRADER_SEED": "abc"}).stderr  # it grades nothing


def _mini_course(tmp_path: Path, *names: str) -> Path:
    import shutil

    course = tmp_path / "course"
    for name in names:
        shutil.copytree(ROOT / "exercises" / name, course / "exercises" / name,
                        ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    return course


def _run_on_a_terminal(args: list[str], cwd: Path, env: dict) -> tuple[int, str, str]:
    """Run the command with standard error on a pseudo-terminal: (status, stdout, what the terminal got)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=slave, text=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the other end is closed
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=300)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode("utf-8", "replace")


def test_check_all_shows_progress_on_a_terminal_only(tmp_path):
    import os

    course = _mini_course(tmp_path, "ex01_sigmoid", "ex02_propagate")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    for jobs in ("2", "1"):  # in parallel jobs, and serially
        status, out, terminal = _run_on_a_terminal(["check", "--all", "--jobs", jobs], course, env)
        assert status == 0, terminal
        assert "0/2 exercises graded" in terminal and "2/2 exercises graded (100%)" in terminal, terminal
        assert terminal.endswith(" \r"), "the line is blanked at the end, for the report"
        # Whole points as integers, with the percentage.
        assert re.search(r"\n\nTotal: 0 / \d+ \(0%\)$", out.rstrip("\n")), out[-200:]
        assert ".00" not in out.splitlines()[-1]
    # In CI, or with standard error not a terminal: no progress line.
    _, _, terminal = _run_on_a_terminal(["check", "--all", "--jobs", "1"], course, dict(env, CI="true"))
    assert "exercises graded" not in terminal, terminal
    proc = run_cli("check", "--all", "--jobs", "1", cwd=course, env={"CI": ""})
    assert proc.returncode == 0 and "exercises graded" not in proc.stderr, proc.stderr
