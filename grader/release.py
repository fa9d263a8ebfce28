"""`grader release`: the student repository, built from the course repository.

What goes in (and nothing else):

- ``exercises/EX/``: the stub, README.md, exercise.yaml (hidden checks removed),
  the public graders (``test_*.py`` except ``test_*_hidden.py``) and any other
  file the graders need (such as ex03's ``timing_baseline.py``); never
  ``mutants/``;
- ``grader/``: the grader package, so that students grade exactly as the course does;
- ``pyproject.toml`` (with ``testpaths`` pointing at ``exercises``), ``constraints.txt``;
- ``README.md``: a student README generated from ``grader/templates/release/``;
- ``.github/workflows/autograde.yml`` when the course repository has one;
- the notebooks, when this grader has a ``grader notebook`` command (the
  release's own is run as ``grader notebook EX --out exercises/EX/EX.ipynb``);
- ``.gitignore`` and ``.grader-release`` (a marker: ``--force`` only replaces a
  folder that holds it).

Never: ``solutions/``, ``tests/``, ``benchmarks/``, ``docs/``, mutants, hidden
checks. As a last guard, every file written is compared with the reference
solutions' function bodies (see :func:`find_leaks`); a release that holds one
is deleted and the command fails. The grader package's own scaffold templates
are the package's, not the course's, and are not searched (`grader new
--random`'s placeholder is a natural reference: inverted dropout).

Hidden checks: a check marked ``hidden: true`` in exercise.yaml is a test
function in a ``test_<name>_hidden.py`` file (``grader validate`` enforces
this). The release drops those files and the checks' entries in exercise.yaml;
``grader bundle`` keeps both.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import yaml

from grader.exercises import METADATA, Exercise, ExerciseError, all_exercises, load_exercise
from grader.report import _points
from grader.validate import defined_checks, is_hidden_file

MARKER = ".grader-release"
TEMPLATES = Path(__file__).with_name("templates")
# Never copied from an exercise folder.
_SKIP_DIRS = {"mutants", "__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".mypy_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
_STUDENT_GITIGNORE = "__pycache__/\n*.pyc\n*.egg-info/\n.venv/\n.pytest_cache/\n.ipynb_checkpoints/\n"


class ReleaseError(ExerciseError):
    """The release cannot be written (a usage error, or it would leak the references)."""


@dataclass
class ReleaseReport:
    out: Path
    exercises: list[str]
    files: list[Path] = field(default_factory=list)
    hidden_checks: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- exercise folders ---------------------------------------------------------------------


def hidden_checks(ex: Exercise) -> list[str]:
    return [c.name for c in ex.checks.values() if c.hidden]


def check_hidden_layout(ex: Exercise) -> None:
    """Refuse an exercise whose public grader files define a hidden check."""
    for file, names in defined_checks(ex).items():
        if is_hidden_file(file):
            continue
        leaked = [n for n in names if n in ex.checks and ex.checks[n].hidden]
        if leaked:
            raise ReleaseError(f"{ex.name}/{file} defines hidden check(s) {', '.join(leaked)}: move them "
                               f"to a test_*_hidden.py file (see docs/instructors.md)")


def strip_checks(text: str, names: list[str]) -> str:
    """exercise.yaml's text without the entries of ``names`` under ``checks:``.

    The text is edited line by line so that comments and layout survive; the
    result is checked by parsing it, and written afresh with PyYAML when the
    layout is one this does not handle (a flow-style ``checks: {...}``)."""
    if not names:
        return text
    data = yaml.safe_load(text)
    want = dict(data)
    want["checks"] = {k: v for k, v in (data.get("checks") or {}).items() if k not in names}
    lines = text.splitlines(keepends=True)
    out, in_checks, child, skipping = [], False, None, False
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not in_checks:
            out.append(line)
            if re.match(r"^checks:\s*(#.*)?$", line):
                in_checks = True
            continue
        if stripped and indent == 0 and not stripped.startswith("#"):
            in_checks = skipping = False  # the next top-level key
            out.append(line)
            continue
        if stripped and not stripped.startswith("#"):
            if child is None:
                child = indent
            if indent == child:
                key = stripped.split(":", 1)[0].strip().strip("'\"")
                skipping = key in names
                if skipping:
                    while out and out[-1].strip().startswith("#") and \
                            len(out[-1]) - len(out[-1].lstrip(" ")) == child:
                        out.pop()  # a comment about the removed check
        if not skipping:
            out.append(line)
        elif not stripped:
            out.append(line)
    result = "".join(out)
    try:
        if yaml.safe_load(result) == want:
            return result
    except yaml.YAMLError:
        pass
    return "# Written by grader release (the hidden checks removed).\n" + yaml.safe_dump(want, sort_keys=False)


def copy_exercise(ex: Exercise, dest: Path, include_hidden: bool, include_readme: bool = True) -> list[Path]:
    """Copy an exercise folder for students (``include_hidden=False``) or for the autograder."""
    if not include_hidden:
        check_hidden_layout(ex)
    written = []
    for src in sorted(ex.path.rglob("*")):
        rel = src.relative_to(ex.path)
        if any(part in _SKIP_DIRS for part in rel.parts) or src.suffix in _SKIP_SUFFIXES:
            continue
        if src.is_symlink() or not src.is_file():
            continue
        if not include_hidden and len(rel.parts) == 1 and is_hidden_file(src):
            continue
        if not include_readme and rel.as_posix() == "README.md":
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() == METADATA and not include_hidden:
            target.write_text(strip_checks(src.read_text(), hidden_checks(ex)))
        else:
            shutil.copy2(src, target)
        written.append(target)
    if not include_hidden:
        public = load_exercise(dest)
        if any(c.hidden for c in public.checks.values()) or set(public.checks) != \
                {n for n, c in ex.checks.items() if not c.hidden}:
            raise ReleaseError(f"{ex.name}: the hidden checks could not be removed from {METADATA}")
    return written


def copy_package(root: Path, dest: Path) -> list[Path]:
    """The grader package (the course repository's own, else the one running)."""
    source = root / "grader"
    if not (source / "__init__.py").is_file():
        source = Path(__file__).resolve().parent
    written = []
    for src in sorted(source.rglob("*")):
        rel = src.relative_to(source)
        if any(part in _SKIP_DIRS for part in rel.parts) or src.suffix in _SKIP_SUFFIXES:
            continue
        if src.is_symlink() or not src.is_file():
            continue
        target = dest / "grader" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        written.append(target)
    return written


def copy_project_files(root: Path, dest: Path) -> list[Path]:
    """pyproject.toml (tests pointed at the exercises), constraints.txt, a licence."""
    written = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = re.sub(r'(?m)^testpaths = \["tests"\]$', 'testpaths = ["exercises"]', pyproject.read_text())
        (dest / "pyproject.toml").write_text(text)
        written.append(dest / "pyproject.toml")
    for name in ("constraints.txt", "LICENSE", "LICENSE.md", "LICENSE.txt"):
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
            written.append(dest / name)
    return written


def write_public_course(root: Path, dest: Path, exercises: list[str]) -> list[Path]:
    """``course.yaml`` without the roster and the extensions (private), when the course has one."""
    from grader.course import load_course, public_course_yaml

    course = load_course(root)
    if course is None:
        return []
    (dest / "course.yaml").write_text(public_course_yaml(course, exercises))
    return [dest / "course.yaml"]



def student_readme(exercises: list[Exercise]) -> str:
    rows = []
    for ex in exercises:
        public = sum(c.points for c in ex.checks.values() if not c.hidden)
        rows.append(f"| {ex.number} | `{ex.name}` | `{ex.file}` | {ex.title} | {_points(public)} |")
    template = Template((TEMPLATES / "release" / "README.md.tmpl").read_text())
    first = exercises[0] if exercises else None
    return template.substitute(
        table="\n".join(rows),
        first=f"ex{first.number:02d}" if first else "ex01",
        first_file=f"exercises/{first.name}/{first.file}" if first else "exercises/ex01_sigmoid/sigmoid.py",
    )


# -- leaks ----------------------------------------------------------------------------------


def _body_of(node: ast.AST) -> list[ast.stmt]:
    """A function's statements, its docstring dropped."""
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return body


def _bodies_of(tree: ast.AST) -> list[tuple[str, str]]:
    """(function name, normalised body) for every function in ``tree``, docstrings removed."""
    return [(node.name, "\n".join(ast.unparse(s) for s in _body_of(node)))
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_of(node)]


def _reference_functions(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The reference bodies, normalised (``ast.unparse``, a statement a line) and
    as their own text with all white space removed: ``{body: where}`` each."""
    normalised, verbatim = {}, {}
    for path in sorted((root / "solutions").rglob("*.py")):
        source = path.read_text()
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines = source.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not _body_of(node):
                continue
            where, body = f"{path.relative_to(root)}:{node.name}", _body_of(node)
            normalised.setdefault("\n".join(ast.unparse(s) for s in body), where)
            verbatim.setdefault(_squash("\n".join(lines[body[0].lineno - 1:body[-1].end_lineno])), where)
    return normalised, verbatim


def _python_sources(path: Path, text: str) -> list[str]:
    """Python code found in a file: itself, a notebook's code cells, a Markdown file's code blocks."""
    if path.suffix == ".py":
        return [text]
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except (ValueError, AttributeError):
            return [text]
        return ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    fenced = re.findall(r"```[\w+-]*\n(.*?)```", text, re.DOTALL)
    indented = re.findall(r"(?:^(?: {4}|\t).*\n?)+", text, re.MULTILINE)  # Markdown's indented code blocks
    return fenced + indented


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _statement_runs(tree: ast.AST, longest: int):
    """Every run of consecutive statements (up to ``longest``) in every block of ``tree``, unparsed."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, name, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            text = [ast.unparse(s) for s in block]
            for i in range(len(text)):
                for j in range(i + 1, min(len(text), i + longest) + 1):
                    yield "\n".join(text[i:j])


def package_templates(folder: Path) -> set[Path]:
    """The files under ``folder``'s ``grader/templates/`` that are this grader package's own, unchanged.

    They are the package's, not the course's: ``grader new``'s scaffolds (whose
    placeholders, such as ``--random``'s inverted dropout, may well be a
    course's natural reference), public in every install of the grader."""
    released = folder / "grader" / "templates"
    own = set()
    for path in released.rglob("*") if released.is_dir() else ():
        source = TEMPLATES / path.relative_to(released)
        if path.is_file() and not path.is_symlink() and source.is_file() \
                and source.read_bytes() == path.read_bytes():
            own.add(path)
    return own


def find_leaks(folder: Path, root: Path) -> list[str]:
    """Files under ``folder`` holding a reference function body: ``"file: reference"`` lines.

    Python code (files, notebook cells, Markdown code blocks, fenced or
    indented) is compared by normalised syntax tree, statement run by
    statement run, so a body copied into another function, pasted without its
    ``def``, reformatted or renamed is still found; every text file is also
    searched for each body's text with all white space removed (both the
    normalised form and the reference's own text). ``root``: the course
    folder, whose ``solutions/`` hold the references.

    What is compared is what is the course's: the grader package's own
    templates (:func:`package_templates`) are not searched; every other file
    is, the package's other files, the stubs and the READMEs included."""
    leaks = []
    bodies, verbatim = _reference_functions(root)
    squashed = {**{_squash(b): where for b, where in bodies.items()}, **verbatim}
    longest = max((b.count("\n") + 1 for b in bodies), default=0)
    skip = package_templates(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p not in skip):
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        hits = set()
        for source in _python_sources(path, text):
            try:
                tree = ast.parse(textwrap.dedent(source))
            except (SyntaxError, ValueError):
                continue
            hits |= {bodies[run] for run in _statement_runs(tree, longest) if run in bodies}
        flat = _squash(text)
        hits |= {where for body, where in squashed.items() if body and body in flat}
        leaks.extend(f"{path.relative_to(folder)}: {where}" for where in sorted(hits))
    return leaks


# -- the release --------------------------------------------------------------------------


def _prepare_out(out: Path, root: Path, force: bool) -> None:
    out = out.resolve()
    if out == root or root.is_relative_to(out) or out.is_relative_to(root / "exercises") \
            or out.is_relative_to(root / "solutions") or out.is_relative_to(root / "grader"):
        raise ReleaseError(f"--out {out} is inside (or holds) the course repository's own files: "
                           f"choose a folder outside exercises/, solutions/ and grader/")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not force:
            raise ReleaseError(f"{out} exists and is not empty (give --force to replace a previous release)")
        if not (out / MARKER).is_file():
            raise ReleaseError(f"{out} is not a previous release (it has no {MARKER}): not deleting it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _notebook_command_exists(out: Path) -> bool:
    """Whether the released grader package has a ``grader notebook`` command."""
    init = out / "grader" / "commands" / "__init__.py"
    return (out / "grader" / "commands" / "notebook.py").is_file() and init.is_file() \
        and '"notebook"' in init.read_text()


_NOTEBOOKS = """
import sys
from grader.cli import main
root, names = sys.argv[1], sys.argv[2:]
failed = [name for name in names
          if main(["--root", root, "notebook", name, "--out", f"{root}/exercises/{name}/{name}.ipynb"]) != 0]
sys.exit(f"grader notebook failed for {', '.join(failed)}" if failed else 0)
"""


def make_notebooks(out: Path, names: list[str]) -> str:
    """Run the release's own ``grader notebook EX --out exercises/EX/EX.ipynb`` for each exercise
    (in one process, with the release's grader package); return a note on what happened."""
    env = dict(os.environ, PYTHONPATH=str(out) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, "-c", _NOTEBOOKS, str(out), *names], cwd=out, env=env,
                              capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"grader notebook failed ({exc})"
    count = len(list((out / "exercises").glob("*/*.ipynb")))
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return f"grader notebook failed (exit {proc.returncode}: {tail[0]}); {count} notebook(s) written"
    return f"notebooks: {count} written by grader notebook (exercises/EX/EX.ipynb)"


def release(root: Path, out: Path, exercises: list[Exercise] | None = None, force: bool = False,
            notebooks: bool = True, classroom: bool = False) -> ReleaseReport:
    """Write the student repository to ``out``; see the module docstring. ``classroom``: the workflow
    under the names GitHub Classroom records points from (grader.course.classroom)."""
    root = root.resolve()
    exercises = exercises if exercises is not None else all_exercises(root)
    if not exercises:
        raise ReleaseError(f"no exercises under {root / 'exercises'}")
    for ex in exercises:
        check_hidden_layout(ex)
    _prepare_out(out, root, force)
    out = out.resolve()
    report = ReleaseReport(out, [ex.name for ex in exercises])
    try:
        for ex in exercises:
            report.files += copy_exercise(ex, out / "exercises" / ex.name, include_hidden=False)
            if hidden_checks(ex):
                report.hidden_checks[ex.name] = hidden_checks(ex)
        report.files += copy_package(root, out)
        report.files += copy_project_files(root, out)
        report.files += write_public_course(root, out, report.exercises)
        (out / "README.md").write_text(student_readme(exercises))
        (out / ".gitignore").write_text(_STUDENT_GITIGNORE)
        report.files += [out / "README.md", out / ".gitignore"]
        workflow = root / ".github" / "workflows" / "autograde.yml"
        if workflow.is_file():
            target = out / ".github" / "workflows" / "autograde.yml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workflow, target)
            if classroom:
                from grader.course.classroom import classroom_workflow

                try:
                    target.write_text(classroom_workflow(workflow.read_text()))
                except ValueError as exc:
                    raise ReleaseError(str(exc)) from None
            report.files.append(target)
        else:
            report.notes.append("no .github/workflows/autograde.yml in the course repository: none released"
                                + (" (--classroom has nothing to rename)" if classroom else ""))
        (out / MARKER).write_text(json.dumps({"exercises": report.exercises}, indent=2) + "\n")
        if notebooks and _notebook_command_exists(out):
            report.notes.append(make_notebooks(out, report.exercises))
        leaks = find_leaks(out, root)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    if leaks:
        shutil.rmtree(out, ignore_errors=True)
        raise ReleaseError("the release would contain reference code, so it was deleted:\n  "
                           + "\n  ".join(leaks))
    report.files = sorted(p for p in out.rglob("*") if p.is_file())
    return report
