"""What a worker process runs with: its files, its interpreter, its environment.

Shared by the two ways a worker starts (``client.Sandbox`` starting one, and
the fork server of ``forkserver.py``), so both give the student the same
process: the same files on ``sys.path``, the same variables, the same paths
readable under Landlock.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# The worker's own code: standard library and NumPy only, no grader package.
FILES = ("worker.py", "wire.py", "confine.py")


def python() -> str:
    """The real interpreter: a virtual environment's site-packages is not wanted."""
    base = getattr(sys, "_base_executable", None)
    return base if base and os.path.exists(base) else sys.executable


def _numpy_dir() -> Path:
    return Path(importlib.util.find_spec("numpy").submodule_search_locations[0])


def prepare(root: Path) -> tuple[Path, Path]:
    """Create ``root/runtime`` (the worker's code) and ``root/site`` (NumPy, and
    nothing else from site-packages: no torch, no grader, no solutions)."""
    runtime, site = root / "runtime", root / "site"
    runtime.mkdir()
    for name in FILES:
        shutil.copy(_HERE / name, runtime / name)
    site.mkdir()
    numpy_dir = _numpy_dir()
    for sibling in (numpy_dir, numpy_dir.parent / "numpy.libs"):
        if sibling.exists():
            os.symlink(sibling, site / sibling.name)
    return runtime, site


def readable_paths() -> list[str]:
    """What a worker may read besides its runtime and work folders: the
    interpreter, the standard library, NumPy and the system's libraries."""
    numpy_dir = _numpy_dir().resolve()
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix),
             str(numpy_dir), str(numpy_dir.parent / "numpy.libs"),
             os.path.dirname(os.path.realpath(python()))}
    paths |= {"/usr", "/lib", "/lib64", "/lib32", "/etc", "/dev/null", "/dev/zero", "/dev/urandom"}
    return sorted(paths)


def environment(home: Path) -> dict[str, str]:
    """The whole environment of a worker whose scratch folder is ``home``."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8:backslashreplace",
        # One BLAS thread: predictable memory under RLIMIT_AS and timings
        # comparable with the single-threaded baseline.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
