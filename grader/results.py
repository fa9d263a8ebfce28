"""The result of grading: plain dataclasses that every report format reads."""

from __future__ import annotations

import platform
import sys
from dataclasses import asdict, dataclass, field

PASSED, FAILED, ERROR = "passed", "failed", "error"


@dataclass
class CheckResult:
    """One check (one pytest test) of one exercise."""

    name: str
    score: float
    max_score: float
    status: str  # passed | failed | error (error: a fault of the grader, not the student)
    output: str = ""
    description: str = ""
    seconds: float = 0.0
    hidden: bool = False
    kind: str = ""  # why it failed: mismatch, timeout, missing, exception, ...
    file: str = ""  # the student's file and line, when known (for CI annotations)
    line: int | None = None
    function: str = ""  # the student's function the check called last (a failure is about it)
    # The grader's own hints for this failure (never parsed out of text the
    # student's code produced): what reports and batch summaries show as hints.
    hints: list[str] = field(default_factory=list)
    # Small numeric series the check attached (a loss curve: grader.curves), cleaned
    # on the trusted side; the HTML reports draw them.
    curves: list[dict] = field(default_factory=list)


@dataclass
class ExerciseResult:
    exercise: str
    title: str
    score: float
    max_score: float
    seed: int | str  # a public seed, or "secret:<fingerprint>" (grader.seed.Seed.shown)
    devices: list[str]
    tests: list[CheckResult] = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    seconds: float = 0.0  # this exercise's own checks
    run_seconds: float = 0.0  # the whole grading run it was part of (start-up and other exercises included)
    submission: str = ""
    sandbox: list[str] = field(default_factory=list)  # the isolation that was in effect

    @property
    def grader_faults(self) -> list[CheckResult]:
        return [t for t in self.tests if t.status == ERROR]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["score"] = round(self.score, 6)
        for t in data["tests"]:
            t["score"] = round(t["score"], 6)
        return data


def versions() -> dict:
    """Versions that explain a 'passes on my laptop, fails in CI' difference."""
    import numpy

    from grader import __version__, lazytorch
    from grader.oraclecache import torch_version

    return {
        "grader": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        # Not imported for this: a re-check answered from the oracle's cache needs no torch.
        # str(): torch's own TorchVersion would import torch wherever a result is unpickled.
        "torch": str(lazytorch.real().__version__) if lazytorch.loaded() else torch_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "executable": sys.executable,
    }
