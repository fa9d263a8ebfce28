"""Shared helpers for the framework's own tests."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    # `grader check` keeps a score cache for `grader list`; keep the tests' out of ~/.cache.
    os.environ["GRADER_CACHE_DIR"] = str(tmp_path_factory.mktemp("grader-cache"))
    os.environ.pop("GRADER_SEED", None)


def run_cli(*args, cwd=ROOT, env=None, timeout=600):
    """Run the `grader` command line in a fresh process; return CompletedProcess."""
    import subprocess

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
