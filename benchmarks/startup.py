"""Wall time of `grader check ex01` as a ratio to `python -c "import numpy, torch"`.

Both commands run side by side in this one run, alternating, several times;
the medians are compared. Target: at most 1.5x (the grader's own start-up,
the sandbox and the checks cost at most half of what importing torch costs).

    python benchmarks/startup.py [--repeat 5] [--exercise ex01]
"""

from __future__ import annotations

import argparse
import os
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--exercise", default="ex01")
    parser.add_argument("--target", type=float, default=1.5)
    args = parser.parse_args()
    env = dict(os.environ, GRADER_CACHE_DIR=tempfile.mkdtemp(prefix="grader-bench-"))
    imports = [sys.executable, "-c", "import numpy, torch"]
    grade = [sys.executable, "-m", "grader", "check", args.exercise,
             "--submission", str(next((ROOT / "solutions").glob(f"{args.exercise}*/*.py")))]
    timed(imports, env), timed(grade, env)  # warm the file cache
    base, ours = [], []
    for _ in range(args.repeat):
        base.append(timed(imports, env))
        ours.append(timed(grade, env))
    b, g = statistics.median(base), statistics.median(ours)
    ratio = g / b
    print(f"python -c 'import numpy, torch': median {b:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in base)})")
    print(f"grader check {args.exercise} (reference): median {g:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in ours)})")
    print(f"ratio: {ratio:.2f}x (target: at most {args.target}x) -> {'OK' if ratio <= args.target else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
