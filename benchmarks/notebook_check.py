"""`grader.check()` in a real Jupyter kernel: the first check, and a warm re-check.

For each exercise, a fresh IPython kernel (ipykernel, driven by jupyter_client
as nbclient drives it) runs the exercise's notebook with every graded cell
holding the reference, then calls `grader.check(...)` several times, each
timed inside the kernel (what the student waits for, without the messaging).
The first call pays for importing torch and pytest and starting the sandbox;
the later ones are what a student pays when they fix a cell and check again.

Targets (warm re-check, median): ex01 at most 0.2 s, ex05 at most 0.4 s.

    python benchmarks/notebook_check.py [--repeat 5] [--exercise ex01 --exercise ex05]
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {"ex01": 0.2, "ex05": 0.4}


def filled_cells(name: str) -> list[str]:
    """The notebook's code cells (imports, graded cells) filled with the reference."""
    from grader.exercises import resolve
    from grader.notebook_read import MARKER
    from grader.notebook_write import make_notebook

    ex = resolve(name, ROOT)
    reference = (ROOT / "solutions" / ex.name / ex.file).read_text()
    lines = reference.splitlines()
    pieces, others = {}, []
    for node in ast.parse(reference).body:
        text = "\n".join(lines[node.lineno - 1:node.end_lineno])
        if isinstance(node, ast.FunctionDef):
            pieces[node.name] = text
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            others.append(text)
    code = [c.source for c in make_notebook(ex).cells if c.cell_type == "code"]
    graded = [f for f in pieces if f in ex.functions]
    helpers = [pieces[f] for f in pieces if f not in ex.functions]
    cells = [code[0]]
    for i, f in enumerate(graded):
        cells.append("\n\n".join([MARKER.format(f), *((others + helpers) if i == 0 else []), pieces[f]]))
    return cells


def measure(name: str, repeat: int) -> list[float]:
    from jupyter_client.manager import start_new_kernel

    folder = tempfile.mkdtemp(prefix="grader-bench-nb-")
    manager, client = start_new_kernel(kernel_name="python3", cwd=folder)
    try:
        def run(code: str) -> list[dict]:
            outputs = []
            reply = client.execute_interactive(code, timeout=600, output_hook=outputs.append)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}\n{code}")
            return outputs

        for cell in filled_cells(name):
            run(cell)
        run("import grader, time, json")
        times = []
        for _ in range(repeat):
            out = run(f"_t = time.perf_counter(); _r = grader.check({name!r}); "
                      f"print(json.dumps([time.perf_counter() - _t, _r.score, _r.max_score]))")
            text = "".join(o["content"].get("text", "") for o in out if o["msg_type"] == "stream")
            seconds, score, best = json.loads(text.strip().splitlines()[-1])
            if score != best:
                raise RuntimeError(f"{name}: the reference scored {score} / {best} in the kernel")
            times.append(seconds)
        return times
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="checks per kernel (the first is cold)")
    parser.add_argument("--exercise", action="append", help="default: ex01 and ex05")
    args = parser.parse_args()
    ok = True
    for name in args.exercise or list(TARGETS):
        times = measure(name, max(2, args.repeat))
        first, warm = times[0], statistics.median(times[1:])
        target = TARGETS.get(name)
        verdict = "" if target is None else (f"  (target: at most {target} s -> "
                                             f"{'OK' if warm <= target else 'OVER TARGET'})")
        ok &= target is None or warm <= target
        print(f"{name}: first check {first:.3f} s | warm re-check median {warm:.3f} s "
              f"(runs: {', '.join(f'{t:.3f}' for t in times[1:])}) | first / warm {first / warm:.1f}x{verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
