"""`grader bundle --gradescope OUT.zip`: the autograder zip for a Gradescope assignment.

The zip (extracted by Gradescope into ``/autograder/source``) holds:

- ``setup.sh``: installs the grader with its dependencies (NumPy, CPU torch
  at the version of constraints.txt) into ``/autograder/venv``;
- ``run_autograder``: runs ``python -m grader.autograder`` (see
  :mod:`grader.autograder`), which grades ``/autograder/submission`` and writes
  ``/autograder/results/results.json``;
- ``grader/`` (the package), ``pyproject.toml``, ``constraints.txt``, a README;
- ``exercises/EX/``: exercise.yaml (hidden checks included), every grader
  (``test_*.py`` and ``test_*_hidden.py``), the stub and the files the graders
  need; no mutants, no READMEs;
- ``bundle.json``: the exercises, the grading seed and ``only_submitted``.

Never the reference solutions (students' code runs on that machine): every
file is compared with them before the zip is written, as for a release.
"""

from __future__ import annotations

import json
import secrets
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.autograder import CONFIG
from grader.exercises import Exercise, ExerciseError, all_exercises
from grader.release import (TEMPLATES, copy_exercise, copy_package, copy_project_files, find_leaks,
                            write_public_course)
from grader.seed import Seed

EXECUTABLES = {"setup.sh", "run_autograder"}


class BundleError(ExerciseError):
    """The bundle cannot be written."""


@dataclass
class BundleReport:
    out: Path
    exercises: list[str]
    seed: int | str
    max_score: float
    hidden_points: float
    files: list[str] = field(default_factory=list)
    reference_check: str = ""


def stage(root: Path, folder: Path, exercises: list[Exercise], seed: int | str, only_submitted: bool) -> None:
    """Lay the bundle's files out in ``folder``."""
    for ex in exercises:
        copy_exercise(ex, folder / "exercises" / ex.name, include_hidden=True, include_readme=False)
    # A capstone's earlier exercises (``uses``): where its companions come from, not graded.
    from grader.submission import used_exercises

    named = {ex.name for ex in exercises}
    for dep in {d.name: d for ex in exercises for d in used_exercises(ex) if d.name not in named}.values():
        copy_exercise(dep, folder / "exercises" / dep.name, include_hidden=False, include_readme=False)
    copy_package(root, folder)
    copy_project_files(root, folder)
    for name in ("setup.sh", "run_autograder", "README.md"):
        shutil.copy2(TEMPLATES / "gradescope" / name, folder / name)
    write_public_course(root, folder, [ex.name for ex in exercises])
    (folder / CONFIG).write_text(json.dumps({
        "exercises": [ex.name for ex in exercises],
        "seed": seed,
        "only_submitted": only_submitted,
    }, indent=2) + "\n")


def write_zip(folder: Path, out: Path) -> list[str]:
    """Zip ``folder``'s files (sorted, fixed timestamps; the scripts executable)."""
    names = []
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            mode = 0o755 if name in EXECUTABLES else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
            names.append(name)
    tmp.replace(out)
    return names


def check_references(root: Path, exercises: list[Exercise], seed: int | str) -> str:
    """Grade every reference with the bundle's seed, hidden checks included; raise unless full marks."""
    from grader.grading import GraderFault, grade
    from grader.validate import reference_path

    missing = [ex.name for ex in exercises if not reference_path(ex, root).is_file()]
    if missing:
        raise BundleError(f"no reference solution for {', '.join(missing)} (solutions/EX/<file>): cannot check "
                          f"the bundle (give --no-check to skip)")
    try:
        # The inputs Gradescope will use: the bundle's seed is a secret one there.
        results = grade(exercises, {ex.name: reference_path(ex, root) for ex in exercises},
                        seed=Seed.from_secret(seed))
    except GraderFault as exc:
        raise BundleError(f"grading the references failed: {exc}") from None
    bad = [f"{r.exercise} {r.score:g} / {r.max_score:g}" for r in results
           if r.grader_faults or r.score < r.max_score - 1e-9]
    if bad or len(results) != len(exercises):
        raise BundleError(f"with seed {seed}, the reference does not score full marks: {', '.join(bad) or '?'} "
                          f"(grader validate shows why)")
    return f"references score full marks with seed {seed} ({sum(r.max_score for r in results):g} points)"


def bundle(root: Path, out: Path, exercises: list[Exercise] | None = None, seed: int | str | None = None,
           only_submitted: bool = False, check: bool = True) -> BundleReport:
    root = root.resolve()
    exercises = exercises if exercises is not None else all_exercises(root)
    if not exercises:
        raise BundleError(f"no exercises under {root / 'exercises'}")
    if out.suffix != ".zip":
        raise BundleError(f"the bundle is a zip file: {out} should end in .zip")
    if not out.parent.is_dir():
        raise BundleError(f"no such folder: {out.parent}")
    # Secret on Gradescope (grader.seed): 128 random bits unless the instructor chose one.
    seed = seed if seed is not None else secrets.token_hex(16)
    report = BundleReport(out.resolve(), [ex.name for ex in exercises], seed,
                          max_score=sum(ex.max_score for ex in exercises),
                          hidden_points=sum(c.points for ex in exercises for c in ex.checks.values() if c.hidden))
    if check:
        report.reference_check = check_references(root, exercises, seed)
    with tempfile.TemporaryDirectory(prefix="grader-bundle-") as tmp:
        folder = Path(tmp) / "source"
        stage(root, folder, exercises, seed, only_submitted)
        leaks = find_leaks(folder, root)
        if leaks:
            raise BundleError("the bundle would contain reference code; not written:\n  " + "\n  ".join(leaks))
        report.files = write_zip(folder, out)
    return report
