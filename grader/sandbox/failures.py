"""What the student reads when a call fails: every cause the sandbox gives, in one place.

A failed call becomes a :class:`StudentError` with a one-line ``cause`` a
student can act on and, apart, the student's own text (traceback, output)
sanitised and quoted under a label that says whose it is (``details``). The
worker's error report is read as untrusted data (``error_of``): a worker the
student's code took over can send anything. Nothing here starts, kills or
reads a process: ``client.Sandbox`` decides when a failure happened and
replaces the worker where :data:`REPLACES_WORKER` says so.
"""

from __future__ import annotations

import signal
from typing import Any

from grader.sandbox import mapscan
from grader.sandbox.limits import Limits
from grader.text import lines, one_line, quote, sanitize

# Kinds of failure after which the worker is replaced: a fresh one starts with
# an empty output file and work folder, and its whole memory again.
REPLACES_WORKER = frozenset({"exit", "memory", "disk", "output"})


class StudentError(Exception):
    """The student's code failed in a way that costs the current check.

    ``cause`` is one line a student can act on; ``details`` holds the
    student's own traceback lines or output, already sanitised.
    """

    def __init__(self, cause: str, details: str = "", kind: str = "error"):
        super().__init__(cause)
        self.cause = cause
        self.details = details
        self.kind = kind

    def __str__(self) -> str:
        return self.cause + ("\n" + self.details if self.details else "")


def error_of(reply: dict) -> dict:
    """The worker's error report as a dict of strings (whatever a subverted worker sent)."""
    err = reply.get("error")
    if type(err) is not dict:
        return {}
    return {k: (v if type(v) is str else None if v is None else str(v)[:1000]) for k, v in err.items()
            if type(k) is str}


def exception_line(type_name: Any, message: Any) -> str:
    """'Type: first line of the message', both the student's: one line of a cause."""
    text = one_line(type_name or "an error", 100)
    msg = lines(sanitize(str(message or ""), 300).strip())
    return text + (f": {msg[0]}" if msg else "")


def details(err: dict, output: str) -> str:
    """The student's own text (traceback, a message of several lines, what it
    printed), each part quoted under a label that says whose it is."""
    message = sanitize(str(err.get("message") or ""), 2000).strip()
    if output and len(output) > 1500:
        output = output[:1500] + f"\n... ({len(output) - 1500} more characters)"
    parts = [quote("Traceback (your code):", str(err.get("trace") or ""), 3000),
             quote("Your exception's full message:", message) if "\n" in message else "",
             quote("Your code printed:", output or "")]
    return "\n".join(p for p in parts if p)


def disk_full(limits: Limits, quota: bool) -> str:
    """Why a write failed with ENOSPC/EDQUOT: the work folder's quota, or (without one) the disk."""
    if quota:
        return (f"wrote more than {limits.disk_mb} MB (or {limits.disk_files} files) "
                "into its folder, all it may write")
    return "filled the disk (no space left on device)"


def error_from(err: dict, func: str, output: str, display_name: str, limits: Limits, quota: bool) -> StudentError:
    """The failure of a call of ``func`` that the worker reported (``err``: see :func:`error_of`)."""
    kind = err.get("kind")
    text = details(err, output)
    if kind == "missing":
        return StudentError(
            f"{display_name} has no function `{func}` (check the spelling, and that "
            f"it is defined at the top level of the file)", details({}, output), kind="missing")
    if kind == "not_callable":
        return StudentError(f"`{func}` in {display_name} is a {one_line(err.get('message'), 200)}, "
                            "not a function", details({}, output), kind="missing")
    if err.get("type") == "NotebookFunctionMissing":  # raised by the module grader made of a notebook
        cause = sanitize(str(err.get("message") or ""), 500).strip().splitlines() or ["not defined"]
        return StudentError(f"`{func}` cannot be graded: {cause[0]}", details({}, output), kind="missing")
    if err.get("type") == "NotImplementedError":
        return StudentError(f"`{func}` is not implemented yet (it raises NotImplementedError)",
                            details({}, output), kind="not_implemented")
    if kind == "exit":
        return StudentError(f"`{func}` called {one_line(err.get('message'), 200)}: graded functions must return a "
                            f"value, not exit", text, kind="exit")
    if kind == "memory":
        return StudentError(f"`{func}` ran out of memory (the limit is {limits.memory_mb} MB)",
                            text, kind="memory")
    if kind == "disk":
        return StudentError(f"`{func}` {disk_full(limits, quota)}", text, kind="disk")
    if kind == "output":
        return StudentError(f"`{func}` wrote more than the {limits.output_kb} KB output limit "
                            f"(printing in a loop?)", "", kind="output")
    if kind == "recursion":
        return StudentError(f"`{func}` recursed too deeply (RecursionError)", text, kind="recursion")
    if kind == "encode":
        return StudentError(f"`{func}` returned a value that could not be read: "
                            f"{exception_line(err.get('type'), err.get('message'))}", text, kind="type")
    if kind == "protocol":
        return StudentError(f"the process running your code could not run `{func}`", text)
    if kind == "inputs":
        return StudentError(f"the process running your code could not take the inputs of `{func}`: "
                            f"{exception_line(err.get('type'), err.get('message'))}", text, kind="inputs")
    return StudentError(f"`{func}` raised {exception_line(err.get('type'), err.get('message'))}",
                        text, kind="exception")


def import_error(err: dict, output: str, display_name: str, limits: Limits, quota: bool) -> StudentError:
    """The student's file failed while the worker imported it (``err``: see :func:`error_of`)."""
    reason = {
        "output": f"it wrote more than the {limits.output_kb} KB output limit",
        "memory": f"it ran out of memory (the limit is {limits.memory_mb} MB)",
        "disk": f"it {disk_full(limits, quota)}",
        "exit": f"it called {one_line(err.get('message'), 200)} at import time",
    }.get(err.get("kind"), exception_line(err.get("type"), err.get("message")))
    return StudentError(f"{display_name} could not be imported: {reason}", details(err, output), kind="import")


def died(code: int | None, what: str, output: str, limits: Limits) -> StudentError:
    """The worker ended (exit status ``code``; None: it did not end, it stopped answering) during ``what``."""
    if code is None:
        cause = f"the process running your code stopped answering during {what}"
    elif code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        reason = {
            signal.SIGXFSZ: f"it wrote more than the {limits.output_kb} KB output limit",
            signal.SIGXCPU: f"it used more than {limits.total_seconds:g} s of CPU time",
            signal.SIGKILL: "killed; out of memory, or killed by your code itself",
            signal.SIGSEGV: "a segmentation fault; out of memory or stack, or a crash in native code",
        }.get(sig, "a signal sent by your code or the system")
        cause = f"the process running your code died during {what} ({name}: {reason})"
    else:
        cause = (f"your code ended the process during {what} (exit status {code}): "
                 f"graded functions must return a value, not exit")
    return StudentError(cause, details({}, output), kind="died")


def out_of_memory(what: str, output: str, limits: Limits) -> StudentError:
    # The kernel ended a process of the sandbox at its memory cgroup's
    # limit: the sandbox's processes together used all of memory_mb.
    return StudentError(f"your code ran out of memory during {what}: the sandbox's {limits.memory_mb} MB "
                        f"are for all its processes together, and the kernel ended one of them",
                        details({}, output), kind="memory")


def budget_error(limits: Limits) -> StudentError:
    return StudentError(
        f"not run: your code used up this exercise's time budget ({limits.total_seconds:g} s in all)",
        kind="budget")


def timed_out(what: str, limits: Limits, per_call: bool, output: str) -> StudentError:
    """``what`` ran past its limit: the call's own (``per_call``) or the exercise's budget left."""
    limit = f"{limits.call_seconds:g} s limit per call" if per_call \
        else f"time budget of {limits.total_seconds:g} s for this exercise"
    return StudentError(
        f"{what} did not finish within the {limit} (an endless loop, or far too slow?)",
        details({}, output),
        kind="timeout",
    )


def not_run_again(func: str, check_name: str, limits: Limits) -> str:
    """The cause given to every later call of a function that timed out once."""
    where = f" in {check_name}" if check_name else ""
    return f"`{func}` not run again: it timed out{where} ({limits.call_seconds:g} s)"


def inputs_refused(what: str, exc: Exception, output: str) -> StudentError:
    return StudentError(f"the process running your code could not be given the inputs of {what}: "
                        f"{exc}", output, kind="died")


def reply_too_large(limits: Limits) -> StudentError:
    return StudentError(f"your code returned more data than the grader accepts in one reply "
                        f"({limits.reply_mb:g} MB)", kind="reply")


def garbage(what: str, exc: Exception) -> StudentError:
    return StudentError(f"the process running your code sent garbage during {what} "
                        f"({one_line(str(exc), 200)})")


def unreadable_value(func: str, exc: Exception) -> StudentError:
    # Only a worker that the student's code took over sends such things.
    return StudentError(f"`{func}` returned something the grader cannot read "
                        f"({one_line(str(exc), 200)})")


def not_checked(scan: mapscan.Scan, what: str, limits: Limits, budget_spent: bool) -> StudentError:
    """The sandbox's memory maps could not be read in full after ``what``: no pass (it fails closed)."""
    if scan.late and budget_spent:
        return StudentError(f"your code used up this exercise's time budget ({limits.total_seconds:g} s "
                            f"in all) with {what} and the grader's check of its processes after it",
                            kind="budget")
    why = ("more processes than the sandbox allows" if scan.too_many else
           f"a process with more than {mapscan.MAX_MAPS_BYTES >> 20} MB of memory maps"
           if scan.too_large is not None else
           f"memory maps that took more than {limits.call_seconds:g} s to read")
    return StudentError(f"after {what}, your code's processes could not be checked for forbidden "
                        f"libraries ({why}): the check is not granted", kind="forbidden")


def forbidden(package: str, what: str) -> StudentError:
    return StudentError(
        f"your code loaded {package} during {what}: this exercise must be written "
        f"with NumPy only", kind="forbidden")
