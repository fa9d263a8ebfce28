"""`grader check`: grade one exercise or all of them, and report."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from grader.commands._options import percent
from grader.exercises import all_exercises, resolve
from grader.scorecache import load_durations, store_durations
from grader.scorecache import store as cache_store

FORMATS = ("text", "json", "gradescope", "junit", "github")


USES_GRADER_SEED = True  # cli.py warns when $GRADER_SEED is short


def add_parser(sub) -> None:
    check = sub.add_parser("check", help="grade an exercise (ex01, 1, ex01_sigmoid or sigmoid)")
    check.add_argument("exercise", nargs="?", help="the exercise to grade")
    check.add_argument("--all", action="store_true", help="grade every exercise")
    check.add_argument("--submission", type=Path, help="grade this file, notebook or folder instead of your own file")
    check.add_argument("--seed", type=int, help="seed for the test inputs (default: $GRADER_SEED or 1234)")
    check.add_argument("--run-nonce", metavar="NONCE",
                       help="with a secret $GRADER_SEED: grade with the inputs of the run whose report shows "
                            "seed secret:<fingerprint>/run:NONCE (for staff reproducing a grade; without it "
                            "each run draws a fresh nonce)")
    check.add_argument("--format", choices=FORMATS, default="text",
                       help="report format (default: text); junit: JUnit XML; github: ::error annotations on "
                            "standard output and a markdown job summary (to --output, else appended to "
                            "$GITHUB_STEP_SUMMARY, else to standard output)")
    check.add_argument("--output", type=Path, help="write the report to this file instead of standard output")
    check.add_argument("--fail-under", type=percent, metavar="PERCENT",
                       help="exit with status 1 when the score is below PERCENT (0 to 100) of the maximum")
    check.add_argument("--no-color", action="store_true", help="plain text even on a terminal")
    check.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="with --all: grade N exercises at a time (default: one per available core)")
    check.add_argument("--no-cache", action="store_true",
                       help="compute every expected value afresh (the oracle's results are otherwise replayed "
                            "from your local cache; never with a secret $GRADER_SEED)")
    check.add_argument("--no-progress", action="store_true",
                       help="with --all: no progress line (it is shown only on a terminal, never in CI)")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def parallel_jobs(exercises, jobs: int) -> int:
    """How many processes grade ``exercises`` at once (1: this one, serially)."""
    return 1 if sys.platform != "linux" else max(1, min(jobs, len(exercises)))


def start_fork_server(exercises, submissions, jobs: int) -> list:
    """For parallel jobs: one fork server, with a handle for each job, started
    first thing, so that its NumPy import runs on a core the start-up of this
    process leaves idle (none when there is nothing to run: no file to grade)."""
    if parallel_jobs(exercises, jobs) == 1 or not any(_has_file(submissions, ex) for ex in exercises):
        return []
    from grader.sandbox import forkserver

    return forkserver.start(parallel_jobs(exercises, jobs))


def _has_file(submissions, ex) -> bool:
    from grader.submission import SubmissionError, locate_submission

    try:
        locate_submission(submissions.get(ex.name, ex.student_file), ex)
    except SubmissionError:
        return False
    return True


def grade_in_parallel(exercises, submissions, seed, use_cache: bool, jobs: int, durations: dict | None = None,
                      servers: list | None = None, progress=None):
    """Grade ``exercises`` in up to ``jobs`` processes at once; the results in
    the exercises' order, each exactly what a serial run gives (every
    exercise is graded on its own: its own sandbox, seeded inputs, oracle).
    ``durations``: the seconds each exercise took last time, to start the
    slowest first. ``servers``: from :func:`start_fork_server` (started here
    when not given); closed here. ``progress``: a :class:`grader.progress.Progress`
    told of each exercise as it is graded."""
    from grader.grading import grade

    jobs = parallel_jobs(exercises, jobs)
    if jobs == 1:
        for server in servers or []:
            server.close()
        if progress is None:
            return grade(exercises, submissions, seed=seed, use_cache=use_cache)
        results = []
        for ex in exercises:  # one at a time, to tell the progress line (the same grades)
            results += grade([ex], submissions, seed=seed, use_cache=use_cache)
            progress.advance(note=ex.name)
        return results
    if servers is None:
        servers = start_fork_server(exercises, submissions, jobs)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Forked before torch is imported (graders hold stand-ins until the
    # oracle needs it): a job starts in milliseconds and imports only what it
    # uses. One exercise per task, the slowest last time first, so that the
    # jobs stay busy to the end.
    order = sorted(exercises, key=lambda ex: -(durations or {}).get(ex.name, 0.0))
    try:
        _import_what_every_job_imports()
        if not use_cache or _first_time_with_cache(exercises, seed):
            from grader.lazytorch import real

            real()  # torch, once, here, rather than in each job that needs it
        context = multiprocessing.get_context("fork")
        taken = context.Value("i", 0)
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_adopt_server,
                                 initargs=(servers, taken)) as pool:
            futures = {pool.submit(grade, [ex], submissions, seed, True, use_cache): ex for ex in order}
            by_name = {}
            for future in as_completed(futures):
                by_name.update((r.exercise, r) for r in future.result())
                if progress is not None:
                    progress.advance(note=futures[future].name)
    finally:
        for server in servers:
            server.close()
    return [by_name[ex.name] for ex in exercises if ex.name in by_name]


def _adopt_server(servers, taken) -> None:
    """A job's start: the next handle on the jobs' fork server, if there is one, is its own."""
    from grader.sandbox import forkserver

    with taken.get_lock():
        index, taken.value = taken.value, taken.value + 1
    forkserver.adopt(servers, index)


def _first_time_with_cache(exercises, seed) -> bool:
    """Whether an exercise has not been graded with the oracle's cache (with
    these graders, versions and seed): its answers are missing, and computing
    them needs torch."""
    from grader.grading import session_seed
    from grader.scorecache import oracle_store

    store, key_seed = oracle_store(), session_seed(seed)
    return any(not store.seen(ex, key_seed) for ex in exercises)


def _import_what_every_job_imports() -> None:
    """Imported once here rather than once in each job: pytest's built-in
    plugins (a session imports them), NumPy's random generators and the
    oracle cache (every grader uses them)."""
    import importlib

    from _pytest.config import default_plugins

    for name in ["numpy.random", "grader.oraclecache", *(f"_pytest.{p}" for p in default_plugins)]:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a pytest without it: the job imports what it has


def _progress(total: int, jobs: int):
    """A progress line on standard error, for a person watching a terminal: None in a pipe,
    a file, or CI (``$CI``, which GitHub, GitLab and the like set), where it would be noise."""
    if not sys.stderr.isatty() or os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return None
    from grader.progress import Progress

    progress = Progress(total, stream=sys.stderr, label="exercises graded", slots=jobs)
    progress.advance(0)  # drawn at once: 0/N
    return progress


def total_line(results) -> str:
    """``Total: 26 / 149 (17%)``: the points as the reports write them (no ``.00`` on whole numbers)."""
    from grader.report import _points

    total, best = sum(r.score for r in results), sum(r.max_score for r in results)
    return f"Total: {_points(total)} / {_points(best)} ({100.0 * total / best if best else 0.0:.0f}%)"


def run(args: argparse.Namespace, root: Path, parser: argparse.ArgumentParser) -> int:
    if args.all == bool(args.exercise):
        parser.error("name one exercise, or give --all")
    exercises = all_exercises(root) if args.all else [resolve(args.exercise, root)]
    submissions = {}
    if args.submission is not None:
        if not args.submission.exists():
            print(f"grader: error: no such file or folder: {args.submission}", file=sys.stderr)
            return 2
        submissions = {ex.name: args.submission.resolve() for ex in exercises}
    seed = args.seed
    if args.run_nonce is not None or os.environ.get("GRADER_SEED", "").strip():
        from grader.seed import run_seed

        try:  # a secret seed: this run's own inputs (grader.seed)
            seed = run_seed(args.seed, args.run_nonce)
        except ValueError as exc:
            parser.error(str(exc))
    jobs = args.jobs or available_cores()
    servers = start_fork_server(exercises, submissions, jobs)  # before the imports below
    from grader.grading import GraderFault
    from grader.oraclecache import allowed as oracle_cache_allowed
    from grader.report import format_text, to_gradescope, to_json

    progress = _progress(len(exercises), jobs) if args.all and not args.no_progress else None
    try:
        results = grade_in_parallel(exercises, submissions, seed, oracle_cache_allowed(args.no_cache),
                                    jobs, durations=load_durations() if args.all else None, servers=servers,
                                    progress=progress)
    except GraderFault as exc:
        print(f"grader: internal error: {exc}", file=sys.stderr)
        return 2
    finally:
        if progress is not None:
            progress.close(erase=True)
    from grader.cli import STARTED

    wall = round(time.perf_counter() - STARTED, 3)
    for r in results:  # the whole command, start-up and imports included (parallel jobs too)
        r.run_seconds = max(r.run_seconds, wall)
    from grader.course import load_course
    from grader.course.visibility import hold

    hold(results, exercises, load_course(root))  # after_due_date checks: "result shown after <date>"
    # Stored before the report is written: a reader that goes away (| head) costs none of it; stored as
    # shown (a check held until its due date is held in `grader list` too).
    if args.all:
        store_durations(results)
    if not submissions:
        by_name = {r.exercise: r for r in results}
        for ex in exercises:
            if ex.name in by_name:
                cache_store(ex, by_name[ex.name])
    if args.format in ("junit", "github"):
        from grader.ci_report import locate

        locate(results, exercises)
    if args.format == "github":
        from grader.ci_report import github_annotations, github_summary, stop_commands

        annotations = github_annotations(results)
        if annotations:
            print(annotations)
        summary = github_summary(results)
        target = args.output or (Path(os.environ["GITHUB_STEP_SUMMARY"])
                                 if os.environ.get("GITHUB_STEP_SUMMARY") else None)
        if target is not None:
            with open(target, "a" if args.output is None else "w") as f:
                f.write(summary + "\n")
        else:
            print(stop_commands(summary))
        text = None
    elif args.format == "junit":
        from grader.ci_report import to_junit

        text = to_junit(results).rstrip("\n")
    elif args.format == "json":
        text = to_json(results, many=args.all)
    elif args.format == "gradescope":
        text = json.dumps(to_gradescope(results), indent=2)
    else:
        color = args.output is None and sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
        text = "\n\n".join(format_text(r, color=color) for r in results)
        if len(results) > 1:
            text += "\n\n" + total_line(results)
    if text is None:
        pass  # written above
    elif args.output:
        args.output.write_text(text + "\n")
    else:
        print(text)
    if any(r.grader_faults for r in results):
        return 2
    if args.fail_under is not None:
        total, best = sum(r.score for r in results), sum(r.max_score for r in results)
        if not best or 100.0 * total / best < args.fail_under:  # nothing graded is not a pass
            return 1
    return 0
