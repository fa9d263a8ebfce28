"""A progress line with a rate and an ETA, for long runs (`grader batch`).

On a terminal it redraws one line; elsewhere (a CI log, a file) it prints a
line every tenth of the way or every 30 seconds, whichever comes first.

The ETA counts the items still running: told when each starts
(:meth:`Progress.started`) and how many run at once (``slots``), it adds
what each running item should still take (the mean time of an item, less
what it has run) to the items still queued, spread over the slots.
"""

from __future__ import annotations

import shutil
import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0) + 0.5)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class Progress:
    def __init__(self, total: int, stream=None, enabled: bool = True, label: str = "graded",
                 slots: int = 1):
        self.total = total
        self.slots = max(1, int(slots))
        self.running: dict = {}  # key -> when it started
        self.durations: list[float] = []  # of the items that finished after a known start
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self.done = 0
        self.start = time.monotonic()
        self._last_print = 0.0
        self._last_step = -1
        self._first: float | None = None

    def started(self, key) -> None:
        """Item ``key`` started now (it takes a slot until :meth:`advance` is called with it)."""
        self.running[key] = time.monotonic()

    def eta(self) -> float | None:
        """Seconds left (None before the first item finishes)."""
        if self.done == 0:
            return None
        now = time.monotonic()
        if self.durations:
            mean = sum(self.durations) / len(self.durations)
            left_running = [max(mean - (now - t), 0.0) for t in self.running.values()]
            queued = max(self.total - self.done - len(self.running), 0)
            work = sum(left_running) + queued * mean
            # Never less than the slowest running item needs, nor than the work spread over the slots.
            return max(max(left_running, default=0.0), work / self.slots)
        if self.done >= 3 and self._first is not None and now > self._first:
            # The steady rate since the first item: start-up (imports) is not paid again.
            return (now - self._first) / (self.done - 1) * (self.total - self.done)
        return (now - self.start) / self.done * (self.total - self.done)

    def line(self, note: str = "") -> str:
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = self.eta()
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        text = (f"[{bar}] {self.done}/{self.total} {self.label} ({100 * self.done / self.total:.0f}%) "
                f"{rate:.2f}/s elapsed {_clock(elapsed)} ETA {_clock(eta) if eta is not None else '?'}")
        return text + (f"  {note}" if note else "")

    def advance(self, n: int = 1, note: str = "", key=None) -> None:
        self.done = min(self.total, self.done + n)
        if key in self.running:
            self.durations.append(time.monotonic() - self.running.pop(key))
        if self._first is None and n > 0:  # (advance(0) only draws the line)
            self._first = time.monotonic()
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + self.line(note)[: columns - 1].ljust(columns - 1))
            self.stream.flush()
            return
        step = int(10 * self.done / self.total)
        if step != self._last_step or now - self._last_print >= 30 or self.done == self.total:
            self._last_step, self._last_print = step, now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def close(self, erase: bool = False) -> None:
        """End the line on a terminal (``erase``: blank it instead, for output that follows)."""
        if self.enabled and self.tty:
            if erase:
                columns = shutil.get_terminal_size((100, 20)).columns
                self.stream.write("\r" + " " * (columns - 1) + "\r")
            else:
                self.stream.write("\n")
            self.stream.flush()
