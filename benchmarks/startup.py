"""Wall time of a student's re-check, as ratios to `python -c "import numpy, torch"`.

Every command runs side by side in this one run, alternating, several times;
the medians are compared with the import floor measured between them:

- warm cache (the oracle's answers recorded by an earlier check, as on a
  student's second check): `grader check ex01`, `grader check ex05`, a filled
  ex05 notebook, and `grader check --all` (targets: 0.5x, 0.5x, 0.5x, 1x);
- cold cache (an empty cache: torch is imported): `grader check ex01` and
  `grader check --all` (targets: 1.2x and 2x);
- `--all` twice: on the course's stubs (a fresh repository: most checks stop
  at the first call) and on a folder with every exercise solved (every check
  runs to its end, ex03's timing rounds included);
- no cache (`--no-cache`, as CI and the autograder grade): `grader check ex01`,
  for comparison.

The single-exercise submissions are the hidden references (full marks), so
every check runs to its end.

    python benchmarks/startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def filled_notebook(exercise: str, folder: Path) -> Path:
    """The exercise's notebook with each graded cell holding the reference's function."""
    import nbformat

    from grader.exercises import resolve
    from grader.notebook_write import make_notebook

    ex = resolve(exercise, ROOT)
    reference = (ROOT / "solutions" / ex.name / ex.file).read_text()
    tree = ast.parse(reference)
    imports = "\n".join(ast.get_source_segment(reference, n) for n in tree.body
                        if isinstance(n, (ast.Import, ast.ImportFrom)))
    functions = {n.name: ast.get_source_segment(reference, n) for n in tree.body if isinstance(n, ast.FunctionDef)}
    nb = make_notebook(ex)
    for cell in nb.cells:
        first = cell.source.splitlines()[0] if cell.source else ""
        if cell.cell_type == "code" and first.startswith("# GRADED FUNCTION:"):
            name = first.split(":", 1)[1].strip()
            cell.source = f"{first}\n{imports}\n\n{functions[name]}\n"
    # Helpers of the reference (not graded functions) go in a cell of their own.
    graded = set(ex.functions)
    helpers = [src for name, src in functions.items() if name not in graded]
    if helpers:
        nb.cells.insert(1, nbformat.v4.new_code_cell(imports + "\n\n" + "\n\n".join(helpers)))
    path = folder / f"{ex.name}.ipynb"
    nbformat.write(nb, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    warm_env = dict(os.environ, GRADER_CACHE_DIR=str(scratch / "warm"))
    warm_env.pop("GRADER_SEED", None)
    grader = [sys.executable, "-m", "grader", "check"]
    ref = {n: str(next((ROOT / "solutions").glob(f"{n}*/*.py"))) for n in ("ex01", "ex05")}
    notebook = str(filled_notebook("ex05", scratch))
    solved = scratch / "solved"
    solved.mkdir()
    for path in (ROOT / "solutions").glob("ex*/*.py"):
        shutil.copy(path, solved / path.name)
    floor = [sys.executable, "-c", "import numpy, torch"]
    cases = {
        "warm: grader check ex01": (grader + ["ex01", "--submission", ref["ex01"]], "warm", 0.5),
        "warm: grader check ex05": (grader + ["ex05", "--submission", ref["ex05"]], "warm", 0.5),
        "warm: ex05 notebook": (grader + ["ex05", "--submission", notebook], "warm", 0.5),
        "warm: grader check --all": (grader + ["--all"], "warm", 1.0),
        "warm: --all, all solved": (grader + ["--all", "--submission", str(solved)], "warm", 1.0),
        "cold: grader check ex01": (grader + ["ex01", "--submission", ref["ex01"]], "cold", 1.2),
        "cold: grader check --all": (grader + ["--all"], "cold", 2.0),
        "cold: --all, all solved": (grader + ["--all", "--submission", str(solved)], "cold", 2.0),
        "no cache: grader check ex01": (grader + ["ex01", "--no-cache", "--submission", ref["ex01"]], "warm", None),
    }
    timed(floor, warm_env)  # the file cache
    for cmd, kind, _ in cases.values():
        if kind == "warm":
            timed(cmd, warm_env)  # records the answers
    floors, times = [], {name: [] for name in cases}
    for i in range(args.repeat):
        for name, (cmd, kind, _) in cases.items():
            floors.append(timed(floor, warm_env))
            env = warm_env
            if kind == "cold":
                env = dict(warm_env, GRADER_CACHE_DIR=str(scratch / f"cold-{i}-{len(floors)}"))
            times[name].append(timed(cmd, env))
    base = statistics.median(floors)
    print(f"python -c 'import numpy, torch': median {base:.3f} s over {len(floors)} runs")
    over = 0
    for name, (_, _, target) in cases.items():
        t = statistics.median(times[name])
        verdict = "" if target is None else (" OK" if t / base <= target else " OVER TARGET")
        if target is not None and t / base > target:
            over += 1
        print(f"{name:32s} median {t:6.3f} s  ratio {t / base:5.2f}x"
              + (f" (target {target}x){verdict}" if target is not None else ""))
    shutil.rmtree(scratch, ignore_errors=True)
    print("all targets met" if not over else f"{over} over target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
