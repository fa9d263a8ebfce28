"""Grading on a Dask distributed cluster (``grader batch --dask``)."""

from __future__ import annotations

from typing import Callable

from grader.batch.common import BatchError
from grader.batch.worker import cleanup_courses, error_result, grade_task, warm_up


def run_dask(tasks: list[dict], bundle: dict, address: str, jobs: int,
             on_result: Callable[[dict], None], on_start: Callable[[dict], None] | None = None) -> None:
    """Grade ``tasks`` on a Dask cluster (``address``, or ``local`` for a local cluster of ``jobs`` workers).

    The scheduler does not say when a task starts: ``on_start`` is called for
    as many tasks as there are workers at first, then for the next task each
    time one finishes (as a first-in, first-out queue would run them)."""
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
        waiting = list(tasks)
        workers = client.scheduler_info().get("workers", {})
        slots = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        if on_start is not None:
            for task in waiting[:slots]:
                on_start(task)
        waiting = waiting[slots:]
        for future in as_completed(futures):
            if on_start is not None and waiting:
                on_start(waiting.pop(0))
            try:
                result = future.result()
            except Exception as exc:
                result = error_result(futures[future], f"the Dask task failed: {type(exc).__name__}: {exc}")
            on_result(result)
    finally:
        try:
            client.run(cleanup_courses)
        except Exception:
            pass  # workers gone: nothing to clean there
        client.close()
        if cluster is not None:
            cluster.close()
