"""What reading a hostile notebook costs the trusted side, before any sandbox runs.

`grader check --submission x.ipynb` (and `ci`, `batch`, the Gradescope
autograder) builds the module to grade from the notebook in the grader's own
process (`grader.notebook_read.extract`). Each notebook below is within the
64 MB size limit and built to make that expensive:

- `flat-18mb`:    nine ungraded cells of 2 MB of flat valid code (`v1 = 1` ...)
                  beside ex05's graded cells;
- `tiny-1.85m`:   1.85 million tiny code cells (63 MB);
- `mix`:          flat code cells defining names the graded cells use (the
                  helper budget is spent), thousands of tiny cells, 30 MB of outputs;
- `graded-1mb`:   a graded cell of 1 MB of flat code (all the graded code allowed);
- `deep-outputs`: outputs of a million small JSON objects.

Each is read in a fresh process, timed inside it; its peak memory is read by
its parent with ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, side by side
with a process that only imports the reader (`baseline`). Targets: at most
5 s and 500 MB for any notebook. ``--against REV`` measures the reader of a
git revision too (e.g. ``--against main``), as a ratio; ``--timeout`` bounds
each run (the old reader took minutes on some).

    python benchmarks/notebook_parse.py [--case flat-18mb ...] [--against REV] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS, TARGET_MB = 5.0, 500.0

MB = 1024 * 1024


def _graded_cells(extra: str = "") -> list[dict]:
    """ex05's notebook cells as a student gets them (imports, graded cells), ``extra``
    appended to the first graded cell."""
    sys.path.insert(0, str(ROOT))
    from grader.exercises import resolve
    from grader.notebook_write import make_notebook

    nb = make_notebook(resolve("ex05", ROOT))
    cells = [dict(c) for c in nb.cells if c.cell_type == "code"]
    for cell in cells:
        cell["outputs"], cell["execution_count"] = [], None
        if "graded" in cell["metadata"].get("tags", []) and extra:
            cell["source"] += extra
            extra = ""
    return [json.loads(json.dumps(c)) for c in cells]


def _flat(prefix: str, size: int) -> str:
    lines, total, i = [], 0, 0
    while total < size:
        line = f"{prefix}{i} = {i}\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


def _notebook(cells: list[dict]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def build(case: str, folder: Path) -> Path:
    """Write the notebook ``case`` into ``folder`` (each under the 64 MB limit)."""
    path = folder / f"{case}.ipynb"
    code = lambda source: {"cell_type": "code", "metadata": {}, "source": source,  # noqa: E731
                           "outputs": [], "execution_count": None}
    if case == "flat-18mb":
        cells = _graded_cells() + [code(_flat(f"v{k}_", 2 * MB - 4096)) for k in range(9)]
        text = _notebook(cells)
    elif case == "tiny-1.85m":
        head = _notebook(_graded_cells())[:-2]  # ...]} : the tiny cells go on the end of the list
        text = head + ',{"cell_type":"code","source":""}' * 1_850_000 + "]}"
    elif case == "mix":
        uses = "\n\ndef _uses():\n    return " + " + ".join(f"w{k}" for k in range(12)) + "\n"
        flat = [code(f"w{k} = {k}\n" + _flat(f"m{k}_", 400 * 1024)) for k in range(12)]
        tiny = [code(f"t{i} = {i}") for i in range(8000)]
        image = "iVBORw0KGgo" * (30 * MB // 11)
        outputs = code("print('plot')")
        outputs["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": image}}]
        text = _notebook(_graded_cells(uses) + flat + tiny + [outputs])
    elif case == "graded-1mb":
        text = _notebook(_graded_cells("\n" + _flat("g", MB - 64 * 1024)))
    elif case == "deep-outputs":
        outputs = code("print('x')")
        outputs["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [{}] * 1_000_000}]
        text = _notebook(_graded_cells() + [outputs])
    else:
        raise SystemExit(f"unknown case {case}")
    path.write_text(text)
    return path


# The child: read one notebook with the reader at READER (a file), print the seconds.
CHILD = textwrap.dedent('''
    import importlib.util, sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from grader.exercises import resolve
    spec = importlib.util.spec_from_file_location("reader", {reader!r})
    reader = sys.modules["reader"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)
    ex = resolve("ex05", Path({root!r}))
    path = {path!r}
    started = time.perf_counter()
    outcome = "read"
    if path:
        try:
            extracted = reader.extract(Path(path), ex)
            outcome = f"module of {{len(extracted.source) // 1024}} KB, {{len(extracted.notes)}} note(s)"
        except reader.NotebookError as exc:
            outcome = "refused: " + str(exc)[:90]
    print(time.perf_counter() - started)
    print(outcome)
''')

# The parent of the child: its peak memory, as RUSAGE_CHILDREN sees it.
MEASURE = textwrap.dedent('''
    import resource, subprocess, sys
    proc = subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True, text=True,
                          timeout=float(sys.argv[2]))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(proc.returncode, peak)
    print(proc.stdout, end="")
    print(proc.stderr[-500:], file=sys.stderr, end="")
''')


def measure(reader: Path, path: Path | None, timeout: float) -> tuple[float, float, str]:
    """(seconds, peak MB, outcome) of reading ``path`` with ``reader`` in a fresh process."""
    child = CHILD.format(root=str(ROOT), reader=str(reader), path=str(path) if path else "")
    try:
        proc = subprocess.run([sys.executable, "-c", MEASURE, child, str(timeout)], capture_output=True,
                              text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return float("nan"), float("nan"), f"over {timeout:.0f} s"
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 3 or not lines[0].startswith("0 "):
        why = (proc.stderr.strip().splitlines() or ["?"])[-1]
        if "TimeoutExpired" in why:
            return float("nan"), float("nan"), f"over {timeout:.0f} s (stopped)"
        return float("nan"), float("nan"), f"failed: {why[:90]}"
    return float(lines[1]), float(lines[0].split()[1]), lines[2]


def main() -> int:
    cases = ["flat-18mb", "tiny-1.85m", "mix", "graded-1mb", "deep-outputs"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=cases, help="only these notebooks (repeat)")
    parser.add_argument("--against", metavar="REV", help="also measure grader/notebook_read.py of this git revision")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run (default 300)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grader-notebook-bench-") as tmp:
        folder = Path(tmp)
        readers = {"now": ROOT / "grader" / "notebook_read.py"}
        if args.against:
            old = folder / "notebook_read_old.py"
            old.write_text(subprocess.run(["git", "-C", str(ROOT), "show", f"{args.against}:grader/notebook_read.py"],
                                          capture_output=True, text=True, check=True).stdout)
            readers[args.against] = old
        base_s, base_mb, _ = measure(readers["now"], None, args.timeout)
        print(f"baseline (python, the reader imported): {base_mb:.0f} MB")
        print(f"{'notebook':<14} {'size':>7} {'reader':<8} {'seconds':>8} {'peak MB':>8} {'+MB':>6}  "
              f"{'vs target':<18} outcome")
        worst = 0.0
        for case in args.case or cases:
            path = build(case, folder)
            size = path.stat().st_size / MB
            for label, reader in readers.items():
                seconds, peak, outcome = measure(reader, path, args.timeout)
                ratio = max(seconds / TARGET_SECONDS, peak / TARGET_MB)
                if label == "now":
                    worst = max(worst, ratio if ratio == ratio else float("inf"))
                print(f"{case:<14} {size:>5.1f}MB {label:<8} {seconds:>8.2f} {peak:>8.0f} {peak - base_mb:>6.0f}  "
                      f"{seconds / TARGET_SECONDS:>4.2f}x 5s {peak / TARGET_MB:>4.2f}x 500MB  {outcome}")
            path.unlink()
        print(f"worst ratio to the targets (5 s, 500 MB): {worst:.2f} ({'met' if worst <= 1 else 'NOT met'})")
        return 0 if worst <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
