"""Grading a whole class: `grader batch`.

One module per job, each usable on its own:

- :mod:`~grader.batch.discovery`: :func:`discover` finds the students in a
  folder (plain, Gradescope export, GitHub Classroom clone), :func:`extract_zip`
  unpacks a ``.zip`` of one safely.
- :mod:`~grader.batch.reuse`: the graders as data, and the key that tells
  whether an earlier result can be reused.
- :mod:`~grader.batch.worker`: :func:`grade_task` grades one student in the
  process that calls it (a job of the local pool, or a Dask worker).
- :mod:`~grader.batch.local`: :class:`LocalPool`, ``--jobs`` job processes.
- :mod:`~grader.batch.dask_cluster`: :func:`run_dask`, the same on a Dask cluster.
- :mod:`~grader.batch.gradebook`: ``gradebook.csv``.
- :mod:`~grader.batch.summary`: the instructor's summary (``summary.json``, ``summary.md``).
- :mod:`~grader.batch.run`: :func:`run_batch` ties them together.

The names below stay importable from ``grader.batch`` for existing callers.
"""

from grader.batch.common import MAX_FILE_BYTES, REPORTS, BatchError
from grader.batch.dask_cluster import run_dask
from grader.batch.discovery import Submission, discover, extract_zip
from grader.batch.gradebook import write_gradebook
from grader.batch.local import LocalPool, default_jobs
from grader.batch.reuse import course_bundle, exercise_fingerprint, result_key
from grader.batch.run import BatchSummary, run_batch
from grader.batch.summary import format_summary, summarize
from grader.batch.worker import cleanup_courses, grade_task, warm_up

__all__ = [
    "MAX_FILE_BYTES", "REPORTS", "BatchError", "BatchSummary", "LocalPool", "Submission", "cleanup_courses",
    "course_bundle", "default_jobs", "discover", "exercise_fingerprint", "extract_zip", "format_summary",
    "grade_task", "result_key", "run_batch", "run_dask", "summarize", "warm_up", "write_gradebook",
]
