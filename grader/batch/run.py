"""The whole run: discover, skip what an earlier run graded, grade the rest, write the outputs.

A result is reused when the file contents, graders, grader version and seed
are the same; one JSON report per student is written as each finishes (so an
interrupted run resumes), then the CSV gradebook and the instructor's summary.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.batch.common import REPORTS, BatchError, atomic_write, load_report, not_reached
from grader.batch.dask_cluster import run_dask
from grader.batch.discovery import discover, extract_zip
from grader.batch.gradebook import write_gradebook
from grader.batch.local import LocalPool, default_jobs
from grader.batch.reuse import course_bundle, exercise_fingerprint, result_key
from grader.batch.summary import format_summary, summarize
from grader.exercises import Exercise
from grader.submission import used_exercises
from grader.progress import Progress
from grader.text import counted


@dataclass
class BatchSummary:
    students: int
    graded: int  # students graded in this run
    reused: int  # students whose results an earlier run left (same files, graders, version, seed)
    errors: int
    seconds: float
    out: Path
    layout: str
    without_files: int = 0  # students with no file to grade for any exercise (not from an earlier run)


def _companion_files(source: Path, exercises: list[Exercise], subs, layout: str,
                     chosen: bool = False) -> dict[str, dict]:
    """For the capstones (``uses:`` in exercise.yaml): each student's files of the earlier
    exercises they import, by the submission's ``source`` (exercise name -> (name, bytes)).
    Graded or not in this batch, they travel with the task and are written beside the
    graded file (grader.submission finds them there)."""
    deps = {dep.name: dep for ex in exercises for dep in used_exercises(ex)}
    if not deps:
        return {}
    found = {s.source: dict(s.files) for s in subs}
    missing = [dep for name, dep in deps.items() if name not in {ex.name for ex in exercises}]
    if missing and not chosen:  # (chosen: a clone's commit at the cutoff already gave them)
        for sub in discover(source, missing, layout)[0]:
            found.setdefault(sub.source, {}).update(sub.files)
    return {src: {n: f for n, f in files.items() if n in deps} for src, files in found.items()}


def run_batch(submissions_path: Path, exercises: list[Exercise], out: Path, jobs: int | None = None,
              seed: int | None = None, layout: str = "auto", dask: str | None = None,
              retry_errors: bool = False, progress: bool = True, timeout: float | None = None,
              log=print, report_after_interrupt: bool = True, course=None,
              times_csv: Path | None = None, pushes: Path | None = None) -> BatchSummary:
    from grader.seed import as_seed, seed_from_env

    start = time.monotonic()
    # A secret one is never written out; reuse is keyed on it, not on a run of it.
    seed = (as_seed(seed) if seed is not None else seed_from_env()).without_run
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
        known = _commits_at_cutoff(course, subs, exercises, layout, pushes, log) if pushes is not None else None
        times = _times(source, subs, layout, times_csv, known) if course is not None or times_csv else {}
        companions = _companion_files(source, exercises, subs, layout, chosen=known is not None)
    finally:
        if unpacked is not None:
            import shutil

            shutil.rmtree(unpacked, ignore_errors=True)
    if not subs:
        raise BatchError(f"{submissions_path}: no submissions found (one folder, .py file or notebook per student)")
    if course is not None:
        from grader.course.batch import apply_to_report

        def finish(out: Path, report: dict, by_name: dict) -> None:
            apply_to_report(course, report)
            _finish_report(out, report, by_name)
    else:
        finish = _finish_report
    bundle = course_bundle(exercises)
    uses = {ex.name: [dep.name for dep in used_exercises(ex)] for ex in exercises}
    named = {ex.name for ex in exercises}
    bundle = course_bundle(exercises + list({dep.name: dep for ex in exercises for dep in used_exercises(ex)
                                             if dep.name not in named}.values()))
    fingerprints = {ex.name: exercise_fingerprint(ex, bundle) for ex in exercises}
    by_name = {ex.name: ex for ex in exercises}

    reports: dict[str, dict] = {}
    tasks: list[dict] = []
    reused = set()  # students with at least one result taken from an earlier run
    for sub in subs:
        old = load_report(out / REPORTS / f"{sub.slug}.json") or {}
        old_ex = old.get("exercises") if isinstance(old.get("exercises"), dict) else {}
        entries, todo = {}, []
        extra = companions.get(sub.source, {})
        for ex in exercises:
            key = result_key(sub.files.get(ex.name), fingerprints[ex.name]
                             + "".join(f"\0{n}\0{hashlib.sha256(extra[n][1]).hexdigest()}"
                                       for n in sorted(extra) if n in uses[ex.name]), seed)
            prev = old_ex.get(ex.name) if isinstance(old_ex.get(ex.name), dict) else None
            if prev and prev.get("key") == key and (prev.get("result") or prev.get("missing")
                                                    or (prev.get("error") and not retry_errors)):
                entries[ex.name] = prev
                reused.add(sub.slug)
            elif ex.name in sub.missing or ex.name not in sub.files:
                entries[ex.name] = {"key": key, "file": None, "result": None,
                                    "missing": sub.missing.get(ex.name, "no file for this exercise")}
                if sub.refused(ex.name):  # there, but not graded (a link, too large): not "missing"
                    entries[ex.name]["refused"] = True
            else:
                entries[ex.name] = {"key": key, "file": sub.files[ex.name][0], "result": None}
                if sub.notes.get(ex.name):  # a .py file and a notebook: which one is graded, and why
                    entries[ex.name]["file_note"] = sub.notes[ex.name]
                todo.append(ex.name)
            # What the key is made of, for `grader diff` to say why a grade changed.
            entries[ex.name].setdefault("file_sha", _sha(sub.files[ex.name][1]) if ex.name in sub.files else None)
            entries[ex.name]["graders"] = fingerprints[ex.name][:16]
        reports[sub.slug] = {
            "student": sub.student, "slug": sub.slug, "source": sub.source, "info": sub.info, "layout": layout,
            "seed": seed.shown, "grader": __version__, "exercises": entries,
        }
        if sub.slug in times:
            reports[sub.slug]["submitted"] = times[sub.slug]
        if todo:
            tasks.append({"student": sub.slug, "exercises": todo, "seed": student_run_seed(seed),
                          "files": {**{n: extra[n] for n in sorted(extra) if any(n in uses[t] for t in todo)},
                                    **{n: sub.files[n] for n in todo}}})
        else:
            finish(out, reports[sub.slug], by_name)
    graded_now = {t["student"] for t in tasks}
    unchanged = len(reused - graded_now)
    without_files = len(subs) - len(graded_now) - unchanged
    log(f"{counted(len(subs), 'submission')} ({layout} layout), {counted(len(exercises), 'exercise')}: "
        f"{len(tasks)} to grade, {unchanged} unchanged since the last run"
        + (f", {without_files} without a file to grade" if without_files else "")
        + (f", on {dask if dask != 'local' else 'a local Dask cluster'}" if dask and tasks else
           f", {counted(min(jobs, max(len(tasks), 1)), 'job')}" if tasks else ""))

    bar = Progress(len(tasks), enabled=progress, slots=min(jobs, max(len(tasks), 1)))

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
        finish(out, report, by_name)
        bar.advance(note=report["student"], key=result["student"])

    def on_start(task: dict) -> None:
        bar.started(task["student"])

    try:
        if tasks:
            if dask:
                run_dask(tasks, bundle, dask, jobs, on_result, on_start)
            else:
                LocalPool(jobs, bundle, deadline).run(tasks, on_result, on_start)
    except KeyboardInterrupt:
        # What was graded is kept (each student's report is already written): the
        # gradebook and summary of it, marked partial, before the run stops.
        bar.close()
        for report in reports.values():  # the students not reached yet: their reports say so
            if any(not_reached(e) for e in report["exercises"].values()):
                _finish_report(out, report, by_name)
        _write_outputs(out, reports, exercises, log=lambda text: None)
        waiting = sum(any(not_reached(e) for e in r["exercises"].values()) for r in reports.values())
        page = _partial_report(out) if report_after_interrupt else None
        log(f"interrupted: partial: {waiting} of {len(reports)} not graded yet. The gradebook, the summary"
            + (" and report.html" if page is None or page.endswith(".html") else "") + f" in {out} say so"
            + (f" ({page})" if page and not page.endswith(".html") else "")
            + "; run the same command again to finish")
        raise
    bar.close()
    _write_outputs(out, reports, exercises, log)
    return BatchSummary(len(subs), len(graded_now), unchanged, errors,
                        round(time.monotonic() - start, 3), out, layout, without_files)


def student_run_seed(seed):
    """The seed one student's grading uses: with a secret seed, a run seed of its own (a fresh
    nonce, shown in that student's results). Per student, not per batch: inputs a report
    reveals (a failing call's message can quote them) are of no use to another student, nor
    to the same student when a later batch grades a new submission; a result reused from an
    earlier run keeps the nonce it was graded with."""
    return seed.for_run()


def _partial_report(out: Path) -> str:
    """The class report of an interrupted run (it says it is partial); a few words on what was written."""
    try:
        from grader.classreport import ReportError, build_report

        build_report(out)
    except ReportError as exc:  # no matplotlib: the gradebook and summary are there all the same
        return f"no class report: {exc}"
    return "report.html"


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


def _commits_at_cutoff(course, subs, exercises, layout: str, pushes: Path, log) -> dict:
    """A Classroom clone's files taken from the commit GitHub had at each student's cutoff
    (grader.course.clones); the times of those pushes, by student."""
    from grader.course.batch import _identifiers
    from grader.course.clones import select_commits

    if course is None:
        raise BatchError("--pushes needs course.yaml: its due dates decide which commit is graded")
    if layout != "classroom":
        raise BatchError(f"--pushes is for GitHub Classroom clones (<assignment>-submissions/), not a {layout} "
                         f"layout (give --layout classroom if it is one)")
    if not Path(pushes).is_dir():
        raise BatchError(f"--pushes {pushes}: not a folder (one <repository>.json per clone, see docs/course.md)")
    named = {ex.name for ex in exercises}
    deps = list({d.name: d for ex in exercises for d in used_exercises(ex) if d.name not in named}.values())
    try:
        return select_commits(course, subs, exercises, Path(pushes), _identifiers, log=log, deps=deps)
    except ValueError as exc:
        raise BatchError(str(exc)) from None


def _times(source: Path, subs, layout: str, times_csv: Path | None, known: dict | None = None) -> dict:
    """Each student's trusted submission time (grader.course.batch), or a usage error for a bad CSV."""
    from grader.course.batch import submission_times

    folder = source
    if layout == "gradescope":
        from grader.batch.discovery import _gradescope_root

        folder = _gradescope_root(source) or source
    try:
        # A Classroom clone's push record (known) decides over the CSV: its commit was chosen by it.
        return {**submission_times(folder, subs, layout, times_csv), **(known or {})}
    except ValueError as exc:
        raise BatchError(str(exc)) from None


def _write_outputs(out: Path, reports: dict[str, dict], exercises: list[Exercise], log) -> None:
    """gradebook.csv, summary.json and summary.md (partial when some students were not reached)."""
    write_gradebook(out, reports, exercises)
    summary = summarize(reports, exercises)
    atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    text = format_summary(summary)
    atomic_write(out / "summary.md", text)
    log(text)


def _finish_report(out: Path, report: dict, by_name: dict[str, Exercise]) -> None:
    total = best = 0.0
    for name, entry in report["exercises"].items():
        best += by_name[name].max_score if name in by_name else 0.0
        if entry.get("result"):
            total += entry["result"]["score"]
    report["score"], report["max_score"] = round(total, 6), round(best, 6)
    report["percent"] = round(100.0 * total / best, 2) if best else 0.0
    atomic_write(out / REPORTS / f"{report['slug']}.json", json.dumps(report, indent=2) + "\n")
