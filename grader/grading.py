"""Grading as a function: run an exercise's pytest grader and return the results.

This is what ``grader check`` calls, and what other tools (batch grading, the
notebook helper, the framework's tests) use.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.exercises import Exercise
from grader.plugin import GradingSession, seed_from_env
from grader.results import ExerciseResult

_INI = Path(__file__).with_name("pytest-grading.ini")
_UNUSED_PLUGINS = ("logging", "junitxml", "pastebin", "doctest", "stepwise", "setuponly", "setupplan", "debugging")


class GraderFault(RuntimeError):
    """Grading could not run (exit status 2)."""


def session_seed(seed=None):
    """The seed a grading session uses: ``seed``, else ``$GRADER_SEED``, else the default."""
    from grader.seed import as_seed

    return as_seed(seed if seed is not None else seed_from_env())


def _forget_graders(exercises: list[Exercise]) -> None:
    """Drop the graders an earlier session of this process imported (a
    notebook's kernel, a test process, a Dask worker that graded another
    version of the course): pytest's importlib mode reuses a module of the
    same name wherever it came from, so another course's ``ex01_sigmoid``
    would grade this one; and a grader of this folder would neither reflect
    an edit since nor be bound to this session's stand-ins for torch
    (lazytorch.py)."""
    import sys

    for ex in exercises:
        for name in [n for n in sys.modules if n == ex.name or n.startswith(ex.name + ".")]:
            del sys.modules[name]


def grade(
    exercises: list[Exercise],
    submissions: dict[str, Path] | None = None,
    seed: int | None = None,
    quiet: bool = True,
    use_cache: bool = False,
    verify_cache: bool = False,
) -> list[ExerciseResult]:
    """Grade each exercise (its stub, or the file given in ``submissions``).

    ``use_cache``: replay the oracle's results from the local cache
    (``oraclecache.py``), importing torch only for what is missing. Only for
    a student's own checks: CI, batch and the Gradescope autograder compute
    everything fresh (the default). ``verify_cache`` (for the framework's
    tests): every replayed value is also computed, and a difference is a
    grader fault.
    """
    import gc
    import time

    import pytest

    started = time.perf_counter()
    session = GradingSession(seed=session_seed(seed), submissions=submissions)
    if use_cache:
        from grader.scorecache import oracle_store

        session.oracle_store = oracle_store()
        session.verify_cache = verify_cache
    # What is imported by now lives as long as the process: keep it out of
    # every collection (pytest's own at the end of a session included).
    gc.freeze()
    # Start the student's process (or the fork server) now, so that it imports
    # NumPy while this process imports torch.
    for ex in exercises:
        try:
            session.sandbox(ex).warm_up()
        except Exception:
            pass  # reported by the first check that needs it
    _forget_graders(exercises)
    args = [str(f) for ex in exercises for f in ex.grader_files()]
    if not args:
        raise GraderFault("no grader (test_*.py) found for " + ", ".join(e.name for e in exercises))
    args += [
        "-c", str(_INI), "--rootdir", str(exercises[0].path.parent),
        "-p", "grader.plugin", "-p", "no:cacheprovider", "--noconftest",
        # Built-in plugins a grading session never uses: each costs set-up per session.
        *[arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")],
        "--import-mode=importlib",
    ]
    args += ["-p", "no:terminal"] if quiet else ["-q"]
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    # Third-party plugins installed beside the grader have no say in grading.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        code = pytest.main(args, plugins=[session])
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
        session.close()
        if session.oracle_store is not None:
            session.oracle_store.flush()
            for ex in exercises:
                if ex.name in session.results:
                    session.oracle_store.mark_seen(ex, session.seed)
            if session.oracle_store.written:
                session.oracle_store.trim()
    if int(code) in (2, 3, 4) or not session.results:
        raise GraderFault(f"the exercise graders could not be run (pytest exit status {int(code)})"
                          + ("; " + "; ".join(session.usage_errors) if session.usage_errors else ""))
    results = [session.results[ex.name] for ex in exercises if ex.name in session.results]
    wall = round(time.perf_counter() - started, 3)
    for r in results:
        r.run_seconds = wall  # the whole call: start-up, every exercise, clean-up
    return results
