"""Grading a whole class: `grader batch`.

Pieces, each usable on its own:

- :func:`discover` finds the students in a folder (or a ``.zip`` of one):
  one folder, ``.py`` file or notebook per student; a Gradescope export
  (``submission_metadata.yml`` beside ``submission_<id>/`` folders, names and
  emails from the metadata); a GitHub Classroom clone
  (``<assignment>-submissions/<assignment>-<login>/``, as ``gh classroom clone
  student-repos`` writes it). The student's files are read here, in the
  trusted process: regular files only (never through a symlink), 2 MB at most.
- :func:`grade_task` grades one student's files in the process that calls it,
  reusing the process's torch, pytest and oracle: a job process of the local
  pool, or a Dask worker. Each exercise runs in its own fresh sandbox.
- :class:`LocalPool` keeps ``--jobs`` long-lived job processes busy; a job
  that runs past a task's deadline (the exercises' own time limits plus a
  margin) or dies is replaced, and that student gets an error, so one
  pathological submission never stalls the run.
- :func:`run_dask` does the same on a Dask distributed cluster.
- :func:`run_batch` ties them together: it skips what an earlier run already
  graded (same file contents, same graders, same grader version, same seed),
  writes one JSON report per student as each finishes (so an interrupted run
  resumes), then the CSV gradebook and the instructor's summary.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import threading
import time
import traceback
import zipfile
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import yaml

from grader import __version__
from grader.exercises import Exercise, load_exercise
from grader.progress import Progress
from grader.text import sanitize

MAX_FILE_BYTES = 2 * 1024 * 1024
_SKIP_DIRS = {".git", "__MACOSX", "__pycache__", ".ipynb_checkpoints", "node_modules", ".venv", "venv",
              ".pytest_cache", ".github"}
_SEARCH_DEPTH = 5
REPORTS = "reports"


class BatchError(Exception):
    """The batch cannot run (a usage error)."""


# -- finding the students ------------------------------------------------------------------


@dataclass
class Submission:
    student: str  # display name (sanitised)
    slug: str  # unique, safe as a file name
    source: str  # where it came from, relative to the submissions folder
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # exercise -> (file name, content)
    missing: dict[str, str] = field(default_factory=dict)  # exercise -> why nothing was found
    info: dict = field(default_factory=dict)  # email, sid, ... (Gradescope)


def _clean_name(text: str) -> str:
    return " ".join(sanitize(str(text), 200).split()) or "unnamed"


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80]
    return slug or "student"


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes when it is a regular file (not a link) of at most 2 MB; else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]


def _walk_files(folder: Path, depth: int = _SEARCH_DEPTH) -> list[Path]:
    """Regular files under ``folder`` (not following links), shallowest first."""
    found, queue = [], deque([(folder, 0)])
    while queue:
        current, level = queue.popleft()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if level < depth and entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                    queue.append((Path(entry.path), level + 1))
            elif entry.is_file(follow_symlinks=False):
                found.append(Path(entry.path))
    return found


def _defined_functions(data: bytes) -> set[str]:
    from grader.submission import defined_functions

    try:
        return defined_functions(data.decode("utf-8", "replace"))
    except Exception:  # RecursionError, MemoryError on hostile sources
        return set()


def _files_for(entry: Path, exercises: list[Exercise]) -> tuple[dict, dict]:
    """The student's file for each exercise, from a folder or a single file."""
    files, missing = {}, {}
    if entry.is_file():
        data = _read_regular(entry)
        if data is None:
            return {}, {ex.name: f"{entry.name} is not a regular file of at most 2 MB" for ex in exercises}
        if len(exercises) == 1 or entry.suffix == ".ipynb":
            return {ex.name: (entry.name, data) for ex in exercises}, {}
        defined = _defined_functions(data)
        for ex in exercises:
            if entry.name == ex.file or defined & set(ex.functions):
                files[ex.name] = (entry.name, data)
            else:
                missing[ex.name] = f"{entry.name} defines none of {', '.join(ex.functions)}"
        return files, missing
    candidates = _walk_files(entry)
    by_name: dict[str, list[Path]] = {}
    for path in candidates:
        by_name.setdefault(path.name, []).append(path)
    for ex in exercises:
        chosen = None
        for name in (ex.file, f"{ex.name}.ipynb", f"{ex.module}.ipynb"):
            paths = by_name.get(name, [])
            # Prefer exercises/<ex>/<file> (a student repository), then the shallowest.
            paths = sorted(paths, key=lambda p: (ex.name not in p.parts, len(p.parts)))
            if paths:
                chosen = paths[0]
                break
        if chosen is None and len(exercises) == 1:
            sources = [p for p in candidates if p.suffix in (".py", ".ipynb")]
            if len(sources) == 1:
                chosen = sources[0]
        if chosen is None:
            missing[ex.name] = f"no {ex.file} (nor {ex.name}.ipynb) in the submission"
            continue
        data = _read_regular(chosen)
        if data is None:
            missing[ex.name] = f"{chosen.name} is larger than {MAX_FILE_BYTES // 1024} KB"
        else:
            files[ex.name] = (chosen.name, data)
    return files, missing


class _LenientLoader(yaml.SafeLoader):
    """Safe YAML that reads unknown tags (Ruby objects in Gradescope exports) as plain data."""


def _construct_unknown(loader, tag_suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_LenientLoader.add_multi_constructor("!", _construct_unknown)
_LenientLoader.add_multi_constructor("tag:", _construct_unknown)


def _gradescope_root(folder: Path) -> Path | None:
    if (folder / "submission_metadata.yml").is_file():
        return folder
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    if len(subdirs) == 1 and (subdirs[0] / "submission_metadata.yml").is_file():
        return subdirs[0]
    return None


def _gradescope_people(meta: dict, key: str) -> tuple[str | None, dict]:
    record = meta.get(key) or {}
    submitters = record.get(":submitters") or record.get("submitters") or []
    names, info = [], {}
    for person in submitters if isinstance(submitters, list) else []:
        if not isinstance(person, dict):
            continue
        get = lambda k: person.get(f":{k}", person.get(k))  # noqa: E731
        names.append(str(get("name") or get("email") or get("sid") or ""))
        for k in ("email", "sid"):
            if get(k):
                info.setdefault(k, []).append(str(get(k)))
    info = {k: "; ".join(v) for k, v in info.items()}
    return (" & ".join(n for n in names if n) or None), info


def discover(folder: Path, exercises: list[Exercise], layout: str = "auto") -> tuple[list[Submission], str]:
    """The students in ``folder`` and the layout found (plain, gradescope or classroom)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder}: not a folder")
    meta = None
    gs_root = _gradescope_root(folder) if layout in ("auto", "gradescope") else None
    if gs_root is not None:
        layout, folder = "gradescope", gs_root
        try:
            meta = yaml.load((folder / "submission_metadata.yml").read_text(errors="replace"),
                             Loader=_LenientLoader) or {}
        except yaml.YAMLError as exc:
            raise BatchError(f"{folder / 'submission_metadata.yml'}: unreadable ({exc})") from None
        if not isinstance(meta, dict):
            meta = {}
    elif layout == "gradescope":
        raise BatchError(f"{folder}: no submission_metadata.yml (not a Gradescope export)")
    prefix = ""
    if layout in ("auto", "classroom") and not folder.name.endswith("-submissions"):
        # `gh classroom clone` writes <assignment>-submissions/ into the folder it runs in:
        # given that folder, grade the clone (and not it as one student).
        inside = [e for e in folder.iterdir() if not e.name.startswith(".")]
        if len(inside) == 1 and inside[0].is_dir() and not inside[0].is_symlink() \
                and inside[0].name.endswith("-submissions"):
            folder, layout = inside[0], "classroom"
    if layout == "auto":
        layout = "classroom" if folder.name.endswith("-submissions") else "plain"
    if layout == "classroom" and folder.name.endswith("-submissions"):
        prefix = folder.name[: -len("-submissions")] + "-"

    entries = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name in _SKIP_DIRS:
            continue
        if entry.is_symlink() or entry.is_dir() or (entry.is_file() and entry.suffix in (".py", ".ipynb")):
            entries.append(entry)  # a link is listed, and not graded (it is never followed)
    if layout == "classroom" and not prefix and len(entries) > 1:
        common = os.path.commonprefix([e.name for e in entries])
        prefix = common[: common.rfind("-") + 1] if "-" in common else ""

    submissions, seen = [], set()
    for entry in entries:
        info: dict = {}
        student = entry.stem if entry.is_file() and not entry.is_symlink() else entry.name
        if layout == "gradescope":
            if not entry.is_dir():
                continue
            named, info = _gradescope_people(meta or {}, entry.name)
            student = named or entry.name
        elif prefix and student.startswith(prefix) and len(student) > len(prefix):
            student = student[len(prefix):]
        student = _clean_name(student)
        slug, n = _slug(student), 1
        while slug.lower() in seen:
            n += 1
            slug = f"{_slug(student)}-{n}"
        seen.add(slug.lower())
        if entry.is_symlink():
            files, missing = {}, {ex.name: f"{entry.name} is a symbolic link, not the student's own file or "
                                           f"folder: not graded" for ex in exercises}
        else:
            files, missing = _files_for(entry, exercises)
        submissions.append(Submission(student, slug, entry.name, files, missing, info))
    return submissions, layout


def extract_zip(archive: Path, target: Path, max_bytes: int = 2 * 1024 ** 3) -> Path:
    """Unpack ``archive`` into ``target`` safely: no absolute paths, no ``..``, no links, bounded size."""
    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if not parts or name.startswith("/") or ".." in parts or info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                continue
            total += info.file_size
            if total > max_bytes:
                raise BatchError(f"{archive}: more than {max_bytes // 1024 ** 2} MB uncompressed")
            dest = target.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(dest, "wb") as out:
                out.write(src.read(MAX_FILE_BYTES + 1) if info.file_size > MAX_FILE_BYTES else src.read())
    return target


# -- what makes a result reusable --------------------------------------------------------------


def course_bundle(exercises: list[Exercise]) -> dict:
    """The graders a job needs, as data (so a job on another machine needs no shared folder)."""
    bundle = {}
    for ex in exercises:
        files = {}
        for path in sorted(ex.path.iterdir()):
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb" and path.name != "README.md":
                files[path.name] = path.read_bytes()
        bundle[ex.name] = {"folder": ex.path.name, "files": files}
    return {"fingerprint": _digest(bundle), "exercises": bundle}


def _digest(bundle: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(bundle):
        h.update(f"\0{name}\0{bundle[name]['folder']}\0".encode())
        for fname, data in sorted(bundle[name]["files"].items()):
            h.update(f"{fname}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def exercise_fingerprint(ex: Exercise, bundle: dict) -> str:
    entry = bundle["exercises"][ex.name]
    h = hashlib.sha256(ex.name.encode())
    for fname, data in sorted(entry["files"].items()):
        if fname != ex.file:  # the stub is not part of the grading
            h.update(f"\0{fname}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()


def result_key(file: tuple[str, bytes] | None, fingerprint: str, seed: int) -> str:
    h = hashlib.sha256(f"grader {__version__}\0seed {seed}\0{fingerprint}\0".encode())
    if file is None:
        h.update(b"missing")
    else:
        h.update(f"{file[0]}\0".encode())
        h.update(file[1])
    return h.hexdigest()[:40]


# -- grading in a job process (or a Dask worker) ---------------------------------------------------

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


# -- the local pool ------------------------------------------------------------------------------


class _Job:
    def __init__(self, ctx, bundle):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_job_main, args=(child, bundle), daemon=True,
                                   name="grader-batch-job")
        self.process.start()
        child.close()
        self.ready = False
        self.task: dict | None = None
        self.deadline = time.monotonic() + 600  # start-up (imports torch); set by the pool
        self.started = 0.0

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class LocalPool:
    """``jobs`` long-lived job processes, each grading one student at a time.

    A job that dies, or runs past its task's deadline, is stopped (SIGTERM,
    which unwinds the grading and kills its sandboxes; then SIGKILL), the
    student gets an error result, and a fresh job takes its place.
    """

    def __init__(self, jobs: int, bundle: dict, deadline_for: Callable[[dict], float] | None = None,
                 startup_seconds: float = 600.0):
        import multiprocessing

        self.jobs = max(1, int(jobs))
        self.bundle = bundle
        self.deadline_for = deadline_for or (lambda task: 600.0)
        self.startup_seconds = startup_seconds
        # spawn: a fresh interpreter, not a fork of a process that may hold threads.
        self.ctx = multiprocessing.get_context("spawn")
        self.restarts = 0

    def _new_job(self) -> _Job:
        job = _Job(self.ctx, self.bundle)
        job.deadline = time.monotonic() + self.startup_seconds
        return job

    def run(self, tasks: Iterable[dict], on_result: Callable[[dict], None]) -> None:
        from multiprocessing.connection import wait

        pending = deque(tasks)
        if not pending:
            return
        jobs = [self._new_job() for _ in range(min(self.jobs, len(pending)))]
        failed_starts = 0
        try:
            while pending or any(j.task is not None for j in jobs):
                for job in jobs:
                    if job.ready and job.task is None and pending:
                        job.task = pending.popleft()
                        job.started = time.monotonic()
                        job.deadline = job.started + self.deadline_for(job.task)
                        job.conn.send(job.task)
                now = time.monotonic()
                timeout = min(5.0, max(0.05, min(j.deadline for j in jobs) - now))
                wait([j.conn for j in jobs] + [j.process.sentinel for j in jobs], timeout=timeout)
                for i, job in enumerate(jobs):
                    problem = None
                    try:
                        while job.conn.poll():
                            kind, payload = job.conn.recv()
                            if kind == "ready":
                                job.ready, failed_starts = True, 0
                            elif kind == "start":
                                job.started = time.monotonic()
                                job.deadline = job.started + self.deadline_for(job.task)
                            elif kind == "done":
                                job.task = None
                                on_result(payload)
                    except (EOFError, OSError):
                        problem = "the grading process stopped unexpectedly"
                    if problem is None and not job.process.is_alive():
                        problem = f"the grading process died (exit status {job.process.exitcode})"
                    if problem is None and time.monotonic() > job.deadline:
                        problem = (f"grading took more than {job.deadline - job.started:.0f} s and was stopped"
                                   if job.task is not None else "a grading process did not start in time")
                    if problem is None:
                        continue
                    task, was_ready = job.task, job.ready
                    job.stop()
                    self.restarts += 1
                    if task is not None:
                        on_result(_error_result(task, problem))
                    elif not was_ready:
                        failed_starts += 1
                        if failed_starts >= 3:
                            raise BatchError(f"grading processes cannot start: {problem}")
                    jobs[i] = self._new_job()
        finally:
            for job in jobs:
                if job.process.is_alive() and job.ready and job.task is None:
                    try:
                        job.conn.send(None)
                    except OSError:
                        pass
            for job in jobs:
                job.process.join(2 if job.task is None else 0)
                job.stop()


def _error_result(task: dict, message: str) -> dict:
    return {"student": task["student"], "results": {}, "grader": __version__,
            "errors": {name: message for name in task["exercises"]}, "seconds": 0.0}


# -- Dask distributed ----------------------------------------------------------------------------


def run_dask(tasks: list[dict], bundle: dict, address: str, jobs: int,
             on_result: Callable[[dict], None]) -> None:
    """Grade ``tasks`` on a Dask cluster (``address``, or ``local`` for a local cluster of ``jobs`` workers)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise BatchError("--dask needs Dask distributed: pip install 'grader[dask]'") from None
    import logging

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        client.run(warm_up)
        shared = client.scatter(bundle, broadcast=True)
        futures = {client.submit(grade_task, t, shared, pure=False): t for t in tasks}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:
                result = _error_result(futures[future], f"the Dask task failed: {type(exc).__name__}: {exc}")
            on_result(result)
    finally:
        try:
            client.run(cleanup_courses)
        except Exception:
            pass  # workers gone: nothing to clean there
        client.close()
        if cluster is not None:
            cluster.close()


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


# -- the whole run ------------------------------------------------------------------------------


@dataclass
class BatchSummary:
    students: int
    graded: int  # students graded in this run (the others were reused)
    reused: int
    errors: int
    seconds: float
    out: Path
    layout: str


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _load_report(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def run_batch(submissions_path: Path, exercises: list[Exercise], out: Path, jobs: int | None = None,
              seed: int | None = None, layout: str = "auto", dask: str | None = None,
              retry_errors: bool = False, progress: bool = True, timeout: float | None = None,
              log=print) -> BatchSummary:
    from grader.seed import as_seed, seed_from_env

    start = time.monotonic()
    seed = as_seed(seed) if seed is not None else seed_from_env()  # a secret one is never written out
    jobs = jobs or default_jobs()
    out = Path(out)
    (out / REPORTS).mkdir(parents=True, exist_ok=True)
    unpacked = None
    try:
        source = Path(submissions_path)
        if source.is_file() and source.suffix == ".zip":
            unpacked = Path(tempfile.mkdtemp(prefix="grader-batch-zip-"))
            source = extract_zip(source, unpacked)
        subs, layout = discover(source, exercises, layout)
    finally:
        if unpacked is not None:
            import shutil

            shutil.rmtree(unpacked, ignore_errors=True)
    if not subs:
        raise BatchError(f"{submissions_path}: no submissions found (one folder, .py file or notebook per student)")
    bundle = course_bundle(exercises)
    fingerprints = {ex.name: exercise_fingerprint(ex, bundle) for ex in exercises}
    by_name = {ex.name: ex for ex in exercises}

    reports: dict[str, dict] = {}
    tasks: list[dict] = []
    for sub in subs:
        old = _load_report(out / REPORTS / f"{sub.slug}.json") or {}
        old_ex = old.get("exercises") if isinstance(old.get("exercises"), dict) else {}
        entries, todo = {}, []
        for ex in exercises:
            key = result_key(sub.files.get(ex.name), fingerprints[ex.name], seed)
            prev = old_ex.get(ex.name) if isinstance(old_ex.get(ex.name), dict) else None
            if prev and prev.get("key") == key and (prev.get("result") or prev.get("missing")
                                                    or (prev.get("error") and not retry_errors)):
                entries[ex.name] = prev
            elif ex.name in sub.missing or ex.name not in sub.files:
                entries[ex.name] = {"key": key, "file": None, "result": None,
                                    "missing": sub.missing.get(ex.name, "no file for this exercise")}
            else:
                entries[ex.name] = {"key": key, "file": sub.files[ex.name][0], "result": None}
                todo.append(ex.name)
        reports[sub.slug] = {
            "student": sub.student, "slug": sub.slug, "source": sub.source, "info": sub.info, "layout": layout,
            "seed": seed.shown, "grader": __version__, "exercises": entries,
        }
        if todo:
            tasks.append({"student": sub.slug, "exercises": todo, "seed": seed,
                          "files": {n: sub.files[n] for n in todo}})
        else:
            _finish_report(out, reports[sub.slug], by_name)
    graded_now = {t["student"] for t in tasks}
    log(f"{len(subs)} submissions ({layout} layout), {len(exercises)} exercise(s): "
        f"{len(tasks)} to grade, {len(subs) - len(tasks)} unchanged since the last run"
        + (f", on {dask if dask != 'local' else 'a local Dask cluster'}" if dask and tasks else
           f", {min(jobs, max(len(tasks), 1))} job(s)" if tasks else ""))

    bar = Progress(len(tasks), enabled=progress)

    def deadline(task: dict) -> float:
        # The sandbox bounds the student's time by the exercise's limits; the
        # margin covers the grader's own work (the oracle, pytest).
        if timeout:
            return timeout
        return 30 + sum(by_name[n].limits.total_seconds + by_name[n].limits.call_seconds + 30
                        for n in task["exercises"])

    errors = 0

    def on_result(result: dict) -> None:
        nonlocal errors
        report = reports[result["student"]]
        job = f"{result['host']}:{result['pid']}" if result.get("pid") else None
        when = round(time.time(), 3)
        for name, data in (result.get("results") or {}).items():
            report["exercises"][name].update(result=data, error=None, job=job, graded_at=when)
        for name, message in (result.get("errors") or {}).items():
            report["exercises"][name].update(result=None, error=str(message), job=job, graded_at=when)
            errors += 1
        if result.get("grader") not in (None, __version__):
            for entry in report["exercises"].values():
                entry["note"] = f"graded by grader {result.get('grader')}, not {__version__}"
        _finish_report(out, report, by_name)
        bar.advance(note=report["student"])

    try:
        if tasks:
            if dask:
                run_dask(tasks, bundle, dask, jobs, on_result)
            else:
                LocalPool(jobs, bundle, deadline).run(tasks, on_result)
    finally:
        bar.close()
    write_gradebook(out, reports, exercises)
    summary = summarize(reports, exercises)
    _atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    text = format_summary(summary)
    _atomic_write(out / "summary.md", text)
    log(text)
    return BatchSummary(len(subs), len(graded_now), len(subs) - len(graded_now), errors,
                        round(time.monotonic() - start, 3), out, layout)


def _finish_report(out: Path, report: dict, by_name: dict[str, Exercise]) -> None:
    total = best = 0.0
    for name, entry in report["exercises"].items():
        best += by_name[name].max_score if name in by_name else 0.0
        if entry.get("result"):
            total += entry["result"]["score"]
    report["score"], report["max_score"] = round(total, 6), round(best, 6)
    report["percent"] = round(100.0 * total / best, 2) if best else 0.0
    _atomic_write(out / REPORTS / f"{report['slug']}.json", json.dumps(report, indent=2) + "\n")


# -- gradebook and summary -------------------------------------------------------------------------


def write_gradebook(out: Path, reports: dict[str, dict], exercises: list[Exercise]) -> Path:
    """``gradebook.csv``: student, (email, sid), one column per exercise, total, max, percent, notes."""
    infos = sorted({k for r in reports.values() for k in (r.get("info") or {})})
    header = ["student", *infos, *[ex.name for ex in exercises], "total", "max_score", "percent", "notes"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for slug in sorted(reports, key=lambda s: (reports[s]["student"].lower(), s)):
        r = reports[slug]
        row = [_csv_safe(r["student"]), *[_csv_safe((r.get("info") or {}).get(k, "")) for k in infos]]
        notes = []
        for ex in exercises:
            entry = r["exercises"].get(ex.name) or {}
            result = entry.get("result")
            row.append(f"{result['score']:g}" if result else "0")
            if entry.get("missing"):
                notes.append(f"{ex.name}: missing ({entry['missing']})")
            elif entry.get("error"):
                notes.append(f"{ex.name}: not graded ({entry['error']})")
        row += [f"{r.get('score', 0):g}", f"{r.get('max_score', 0):g}", f"{r.get('percent', 0):.1f}",
                _csv_safe("; ".join(notes))]
        writer.writerow(row)
    path = out / "gradebook.csv"
    _atomic_write(path, buf.getvalue())
    return path


def _csv_safe(text: str) -> str:
    """No formula injection when the gradebook is opened in a spreadsheet."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summarize(reports: dict[str, dict], exercises: list[Exercise]) -> dict:
    """Figures for the instructor: score distribution, the checks that fail most, the commonest hints."""
    percents = sorted(r.get("percent", 0.0) for r in reports.values())
    bins = [0] * 10
    for p in percents:
        bins[min(int(p // 10), 9)] += 1
    failed: Counter = Counter()
    hints: Counter = Counter()
    kinds: Counter = Counter()
    graded_per_ex: Counter = Counter()
    per_ex_scores: dict[str, list[float]] = {ex.name: [] for ex in exercises}
    missing: Counter = Counter()
    errors: Counter = Counter()
    for r in reports.values():
        for name, entry in r["exercises"].items():
            result = entry.get("result")
            if entry.get("missing"):
                missing[name] += 1
            if entry.get("error"):
                errors[name] += 1
            if not result:
                continue
            graded_per_ex[name] += 1
            per_ex_scores.setdefault(name, []).append(result["score"])
            seen_hints = set()
            for t in result.get("tests", []):
                if t["status"] == "passed":
                    continue
                failed[(name, t["name"])] += 1
                kinds[t.get("kind") or t["status"]] += 1
                # The grader's own hints (CheckResult.hints), never text read out of the output.
                for h in t.get("hints") or []:
                    h = str(h).removeprefix("Hint:").strip()
                    if (name, h) not in seen_hints:  # once per student and exercise
                        seen_hints.add((name, h))
                        hints[(name, h)] += 1
    median = percents[len(percents) // 2] if percents else 0.0
    return {
        "students": len(reports),
        "mean_percent": round(sum(percents) / len(percents), 2) if percents else 0.0,
        "median_percent": round(median, 2),
        "histogram": [{"from": 10 * i, "to": 10 * i + 10, "students": n} for i, n in enumerate(bins)],
        "exercises": [{
            "exercise": ex.name, "max_score": ex.max_score, "graded": graded_per_ex[ex.name],
            "mean_score": round(sum(per_ex_scores[ex.name]) / len(per_ex_scores[ex.name]), 3)
            if per_ex_scores[ex.name] else None,
            "missing": missing[ex.name], "errors": errors[ex.name]} for ex in exercises],
        "failed_checks": [{"exercise": e, "check": c, "students": n,
                           "percent": round(100.0 * n / max(graded_per_ex[e], 1), 1)}
                          for (e, c), n in failed.most_common(15)],
        "hints": [{"exercise": e, "hint": h, "students": n} for (e, h), n in hints.most_common(10)],
        "failure_kinds": dict(kinds.most_common()),
    }


def format_summary(s: dict) -> str:
    """The summary as markdown (readable as plain text too)."""
    lines = [f"# Batch grading: {s['students']} students", "",
             f"Mean {s['mean_percent']:.1f}%, median {s['median_percent']:.1f}%.", "",
             "## Score distribution (total, percent)", "", "```"]
    top = max((b["students"] for b in s["histogram"]), default=0) or 1
    for b in s["histogram"]:
        label = f"{b['from']}-{b['to']}%".rjust(7)
        lines.append(f"{label} | {'#' * round(40 * b['students'] / top):<40} {b['students']}")
    lines += ["```", "", "## Exercises", "", "| exercise | graded | mean score | missing | not graded |",
              "|---|---|---|---|---|"]
    for e in s["exercises"]:
        mean = f"{e['mean_score']:g} / {e['max_score']:g}" if e["mean_score"] is not None else "-"
        lines.append(f"| {e['exercise']} | {e['graded']} | {mean} | {e['missing']} | {e['errors']} |")
    lines += ["", "## Checks failed most", ""]
    if s["failed_checks"]:
        lines += ["| exercise | check | students | of those graded |", "|---|---|---|---|"]
        lines += [f"| {c['exercise']} | {c['check']} | {c['students']} | {c['percent']:.0f}% |"
                  for c in s["failed_checks"]]
    else:
        lines.append("None: every graded check passed.")
    lines += ["", "## Most frequent hints", ""]
    if s["hints"]:
        lines += ["| exercise | hint | students |", "|---|---|---|"]
        lines += [f"| {h['exercise']} | {_md_cell(h['hint'])} | {h['students']} |" for h in s["hints"]]
    else:
        lines.append("No hint was given.")
    if s["failure_kinds"]:
        lines += ["", "Failures by cause: " + ", ".join(f"{k} {n}" for k, n in s["failure_kinds"].items()) + "."]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return sanitize(text, 300).replace("|", "\\|").replace("\n", " ")
