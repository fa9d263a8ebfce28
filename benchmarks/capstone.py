"""Cold and warm grading time of the capstone (ex12_lenet) on its reference, on 2 cores.

Cold: an empty oracle cache (torch is imported, the 20-step torch.optim run and
every expected value computed). Warm: the same check again, the oracle's answers
replayed from the cache (no torch training). The student's own full training run
(the accuracy check) runs both times: it is the student's code, never cached.
Target: cold under 60 s on 2 cores. Also prints the reference's test accuracy
over several seeds of the full run (the bar in exercise.yaml sits below it).

    python benchmarks/capstone.py [--repeat 3] [--seeds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORES = "0,1"


def run(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(["taskset", "-c", CORES, *cmd], env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if "15 / 15" not in done.stdout:
        sys.exit(f"the reference did not score full marks:\n{done.stdout}\n{done.stderr}")
    return seconds


def accuracies(seeds: int) -> list[float]:
    sys.path[:0] = [str(ROOT / "solutions" / d)
                    for d in ("ex05_softmax", "ex06_conv", "ex07_pool", "ex09_optim", "ex12_lenet")]
    sys.path.append(str(ROOT / "exercises" / "ex12_lenet"))  # the grader's module, after the reference
    import lenet  # the reference
    import test_lenet as grader

    from grader.oracle import Oracle

    X, y, X_test, y_test = grader.load_digits()
    oracle, out = Oracle(), []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        params, _ = lenet.train(X, y, grader.init_params(rng), seed=seed, **grader.FULL_RUN)
        out.append((grader.accuracy(oracle, params, X_test, y_test), time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    grader_cmd = [sys.executable, "-m", "grader", "check", "ex12",
                  "--submission", str(ROOT / "solutions" / "ex12_lenet" / "lenet.py")]
    cold, warm = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "GRADER_CACHE_DIR": cache}
            cold.append(run(grader_cmd, env))
            warm.append(run(grader_cmd, env))
    print(f"grader check ex12 on the reference, {len(CORES.split(','))} cores (taskset -c {CORES}), "
          f"{args.repeat} runs:")
    print(f"  cold cache: median {statistics.median(cold):.1f} s (target < 60 s): "
          + ", ".join(f"{t:.1f}" for t in cold))
    print(f"  warm cache: median {statistics.median(warm):.1f} s: " + ", ".join(f"{t:.1f}" for t in warm))
    print(f"the reference's full training run ({args.seeds} seeds, one process):")
    for seed, (acc, seconds) in enumerate(accuracies(args.seeds)):
        print(f"  seed {seed}: test accuracy {acc:.1%} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
