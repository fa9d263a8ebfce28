"""The grader's look, after every call, at what the sandbox's processes have mapped.

Reading ``/proc/PID/maps`` costs the grader time in proportion to the number of
mappings, and a student decides that number (30 processes of 60 000 mappings
each made every call's scan take seconds). So the scan is bounded, and fails
closed: a process whose maps are larger than any honest worker's, more
processes than the sandbox may have, or a scan that runs past the time the
student has left, make the call fail (the grader cannot say that no forbidden
library was loaded, so it does not grant the check). The time the scan took is
charged to the student's budget by the caller (``client.Sandbox``).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

# An honest worker maps about 600 files (Python, NumPy, OpenBLAS): 80 KB of
# maps. Past this, a process is refused rather than read further.
MAX_MAPS_BYTES = 2 << 20
_CHUNK = 1 << 16
_MAPPED_PATH = re.compile(rb" (/.*)")


@dataclass
class Scan:
    """What a scan found: the distinct mapped files, or why it stopped."""

    files: set[bytes] = field(default_factory=set)
    too_large: int | None = None  # a pid whose maps exceed MAX_MAPS_BYTES
    too_many: bool = False  # more processes than the sandbox may have
    late: bool = False  # the deadline passed
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.too_large is None and not self.too_many and not self.late


def scan(pids: list[int], most: int, deadline: float, max_bytes: int = MAX_MAPS_BYTES) -> Scan:
    """The files mapped by ``pids`` (at most ``most`` processes), read before
    ``deadline`` (``time.monotonic()``), at most ``max_bytes`` of maps each."""
    start = time.monotonic()
    result = Scan()
    if len(pids) > most:
        result.too_many = True
    for pid in pids[:most]:
        if time.monotonic() > deadline:
            result.late = True
            break
        data = _read_maps(pid, max_bytes, deadline)
        if data is None:
            result.too_large = pid
            break
        if data is False:
            result.late = True
            break
        # A line is "address perms offset dev inode path": no field before the path
        # holds a "/", so a file's path (spaces and all) starts at the line's first " /".
        result.files.update(_MAPPED_PATH.findall(data))
    result.seconds = time.monotonic() - start
    return result


def mapped_files(pid: int) -> set[bytes]:
    """The distinct files mapped in process ``pid`` (empty if it cannot be read)."""
    data = _read_maps(pid, MAX_MAPS_BYTES, float("inf"))
    return set(_MAPPED_PATH.findall(data)) if data else set()


def _read_maps(pid: int, max_bytes: int, deadline: float):
    """The bytes of ``/proc/PID/maps``; b"" when the process is gone; None when
    longer than ``max_bytes``; False when ``deadline`` passed meanwhile. Bytes,
    not text: decoding was a tenth of the check's cost."""
    try:
        fd = os.open(f"/proc/{pid}/maps", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b""
    chunks, size = [], 0
    try:
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                return None
            if time.monotonic() > deadline:
                return False
    except OSError:
        pass  # the process ended meanwhile: what was read is checked
    finally:
        os.close(fd)
    return b"".join(chunks)
