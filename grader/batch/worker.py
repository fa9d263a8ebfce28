"""Grading one student in the process that calls it: a job of the local pool, or a Dask worker.

:func:`grade_task` reuses the process's torch, pytest and oracle; each
exercise runs in its own fresh sandbox. The graders arrive as data
(:func:`grader.batch.reuse.course_bundle`), so a worker on another machine
needs no shared folder.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import traceback
from pathlib import Path

from grader import __version__
from grader.exercises import load_exercise


_LOCK = threading.Lock()  # grade() runs pytest in-process: one at a time per process
_COURSES: dict[str, Path] = {}


def _materialize(bundle: dict) -> Path:
    root = _COURSES.get(bundle["fingerprint"])
    if root is not None and root.is_dir():
        return root
    root = Path(tempfile.mkdtemp(prefix=f"grader-course-{bundle['fingerprint'][:12]}-"))
    for name, entry in bundle["exercises"].items():
        folder = root / "exercises" / entry["folder"]
        folder.mkdir(parents=True)
        for fname, data in entry["files"].items():
            (folder / fname).write_bytes(data)
    if not _COURSES:
        import atexit

        atexit.register(cleanup_courses)
    _COURSES[bundle["fingerprint"]] = root
    return root


def cleanup_courses() -> None:
    """Remove the graders this process unpacked."""
    import shutil

    for root in _COURSES.values():
        shutil.rmtree(root, ignore_errors=True)
    _COURSES.clear()


def warm_up() -> None:
    """Pay the imports once per process: torch, pytest, the plugin and the oracle."""
    import pytest  # noqa: F401
    import torch  # noqa: F401

    import grader.grading  # noqa: F401
    import grader.oracle  # noqa: F401
    import grader.plugin  # noqa: F401

    _freeze()


_tasks_done = 0


def _freeze() -> None:
    """Move the objects alive now out of the garbage collector's sight.

    pytest runs ``gc.collect()`` several times at the end of every session;
    with torch loaded that walks hundreds of thousands of long-lived objects,
    about 40% of a small exercise's grading time. Frozen, they are skipped
    (they are freed as usual by reference counting).
    """
    import gc

    gc.collect()
    gc.freeze()


def grade_task(task: dict, bundle: dict) -> dict:
    """Grade one student's files for the task's exercises; return plain data.

    ``task``: ``student``, ``exercises`` (names), ``files`` (exercise -> [file
    name, bytes]) and ``seed``. Returns ``student``, ``results`` (exercise ->
    the ExerciseResult as a dict), ``errors`` (exercise -> message),
    ``seconds`` and ``grader`` (the version that graded).
    """
    import shutil

    start = time.perf_counter()
    out = {"student": task["student"], "results": {}, "errors": {}, "grader": __version__,
           "host": os.uname().nodename, "pid": os.getpid()}
    with _LOCK:
        tmp = Path(tempfile.mkdtemp(prefix="grader-batch-"))
        try:
            from grader.grading import GraderFault, grade

            root = _materialize(bundle)
            exercises, submissions = [], {}
            for name in task["exercises"]:
                entry = bundle["exercises"][name]
                ex = load_exercise(root / "exercises" / entry["folder"])
                fname, data = task["files"][name]
                folder = tmp / name
                folder.mkdir()
                (folder / fname).write_bytes(data)
                exercises.append(ex)
                submissions[ex.name] = folder / fname
            for name, (fname, data) in task["files"].items():
                if name not in task["exercises"]:  # a capstone's companion: beside, not graded
                    folder = tmp / Path(name).name
                    folder.mkdir()
                    (folder / Path(fname).name).write_bytes(data)
            try:
                results = grade(exercises, submissions, seed=task["seed"])
            except GraderFault as exc:
                out["errors"] = {name: f"the grader failed: {exc}" for name in task["exercises"]}
                results = []
            for r in results:
                r.submission = task["files"][r.exercise][0]
                d = r.to_dict()
                d["versions"].pop("executable", None)
                out["results"][r.exercise] = d
            for name in task["exercises"]:
                if name not in out["results"] and name not in out["errors"]:
                    out["errors"][name] = "the grader returned no result for this exercise"
        except Exception as exc:  # a fault of the grader: report it, keep the job alive
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            out["errors"] = {name: f"internal error in the grader: {last}" for name in task["exercises"]}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    global _tasks_done
    _tasks_done += 1
    if _tasks_done == 1:
        _freeze()  # the first grading imported the graders' own modules and the oracle's state
    out["seconds"] = round(time.perf_counter() - start, 3)
    return out


def _job_main(conn, bundle: dict) -> None:
    """A job process: warm up once, then grade tasks from ``conn`` until told to stop."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it stops jobs with SIGTERM

    stopping = []

    def _stop(signum, frame):
        # Like Ctrl-C: pytest ends the session and the grading session closes
        # (kills) its sandboxes; then this job leaves its loop.
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        warm_up()
        _materialize(bundle)
        conn.send(("ready", os.getpid()))
        while True:
            try:
                task = conn.recv()
            except EOFError:
                break
            if task is None or stopping:
                break
            conn.send(("start", task["student"]))
            result = grade_task(task, bundle)
            if stopping:
                break
            conn.send(("done", result))
    except (SystemExit, KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        cleanup_courses()
        sys.stdout.flush()


def error_result(task: dict, message: str) -> dict:
    return {"student": task["student"], "results": {}, "grader": __version__,
            "errors": {name: message for name in task["exercises"]}, "seconds": 0.0}
