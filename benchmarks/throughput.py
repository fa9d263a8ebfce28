"""Throughput of `grader batch`: submissions per second, speed-up, memory, cost per submission.

Measured side by side in this one run:

1. for ex01 (the reference sigmoid) and ex06 (a naive seven-loop convolution,
   written below), submissions per second at ``--jobs 1`` and ``--jobs 2``,
   and the speed-up (target: at least 1.7x). The rate is the steady one,
   from the moments the reports were written (the first student of each job
   also pays that job's start-up: the torch import); the end-to-end rate,
   start-up included, is printed beside it;
2. the cost of one submission in a batch (job-seconds per submission) against
   a standalone ``grader check`` of the same submission, cold: each run with
   an empty cache (``GRADER_CACHE_DIR``), as a class's first grading is, since
   a batch computes every expected value afresh too (target: at most a
   quarter). A warm re-check, which replays the oracle's answers from the
   cache, is not what a batch saves on (see benchmarks/startup.py for it);
3. the peak memory of a batch of 200 submissions (the resident memory of the
   whole process tree: the batch, its jobs and their sandboxes, sampled);
4. for ex01, the same rates with the fork server turned off
   (``GRADER_FORK_SERVER=0``: every sandbox starts its own interpreter), to
   show what it gains.

    python benchmarks/throughput.py [--ex01 200] [--ex06 32] [--memory 200] [--started 60] [--repeat 3]

Each submission differs (a comment with its number), so nothing is reused
between students or runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.sandbox import forkserver

ROOT = Path(__file__).resolve().parents[1]

# A naive convolution: seven nested Python loops, no NumPy inside them.
NAIVE_CONV = '''\
import numpy as np


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp[:, :, ph:ph + H, pw:pw + W] = x
    H_out = (H + 2 * ph - KH) // sh + 1
    W_out = (W + 2 * pw - KW) // sw + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[f]
                    for c in range(C):
                        for a in range(KH):
                            for k in range(KW):
                                total += xp[n, c, i * sh + a, j * sw + k] * w[f, c, a, k]
                    out[n, f, i, j] = total
    return out, (x, w, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    x, w, (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    xp[:, :, ph:ph + H, pw:pw + W] = x
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for a in range(KH):
                            for k in range(KW):
                                dw[f, c, a, k] += xp[n, c, i * sh + a, j * sw + k] * g
                                dxp[n, c, i * sh + a, j * sw + k] += w[f, c, a, k] * g
    dx = dxp[:, :, ph:ph + H, pw:pw + W].copy()
    return dx, dw, db
'''


def submissions(folder: Path, exercise: str, n: int) -> Path:
    if exercise == "ex06":
        name, source = "conv.py", NAIVE_CONV
    else:
        name, source = "sigmoid.py", (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        student = folder / f"student{i:04d}"
        student.mkdir()
        (student / name).write_text(source + f"\n# submission {i}\n")
    return folder


class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.peak_one = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        found, stack = [], [self.pid]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(children.get(pid, []))
        return found

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [self._rss(p) for p in self._tree()]
            self.peak = max(self.peak, sum(sizes))
            self.peak_one = max([self.peak_one, *sizes])
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_batch(folder: Path, exercise: str, jobs: int, env: dict, measure_memory: bool = False) -> dict:
    out = Path(tempfile.mkdtemp(prefix="grader-bench-out-"))
    cmd = [sys.executable, "-m", "grader", "batch", str(folder), "-e", exercise, "--jobs", str(jobs),
           "--out", str(out), "--no-progress"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid) if measure_memory else None
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if memory:
        memory.stop()
    if proc.returncode != 0:
        raise SystemExit(f"grader batch failed ({proc.returncode}): {err[-2000:]}")
    finished, scores, errors = [], [], 0
    for report in (out / "reports").glob("*.json"):
        data = json.loads(report.read_text())
        for entry in data["exercises"].values():
            if entry.get("graded_at"):
                finished.append(entry["graded_at"])
            if entry.get("error"):
                errors += 1
        scores.append(data["percent"])
    shutil.rmtree(out, ignore_errors=True)
    finished.sort()
    n = len(finished)
    # Steady rate: after the first report of every job (their start-up is over).
    skip = min(jobs, n - 1)
    steady = (n - 1 - (skip - 1)) / (finished[-1] - finished[skip - 1]) if n > skip and finished[-1] > finished[skip - 1] else float("nan")
    return {"n": n, "wall": wall, "end_to_end": n / wall, "steady": steady, "errors": errors,
            "min_score": min(scores) if scores else None,
            "peak": memory.peak if memory else None, "peak_one": memory.peak_one if memory else None}


def standalone(file: Path, exercise: str, env: dict, repeat: int) -> float:
    """The median wall time of ``grader check`` on ``file``, each run cold: its own empty cache
    (a warm one would replay the oracle's answers and skip torch, which no batch does)."""
    times = []
    for _ in range(repeat):
        cache = tempfile.mkdtemp(prefix="grader-bench-cold-")
        try:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader", "check", exercise, "--submission", str(file)],
                           cwd=ROOT, env=dict(env, GRADER_CACHE_DIR=cache), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - start)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Enough students that the steady window lasts several seconds at ~20/s.
    parser.add_argument("--ex01", type=int, default=200, help="ex01 submissions per throughput run")
    parser.add_argument("--ex06", type=int, default=32, help="ex06 submissions per throughput run")
    parser.add_argument("--memory", type=int, default=200, help="submissions in the memory run (ex01, 2 jobs)")
    parser.add_argument("--started", type=int, default=60,
                        help="ex01 submissions per run with the fork server off (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="standalone `grader check` runs (median)")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="grader-bench-cache-")
    env = dict(os.environ, GRADER_CACHE_DIR=cache)
    env.pop("GRADER_SEED", None)
    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
          f"fork server: {'on' if forkserver.enabled() else 'off'}")
    try:
        rates = {}  # exercise -> {jobs: run}, for the comparison without the fork server
        for exercise, n in (("ex01", args.ex01), ("ex06", args.ex06)):
            folder = submissions(work / exercise, exercise, n)
            first = next(folder.iterdir())
            one = next(first.iterdir())
            alone = standalone(one, exercise, env, args.repeat)
            runs = {jobs: run_batch(folder, exercise, jobs, env) for jobs in (1, 2)}
            rates[exercise] = runs
            r1, r2 = runs[1], runs[2]
            if r1["errors"] or r2["errors"] or (r1["min_score"] or 0) < 100 or (r2["min_score"] or 0) < 100:
                print(f"warning: {exercise}: some submissions were not graded in full")
            per_sub = 1.0 / r1["steady"]
            print(f"\n{exercise}: {n} submissions ({'naive seven-loop convolution' if exercise == 'ex06' else 'reference sigmoid'})")
            for jobs, r in runs.items():
                print(f"  --jobs {jobs}: {r['steady']:.2f} submissions/s steady "
                      f"({r['end_to_end']:.2f}/s end to end, {r['wall']:.1f} s wall, start-up included)")
            speedup = r2["steady"] / r1["steady"]
            e2e = r2["end_to_end"] / r1["end_to_end"]
            print(f"  speed-up, 2 jobs over 1: {speedup:.2f}x steady ({e2e:.2f}x end to end) "
                  f"(target: at least 1.7x) -> {'OK' if speedup >= 1.7 else 'UNDER TARGET'}")
            ratio = per_sub / alone
            print(f"  cost per submission: {per_sub:.3f} s in a batch vs {alone:.3f} s for a standalone "
                  f"`grader check`, cold (an empty cache; median of {args.repeat}): {ratio:.3f} "
                  f"(target: at most 0.25) "
                  f"-> {'OK' if ratio <= 0.25 else 'OVER TARGET'}")
        if args.started:
            folder = submissions(work / "started", "ex01", args.started)
            off = dict(env, GRADER_FORK_SERVER="0")
            runs = {jobs: run_batch(folder, "ex01", jobs, off) for jobs in (1, 2)}
            with_server = rates["ex01"]
            print(f"\nex01 without the fork server ({args.started} submissions, GRADER_FORK_SERVER=0):")
            for jobs, r in runs.items():
                print(f"  --jobs {jobs}: {r['steady']:.2f} submissions/s steady "
                      f"(with the fork server: {with_server[jobs]['steady']:.2f}/s, "
                      f"{with_server[jobs]['steady'] / r['steady']:.2f}x)")
            print(f"  speed-up, 2 jobs over 1: {runs[2]['steady'] / runs[1]['steady']:.2f}x")
        folder = submissions(work / "memory", "ex01", args.memory)
        m = run_batch(folder, "ex01", 2, env, measure_memory=True)
        print(f"\nmemory: a batch of {m['n']} ex01 submissions, --jobs 2, {m['wall']:.1f} s: peak resident "
              f"memory of the process tree {m['peak'] / 2**20:.0f} MiB (largest single process "
              f"{m['peak_one'] / 2**20:.0f} MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
