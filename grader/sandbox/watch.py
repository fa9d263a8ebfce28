"""What the grader sees of a sandbox from outside: its processes, and the libraries they loaded.

Everything here is read by the trusted side from /proc and the cgroup, never
taken from the worker's word: which process runs the student's code (behind
the relay and the namespace's init, see confine.py), every process the
sandbox holds (to stop, resume or scan them), and whether their memory maps
(read by ``mapscan.py``) show a forbidden framework. ``client.Sandbox``
decides when to look and charges the looking to the student's budget.
"""

from __future__ import annotations

import os

from grader.sandbox import forkserver

# Shared libraries that betray a forbidden framework in the worker's memory (or
# a child's), however it was loaded; bytes, as the memory maps are read. Folder
# names, not bare names: NumPy's own wheels ship a "libscipy_openblas".
FORBIDDEN_LIBRARIES = {
    "torch": (b"libtorch", b"libc10", b"torch/_C"),
    "tensorflow": (b"libtensorflow", b"_pywrap_tensorflow"),
    "jax": (b"jaxlib", b"xla_extension"),
    "jaxlib": (b"jaxlib", b"xla_extension"),
    "cupy": (b"cupy",),
    "mxnet": (b"libmxnet",),
    "paddle": (b"libpaddle",),
    "scipy": (b"/scipy/", b"/scipy.libs/"),
    "sklearn": (b"/sklearn/", b"/scikit_learn.libs/"),
    "numba": (b"/numba/", b"/llvmlite/", b"libllvmlite"),
}


def forbidden_loaded(files: list[bytes], forbidden: tuple[str, ...]) -> str | None:
    """The first package of ``forbidden`` whose libraries are among the mapped ``files``."""
    # Each marker is looked for in the few dozen distinct file names, not in
    # every line of the maps (a scan that cost more than the call itself).
    maps = b"\n".join(files)
    for package in forbidden:
        if any(marker in maps for marker in FORBIDDEN_LIBRARIES.get(package, ())):
            return package
    return None


def find_worker(relay: int) -> tuple[int | None, int | None]:
    """(the namespace's init, the worker) behind the ``relay`` started with a view, from /proc."""
    init = only_child(relay)
    return init, (only_child(init) if init else None)


def sandbox_processes(student: int, cgroup: str | None, relay_and_init: set, most: int = 256) -> list[int]:
    """The ``student``'s process, its descendants, and (with a ``cgroup``) every process in it.

    The relay and the namespace's init never run student code (see confine.py):
    only the worker and what it started are looked at."""
    pids = [student]
    if cgroup:
        try:
            with open(os.path.join(cgroup, "cgroup.procs")) as f:
                pids += [int(p) for p in f.read().split() if int(p) not in pids and int(p) not in relay_and_init]
        except (OSError, ValueError):
            pass
    i = 0
    while i < len(pids) and len(pids) < most:
        try:
            tasks = os.listdir(f"/proc/{pids[i]}/task")
        except OSError:
            tasks = []
        for task in tasks:
            try:
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids += [int(p) for p in f.read().split() if int(p) not in pids]
            except (OSError, ValueError):
                pass
        i += 1
    return pids[:most]


def signal_all(group: int | None, pids: list[int], sig: int) -> None:
    """Send ``sig`` to the process ``group`` (None: none) and to each of ``pids``, whichever are left."""
    if group is not None:
        try:
            os.killpg(group, sig)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def only_child(parent: int) -> int | None:
    """The first child of ``parent`` (the relay and the init each fork once;
    the init's later children are the student's orphans, with later pids)."""
    for pid in range(parent + 1, parent + 16):  # usually the very next pids
        if forkserver.parent_of(pid) == parent:
            return pid
    children = []
    try:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and forkserver.parent_of(int(entry.name)) == parent:
                children.append(int(entry.name))
    except OSError:
        return None
    return min(children) if children else None


def user_process_count() -> int:
    """How many processes this user runs now (256 when /proc cannot be read)."""
    uid = os.getuid()
    count = 0
    try:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if entry.stat().st_uid == uid:
                        count += 1
                except OSError:
                    pass
    except OSError:
        return 256
    return count
