"""The ``grader`` command line.

Each subcommand lives in ``grader/commands/<name>.py``. Exit status: 0 when
the command ran (for ``check``: whatever the score); 1 when ``--fail-under`` is
given and not met (or a validation fails); 2 for a usage error or a fault of
the grader itself; 130 when interrupted (Ctrl-C, SIGTERM, SIGHUP); 141 when
standard output was closed before the report was written (``grader check
ex01 | head -2``): it stops quietly, as ``cat`` or ``grep`` do (killed by
SIGPIPE, which a shell shows as 141). Never non-zero because the student's
code is bad.
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
        if getattr(module, "USES_GRADER_SEED", False) and getattr(args, "seed", None) is None:
            _warn_about_a_weak_seed()
        # A command that reads only its own input (grader report) runs outside any course folder.
        root = args.root.resolve() if args.root else find_root() if getattr(module, "NEEDS_ROOT", True) else None
        status = module.run(args, root, parser)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return status
    except BrokenPipeError:
        if not _stdout_is_closed():
            raise  # another pipe (a fault of the grader's own): not the reader going away
        return _stdout_closed()
    except ExerciseError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130


def _warn_about_a_weak_seed() -> None:
    """Every command that grades with ``$GRADER_SEED`` warns, once, when it is short."""
    from grader.commands._options import weak_env_seed_warning

    warning = weak_env_seed_warning()
    if warning:
        print(f"grader: {warning}", file=sys.stderr)


def _stdout_is_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (true where that cannot be told)."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def _stdout_closed() -> int:
    """Standard output was closed early (a pipe into ``head``): stop quietly with 141, as a
    command killed by SIGPIPE; what is left to write goes nowhere (no second error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 128 + signal.SIGPIPE
