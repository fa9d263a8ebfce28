"""What a worker process runs with: its files, its interpreter, its environment.

Shared by the two ways a worker starts (``launch.start`` starting one, and
the fork server of ``forkserver.py``), so both give the student the same
process: the same files on ``sys.path``, the same variables, the same paths
readable under Landlock.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# The worker's own code: standard library and NumPy only, no grader package.
FILES = ("worker.py", "wire.py", "confine.py", "seccomp.py")


_private: tuple[int, Path] | None = None
_OWNER = "owner.lock"  # in each private folder: locked (flock) by the grader process that owns it
_owner_fds: list[int] = []


def private_folder() -> Path:
    """This grader process's own folder (mode 0700) for its sandboxes and fork
    server: not the shared temporary folder, where one student's process could
    watch for, or change the permissions of, another student's sandbox.

    The folder holds a file the owner keeps locked (``flock``) for its whole
    life: the kernel drops the lock when the process dies, however it dies
    (``kill -9``, the OOM killer), so the next grader to start removes the
    folders left by dead ones (:func:`remove_stale_folders`) and never one
    whose owner is alive, whatever its pid namespace."""
    global _private
    if _private is None or _private[0] != os.getpid() or not _private[1].is_dir():
        if _private is None or _private[0] != os.getpid():
            remove_stale_folders()
        path = Path(tempfile.mkdtemp(prefix="grader-"))
        fd = os.open(path / _OWNER, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()}\n".encode())
        _owner_fds.append(fd)  # held until the process ends
        _private = (os.getpid(), path)
        atexit.register(_remove_private, os.getpid(), path)
        # A job of a process pool (``grader check --all``) ends through
        # multiprocessing, which skips atexit but runs its own finalizers.
        from multiprocessing import util

        util.Finalize(None, _remove_private, args=(os.getpid(), path), exitpriority=0)
    return _private[1]


def _remove_private(owner: int, path: Path) -> None:
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_folders(parent: str | None = None) -> list[Path]:
    """Remove the private folders (and cgroups) that graders which died left
    behind; return the folders removed. A folder counts as stale only if it is
    this user's own 0700 folder named ``grader-*`` holding an owner file
    (:func:`private_folder`) that nobody holds locked: other folders with that
    prefix (notebooks, CI clones), another user's and a live grader's are left
    alone."""
    removed = []
    parent = parent or tempfile.gettempdir()
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith("grader-"):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
                continue
            fd = os.open(os.path.join(entry.path, _OWNER), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Empty: its owner has created the file but not yet locked it (it
            # writes its pid once it holds the lock), unless that was long ago.
            info = os.fstat(fd)
            if info.st_size == 0 and time.time() - info.st_mtime < 60:
                continue
        except OSError:
            continue  # its owner is alive
        finally:
            os.close(fd)
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    from grader.sandbox import cgroups

    cgroups.remove_stale()
    return removed


_lifeline: tuple[int, int, int] | None = None  # (owner pid, read end, write end)


def lifeline() -> int:
    """The read end of a pipe whose write end only this process holds: every
    sandbox gets it, and its relay kills the sandbox when it reads end of file,
    that is when this grader process has ended, however it ended."""
    global _lifeline
    if _lifeline is None or _lifeline[0] != os.getpid():
        read, write = os.pipe2(os.O_CLOEXEC)
        _lifeline = (os.getpid(), read, write)
    return _lifeline[1]


def view_mountpoint() -> Path:
    """An empty folder, the same for every sandbox of this process, on which each
    worker mounts its own view in its own mount namespace (so the folder stays
    empty here, and removing a sandbox removes no mount point)."""
    path = private_folder() / "view"
    path.mkdir(mode=0o755, exist_ok=True)
    return path


def sandbox_ids() -> tuple[int, int]:
    """The uid and gid a worker runs as outside its namespaces: nobody when the
    grader is root; otherwise the grader's own (all it may map), nobody inside."""
    from grader.sandbox.confine import NOBODY

    return (NOBODY, NOBODY) if os.getuid() == 0 else (os.getuid(), os.getgid())


def python() -> str:
    """The real interpreter: a virtual environment's site-packages is not wanted."""
    base = getattr(sys, "_base_executable", None)
    return base if base and os.path.exists(base) else sys.executable


def _numpy_dir() -> Path:
    return Path(importlib.util.find_spec("numpy").submodule_search_locations[0])


def prepare(root: Path) -> tuple[Path, Path]:
    """Create ``root/runtime`` (the worker's code) and ``root/site`` (NumPy, and
    nothing else from site-packages: no torch, no grader, no solutions)."""
    runtime, site = root / "runtime", root / "site"
    runtime.mkdir()
    for name in FILES:
        shutil.copy(_HERE / name, runtime / name)
    site.mkdir()
    numpy_dir = _numpy_dir()
    for sibling in (numpy_dir, numpy_dir.parent / "numpy.libs"):
        if sibling.exists():
            os.symlink(sibling, site / sibling.name)
    return runtime, site


# What the dynamic loader and the C library read from /etc; nothing else there.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
_SYSTEM_TREES = ("/usr", "/lib", "/lib64", "/lib32", "/bin")


@functools.lru_cache(maxsize=1)
def readable_paths() -> list[str]:
    """What a worker may read besides its runtime and work folders: the
    interpreter, the standard library, NumPy and the system's libraries
    (facts of this installation: looked up once)."""
    return sorted(set(_runtime_trees()) | set(_SYSTEM_TREES) | set(_ETC_FILES) | set(DEVICES))


def _runtime_trees() -> list[str]:
    numpy_dir = _numpy_dir().resolve()
    return [os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix),
            str(numpy_dir), str(numpy_dir.parent / "numpy.libs"),
            os.path.dirname(os.path.realpath(python()))]


def hidden_package_dirs(trees: list[str]) -> list[str]:
    """The site-packages and dist-packages folders inside ``trees``: other
    installed packages (scipy, torch, the grader itself) that a worker must not see."""
    found = set()
    patterns = ("lib*/python3*/site-packages", "lib*/python3*/dist-packages", "lib/python3/dist-packages",
                "local/lib*/python3*/site-packages", "local/lib*/python3*/dist-packages")
    for tree in trees:
        for pattern in patterns:
            found.update(str(p) for p in Path(tree).glob(pattern) if p.is_dir() and not p.is_symlink())
    return sorted(found)


def view(extra_read: list[str], work: Path, root: Path, uid: int, gid: int,
         disk_mb: int | None = None, disk_files: int | None = None) -> dict:
    """The filesystem a worker sees (see ``confine.isolate``): the runtime, the
    system's libraries and ``extra_read`` read-only, ``work`` writable, built on
    the empty folder ``root``, every other package folder hidden. ``extra_read``
    holds the grader's own folders (the worker's runtime): no packages there.
    With ``disk_mb``, ``work`` is a tmpfs of that size and ``disk_files``
    inodes holding a copy of the folder's files (the student's quota)."""
    read, links, hide, devices = _system_view()
    extra = sorted({os.path.realpath(p) for p in extra_read if os.path.exists(p)} - set(read))
    return {"read": list(read) + extra, "write": [str(work)], "devices": list(devices),
            "hide": list(hide), "links": [list(link) for link in links],
            "root": str(root), "cwd": str(work), "uid": uid, "gid": gid,
            "disk_mb": disk_mb, "disk_files": disk_files or 4096}


@functools.lru_cache(maxsize=1)
def _system_view() -> tuple[tuple, tuple, tuple, tuple]:
    """The part of every view that depends only on this installation (looked up once)."""
    read, links = set(), []
    for path in _runtime_trees() + list(_SYSTEM_TREES) + list(_ETC_FILES):
        if os.path.islink(path) and os.path.dirname(path) == "/":
            links.append((path, os.readlink(path)))  # /lib -> usr/lib stays a link
        elif os.path.exists(path):
            read.add(os.path.realpath(path))
    hide = hidden_package_dirs(sorted(read))
    # A path inside another is already bound with it (the interpreter's bin/ in
    # its prefix, /etc/localtime's zone file in /usr), unless a hidden folder
    # lies in between (NumPy in a base Python's site-packages): one mount less
    # per sandbox for each.
    read = tuple(sorted(p for p in read if _under(p, hide) or not _under(p, read)))
    return read, tuple(links), tuple(hide), tuple(d for d in DEVICES if os.path.exists(d))


def _under(path: str, folders) -> bool:
    """Whether ``path`` lies strictly inside one of ``folders``."""
    return any(path.startswith(folder.rstrip("/") + "/") for folder in folders)


def environment(home: Path) -> dict[str, str]:
    """The whole environment of a worker whose scratch folder is ``home``."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8:backslashreplace",
        # One BLAS thread: predictable memory under RLIMIT_AS and timings
        # comparable with the single-threaded baseline.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
