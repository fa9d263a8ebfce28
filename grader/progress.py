"""A progress line with a rate and an ETA, for long runs (`grader batch`).

On a terminal it redraws one line; elsewhere (a CI log, a file) it prints a
line every tenth of the way or every 30 seconds, whichever comes first.
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
    def __init__(self, total: int, stream=None, enabled: bool = True, label: str = "graded"):
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self.done = 0
        self.start = time.monotonic()
        self._last_print = 0.0
        self._last_step = -1
        self._first: float | None = None

    def eta(self) -> float | None:
        """Seconds left at the average rate so far (None before the first item)."""
        if self.done == 0:
            return None
        now = time.monotonic()
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

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done = min(self.total, self.done + n)
        if self._first is None:
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

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
