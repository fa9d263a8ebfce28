"""What a student's process may do: its resource limits and the packages it
may not import. Apart from the sandbox itself (no NumPy), so that reading an
exercise's metadata stays cheap."""

from __future__ import annotations

from dataclasses import dataclass

# NumPy only: the deep-learning frameworks, and the libraries that would do the
# exercise for the student (scipy.special.expit, softmax, convolve2d; sklearn).
DEFAULT_FORBIDDEN = ("torch", "tensorflow", "jax", "jaxlib", "cupy", "mxnet", "paddle", "scipy", "sklearn",
                     "numba")


@dataclass
class Limits:
    """Resource limits for one student process; the defaults suit the course."""

    call_seconds: float = 10.0
    total_seconds: float = 120.0
    memory_mb: int = 2048
    processes: int = 32
    output_kb: int = 1024
    open_files: int = 64
    # What the student's code may write into its work folder (its HOME and
    # TMPDIR), in all: a tmpfs of its own with the filesystem view (the
    # sandbox's memory cgroup counts it too). Files, in number of inodes.
    disk_mb: int = 64
    disk_files: int = 2048
    # The largest reply the grader reads from the student's process. The course's
    # largest (ex05) is 32 KB; past this the check fails, the worker is killed.
    reply_mb: float = 16

    @classmethod
    def from_dict(cls, data: dict | None) -> "Limits":
        data = dict(data or {})
        known = {k: data.pop(k) for k in list(data) if k in cls.__dataclass_fields__}
        if data:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(data))}")
        for name in ("disk_mb", "disk_files"):
            if name in known and (type(known[name]) is not int or known[name] < 1):
                raise ValueError(f"limit {name} must be a whole number of at least 1, not {known[name]!r}")
        return cls(**known)
