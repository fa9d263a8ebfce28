"""The ``grader`` command line.

Each subcommand lives in ``grader/commands/<name>.py``. Exit status: 0 when
the command ran (for ``check``: whatever the score); 1 when ``--fail-under`` is
given and not met (or a validation fails); 2 for a usage error or a fault of
the grader itself; 130 when interrupted (Ctrl-C, SIGTERM, SIGHUP). Never
non-zero because the student's code is bad.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # the command's start, for "N s in all" (imports included)

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from grader.commands import COMMANDS  # noqa: E402
from grader.exercises import ExerciseError, find_root  # noqa: E402


def _modules():
    return {name: importlib.import_module(f"grader.commands.{name}") for name in COMMANDS}


def _parser(modules) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade NumPy deep-learning exercises against PyTorch.")
    parser.add_argument("--root", type=Path, help="the course folder (holding exercises/); default: found from here")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in modules.values():
        module.add_parser(sub)
    return parser


def _interrupted(signum, frame):
    raise KeyboardInterrupt  # so that the same clean-up runs (sandboxes, batch jobs) as for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    # NumPy's OpenBLAS starts a thread per core that spins for a tenth of a
    # second after the import: on a 2-core laptop, a core taken from the
    # grading jobs and the student's processes for nothing (the grader's own
    # arrays are small; the student's processes run with one thread too).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    modules = _modules()
    parser = _parser(modules)
    args = parser.parse_args(argv)
    try:
        module = modules[args.command]
        # A command that reads only its own input (grader report) runs outside any course folder.
        root = args.root.resolve() if args.root else find_root() if getattr(module, "NEEDS_ROOT", True) else None
        return module.run(args, root, parser)
    except ExerciseError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
