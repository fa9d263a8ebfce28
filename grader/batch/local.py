"""The local pool: ``--jobs`` long-lived job processes kept busy.

A job that runs past a task's deadline (the exercises' own time limits plus a
margin) or dies is replaced, and that student gets an error, so one
pathological submission never stalls the run.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Callable, Iterable

from grader.batch.common import BatchError
from grader.batch.worker import _job_main, error_result


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

    def run(self, tasks: Iterable[dict], on_result: Callable[[dict], None],
            on_start: Callable[[dict], None] | None = None) -> None:
        """Grade ``tasks``; ``on_result`` gets each result, ``on_start`` each task as a job starts it."""
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
                                if on_start is not None:
                                    on_start(job.task)
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
                        on_result(error_result(task, problem))
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



def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1
