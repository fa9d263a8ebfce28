"""The instructor's view of a class: ``report.html`` from a ``grader batch`` output folder.

``build_report(folder)`` reads the folder (see :mod:`grader.classreport.data`),
draws the plots (:mod:`grader.classreport.plots`, matplotlib: ``pip install
'grader[report]'``) and writes one self-contained page
(:mod:`grader.classreport.page`). ``grader batch`` calls it at the end of a
run; ``grader report GRADES`` calls it on an existing output, without
grading anything again.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.classreport.data import ReportError, load_class

REPORT_FILE = "report.html"

__all__ = ["REPORT_FILE", "ReportError", "build_report"]


def build_report(folder: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` for the batch output in ``folder`` (or at ``out``); return its path.

    Raises :class:`ReportError` when the folder is not a batch output or
    matplotlib is missing.
    """
    from grader.classreport.page import render
    from grader.classreport.plots import all_plots

    folder = Path(folder)
    data = load_class(folder)
    text = render(data, all_plots(data))
    path = Path(out) if out else folder / REPORT_FILE
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
