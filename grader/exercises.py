"""Finding exercises and reading their metadata (``exercise.yaml``).

An exercise is a folder under ``exercises/`` holding ``exercise.yaml``, the
student's stub, a README and a pytest grader (``test_*.py``). The metadata file
is the single place for points, tolerances, limits and forbidden imports.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.sandbox.limits import DEFAULT_FORBIDDEN, Limits

METADATA = "exercise.yaml"
VISIBILITIES = ("visible", "after_due_date", "hidden")


class ExerciseError(Exception):
    """An exercise cannot be found or its metadata is invalid (a usage error)."""


@dataclass
class Check:
    name: str
    points: float
    description: str = ""
    rtol: float | None = None
    atol: float | None = None
    hidden: bool = False
    # When the student sees this check's result: visible (always), after_due_date (its assignment's due
    # date in course.yaml), hidden (never; only on Gradescope, in a test_*_hidden.py file). hidden: true = hidden.
    visibility: str = "visible"
    function: str | None = None  # the student's function this check tests (for CI annotations)
    # Checks that must pass for this one to score: a point for a property (inputs left
    # unchanged) is for code that also computes the right values.
    requires: list[str] = field(default_factory=list)
    # Why this check is deliberately lenient (``grader validate`` accepts it then):
    # it catches no wrong value on its own, or code computing nothing scores on it.
    lenient: str = ""
    tolerance_reason: str = ""  # why its tolerance is looser than 1e-3, when it is


@dataclass
class Exercise:
    name: str
    title: str
    path: Path
    file: str
    functions: list[str]
    checks: dict[str, Check]
    limits: Limits
    forbidden: tuple[str, ...] = DEFAULT_FORBIDDEN
    rtol: float = 1e-6
    atol: float = 1e-9
    tolerance_reason: str = ""  # why the exercise's tolerance is looser than 1e-3, when it is
    extra: dict = field(default_factory=dict)

    @property
    def number(self) -> int:
        match = re.match(r"ex(\d+)", self.name)
        return int(match.group(1)) if match else 0

    @property
    def short(self) -> str:
        """``sigmoid`` for ``ex01_sigmoid``."""
        return self.name.split("_", 1)[1] if "_" in self.name else self.name

    @property
    def module(self) -> str:
        return Path(self.file).stem

    @property
    def student_file(self) -> Path:
        return self.path / self.file

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks.values())

    def grader_files(self) -> list[Path]:
        return sorted(self.path.glob("test_*.py"))


def load_exercise(path: Path) -> Exercise:
    """Read and validate ``path/exercise.yaml``."""
    meta_path = path / METADATA
    try:
        # libyaml's loader where PyYAML has it: 10x faster (a notebook's re-check reads every exercise.yaml)
        data = yaml.load(meta_path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ExerciseError(f"cannot read {meta_path}: {exc}") from None
    if not isinstance(data, dict):
        raise ExerciseError(f"{meta_path}: expected a mapping at the top level")
    try:
        checks = {}
        for name, spec in (data.get("checks") or {}).items():
            spec = spec or {}
            tol = spec.get("tolerance") or {}
            visibility = str(spec.get("visibility") or ("hidden" if spec.get("hidden") else "visible"))
            if visibility not in VISIBILITIES or (spec.get("hidden") and visibility != "hidden"):
                raise ExerciseError(f"{meta_path}: check {name}: visibility is one of {', '.join(VISIBILITIES)}"
                                    + (f", not {visibility!r}" if visibility not in VISIBILITIES
                                       else " (hidden: true means visibility: hidden)"))
            checks[name] = Check(
                name=name,
                points=float(spec.get("points", 1)),
                description=str(spec.get("description", "")),
                rtol=_opt_float(tol.get("rtol")),
                atol=_opt_float(tol.get("atol")),
                hidden=visibility == "hidden",
                visibility=visibility,
                function=str(spec["function"]) if spec.get("function") else None,
                requires=[str(r) for r in (spec.get("requires") or [])],
                lenient=str(spec.get("lenient") or ""),
                tolerance_reason=str(tol.get("reason") or ""),
            )
        for check in checks.values():
            unknown = [r for r in check.requires if r not in checks]
            if unknown:
                raise ExerciseError(f"{meta_path}: check {check.name} requires {', '.join(unknown)}, "
                                    f"which {'is not a check' if len(unknown) == 1 else 'are not checks'} "
                                    f"of this exercise")
        tol = data.get("tolerance") or {}
        return Exercise(
            name=str(data.get("name", path.name)),
            title=str(data.get("title", path.name)),
            path=path.resolve(),
            file=str(data["file"]),
            functions=[str(f) for f in data.get("functions", [])],
            checks=checks,
            limits=Limits.from_dict(data.get("limits")),
            forbidden=tuple(data.get("forbidden_imports", DEFAULT_FORBIDDEN)),
            rtol=float(tol.get("rtol", 1e-6)),
            atol=float(tol.get("atol", 1e-9)),
            tolerance_reason=str(tol.get("reason") or ""),
            extra={k: v for k, v in data.items() if k not in {
                "name", "title", "file", "functions", "checks", "limits",
                "forbidden_imports", "tolerance"}},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ExerciseError(f"{meta_path}: invalid metadata ({exc})") from None


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


def find_root(start: Path | None = None) -> Path:
    """The course root: the first folder, from ``start`` upwards, with an
    ``exercises/`` folder of exercises; else the checkout the package lives in."""
    env = os.environ.get("GRADER_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / "exercises").glob(f"*/{METADATA}")):
            return folder
    package_root = Path(__file__).resolve().parents[1]
    if any((package_root / "exercises").glob(f"*/{METADATA}")):
        return package_root
    raise ExerciseError(
        "no exercises found: run grader inside the course folder (the one holding "
        "exercises/), or pass --root"
    )


def all_exercises(root: Path) -> list[Exercise]:
    folders = sorted(p.parent for p in (root / "exercises").glob(f"*/{METADATA}"))
    return [load_exercise(f) for f in folders]


def resolve(name: str, root: Path) -> Exercise:
    """Find an exercise by ``ex01``, ``1``, ``ex01_sigmoid`` or ``sigmoid``."""
    key = name.strip().lower()
    exercises = all_exercises(root)
    for ex in exercises:
        number = ex.number
        if key in {ex.name.lower(), ex.short.lower(), f"ex{number:02d}", f"ex{number}", str(number),
                   f"{number:02d}", ex.module.lower()}:
            return ex
    known = ", ".join(ex.name for ex in exercises) or "none"
    raise ExerciseError(f"no exercise called {name!r} (known: {known})")
