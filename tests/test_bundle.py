"""`grader bundle --gradescope`: the zip is laid out for Gradescope, holds no reference code, and its
run_autograder, run against a folder laid out like Gradescope's /autograder, writes a valid
results.json: full marks for the reference (hidden checks included, marked hidden), fewer for a
wrong submission."""

import json
import re
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT, run_cli
from test_release import leaked_bodies, reference_function_bodies

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "gradescope-results.schema.json").read_text())
SEED = 4321


@pytest.fixture(scope="module")
def bundle_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    proc = run_cli("bundle", "ex01", "ex10", "--gradescope", str(out), "--seed", str(SEED))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"grading seed: {SEED}" in proc.stdout and "references score full marks" in proc.stdout
    return out


def autograder_root(tmp_path: Path, bundle: Path) -> Path:
    """A folder laid out like Gradescope's /autograder: source/ (the zip), submission/, results/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def run_autograder(root: Path, log: list | None = None) -> dict:
    """Run the bundle's run_autograder; ``log`` gets its standard output and its wall time."""
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    env.pop("PYTHONPATH", None)
    started = time.perf_counter()
    proc = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600, cwd=root)
    if log is not None:
        log += [proc.stdout, time.perf_counter() - started]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    if data["tests"]:  # the bundles here have short seeds: the staff (who alone see this output) are warned
        assert "fewer than 64" in proc.stdout
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    return data


def test_bundle_layout(bundle_zip):
    with zipfile.ZipFile(bundle_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        config = json.loads(zf.read("bundle.json"))
    names = set(infos)
    assert {"setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "README.md",
            "grader/__init__.py", "grader/autograder.py", "grader/sandbox/worker.py"} <= names
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & stat.S_IXUSR, f"{script} is executable"
    assert config == {"exercises": ["ex01_sigmoid", "ex10_linreg"], "seed": SEED, "only_submitted": False}
    assert {"exercises/ex10_linreg/test_linreg.py", "exercises/ex10_linreg/test_linreg_hidden.py",
            "exercises/ex10_linreg/exercise.yaml", "exercises/ex01_sigmoid/test_sigmoid.py"} <= names
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "benchmarks/", "docs/"))
                or "/mutants/" in n or "__pycache__" in n]
    assert not [n for n in names if n.startswith("exercises/") and not n.startswith(
        ("exercises/ex01_sigmoid/", "exercises/ex10_linreg/"))]


def test_bundle_holds_no_reference_code(bundle_zip, tmp_path):
    with zipfile.ZipFile(bundle_zip) as zf:
        zf.extractall(tmp_path / "source")
    assert leaked_bodies(tmp_path / "source", reference_function_bodies()) == []


def test_reference_scores_full_marks_with_hidden_checks_marked_hidden(bundle_zip, tmp_path):
    root = autograder_root(tmp_path, bundle_zip)
    shutil.copy2(ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py", root / "submission" / "sigmoid.py")
    shutil.copy2(ROOT / "solutions" / "ex10_linreg" / "linreg.py", root / "submission" / "linreg.py")
    log: list = []
    data = run_autograder(root, log)
    stdout, wall = log
    assert data["score"] == pytest.approx(10 + 13)
    # execution_time is this run's wall time (not the exercises' times added up) ...
    assert data["execution_time"] <= wall + 0.5
    # ... and the instructors' output says which sandbox layers were in effect, per exercise.
    layers = [line for line in stdout.splitlines() if line.strip().startswith("sandbox: ")]
    assert len(layers) == 2 and all("rlimits" in line for line in layers), stdout
    assert all(t["status"] == "passed" for t in data["tests"])
    hidden = {t["name"] for t in data["tests"] if t["visibility"] == "hidden"}
    assert hidden == {"ex10_linreg: test_fit_course_data"}
    assert re.search(r"seed secret:[0-9a-f]{10}", data["output"]) and str(SEED) not in data["output"]
    # This run's own inputs: a fresh nonce, shown to staff (results.json, stdout) to reproduce the grade.
    run = re.search(r"seed secret:[0-9a-f]{10}/run:([0-9a-f]{16})", data["output"])
    assert run and f"--run-nonce {run.group(1)}" in stdout
    assert list((root / "submission").iterdir()), "the submission itself is left alone"


def test_wrong_submission_loses_points(bundle_zip, tmp_path):
    root = autograder_root(tmp_path, bundle_zip)
    # A copy of the student repository, with a mutant as the student's linreg.py, and no sigmoid.py.
    folder = root / "submission" / "exercises" / "ex10_linreg"
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "exercises" / "ex10_linreg" / "mutants" / "half_mse.py", folder / "linreg.py")
    data = run_autograder(root)
    ex10 = [t for t in data["tests"] if t["name"].startswith("ex10_linreg")]
    ex01 = [t for t in data["tests"] if t["name"].startswith("ex01_sigmoid")]
    assert 0 < sum(t["score"] for t in ex10) < 13
    assert any("1/(2m)" in t["output"] for t in ex10)
    assert ex01 and all(t["score"] == 0 and "your submission holds no sigmoid.py" in t["output"] for t in ex01)
    assert "ex01_sigmoid: no sigmoid.py" in data["output"]


def test_only_submitted_grades_the_exercises_found(tmp_path):
    out = tmp_path / "only.zip"
    proc = run_cli("bundle", "ex01", "ex10", "--gradescope", str(out), "--seed", "7", "--only-submitted",
                   "--no-check")
    assert proc.returncode == 0, proc.stderr
    root = autograder_root(tmp_path, out)
    (root / "submission" / "sigmoid.py").write_text("import numpy as np\n\ndef sigmoid(z):\n    return 0.5\n")
    data = run_autograder(root)
    assert {t["tags"][0] for t in data["tests"]} == {"ex01_sigmoid"}
    empty = autograder_root(tmp_path / "empty", out)
    data = run_autograder(empty)
    assert data["score"] == 0 and data["tests"] == [] and "none of the files" in data["output"]


def test_a_broken_bundle_still_writes_results(bundle_zip, tmp_path):
    root = autograder_root(tmp_path, bundle_zip)
    (root / "source" / "bundle.json").write_text("{not json")
    data = run_autograder(root)
    assert data["score"] == 0 and "not a problem with your code" in data["output"]


def test_bundle_refuses_a_reference_that_fails_with_its_seed(tmp_path):
    from grader.bundle import BundleError, bundle
    from grader.exercises import load_exercise

    root = tmp_path / "course"
    shutil.copytree(ROOT / "exercises" / "ex10_linreg", root / "exercises" / "ex10_linreg")
    (root / "solutions" / "ex10_linreg").mkdir(parents=True)
    shutil.copy2(ROOT / "exercises" / "ex10_linreg" / "mutants" / "loss_sum.py",
                 root / "solutions" / "ex10_linreg" / "linreg.py")
    with pytest.raises(BundleError, match="does not score full marks"):
        bundle(root, tmp_path / "x.zip", [load_exercise(root / "exercises" / "ex10_linreg")], seed=1)
    assert not (tmp_path / "x.zip").exists()


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python3 and the venv's python: records what pip would be asked, installs nothing.
if [ "${1:-}" = "-m" ] && [ "${2:-}" = "venv" ]; then
    mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
if [ "${1:-}" = "-m" ] && [ "${2:-}" = "pip" ]; then
    echo "pip $* | index=${PIP_INDEX_URL:-} | extra=${PIP_EXTRA_INDEX_URL:-}" >> "$SETUP_LOG"
fi
exit 0
"""


@pytest.mark.parametrize("settings, expected_extra", [
    ({}, "https://download.pytorch.org/whl/cpu"),
    ({"PIP_INDEX_URL": "https://mirror.example/simple", "GRADER_TORCH_INDEX_URL": "https://mirror.example/torch"},
     "https://mirror.example/torch"),
    ({"PIP_EXTRA_INDEX_URL": "https://extra.example/simple", "GRADER_TORCH_INDEX_URL": ""},
     "https://extra.example/simple"),
])
def test_setup_sh_honours_pips_settings_and_the_torch_index(tmp_path, settings, expected_extra):
    source = ROOT / "grader" / "templates" / "gradescope" / "setup.sh"
    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "pip.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GRADER_"))}
    env.update(settings, PATH=f"{fake.parent}:{env['PATH']}", SETUP_LOG=str(log), AUTOGRADER_ROOT=str(tmp_path))
    proc = subprocess.run(["bash", str(source)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installs = [line for line in log.read_text().splitlines() if "-c constraints.txt" in line]
    assert len(installs) == 1, log.read_text()
    assert "download.pytorch.org" not in installs[0].split(" | ")[0], "no index hard-coded on the command line"
    assert installs[0].endswith(f"| extra={expected_extra}")
    assert f"index={settings.get('PIP_INDEX_URL', '')} |" in installs[0]
