"""Operating-system isolation for the student process, best available first.

Planned here, in the grader; applied by the worker process to itself before any
student code runs (``confine.apply``: between fork and exec, or in a child of
the fork server):

1. Namespaces and a filesystem view (``confine.isolate``): new mount, PID,
   IPC, network and UTS namespaces (and a user namespace when the grader is
   not root). The worker sees only an allow-list of files (the Python runtime,
   NumPy, the system's libraries, its work folder), every other package folder
   hidden; it runs as nobody (or as the grader's own unprivileged user, mapped
   to nobody inside) with no groups and no capabilities; every process it
   starts, and its SysV/POSIX IPC objects, end with it. Where the kernel
   refuses that, a user and network namespace alone, as before.
2. Landlock (Linux >= 5.13, unprivileged): the process may read only the
   Python runtime, NumPy and system libraries, and write only inside its own
   scratch directory, so the course checkout (graders, metadata, the hidden
   ``solutions/``) is neither readable nor writable; from ABI 4 it may not open
   TCP connections; from ABI 6 it may not signal processes outside its domain
   (the grader), and Landlock always forbids it to ptrace them.
3. A seccomp filter (``seccomp.py``): no kernel keyrings, io_uring, new
   namespaces, ptrace, bpf, mounts..., no other ABI; and a fresh session
   keyring, so nothing of the grader's is inherited.

Where a mechanism is missing the sandbox degrades to the ones that remain
(rlimits, its own session, a scrubbed environment) and :func:`describe` says so.
"""

from __future__ import annotations

import ctypes
import os
import platform
from dataclasses import dataclass

from grader.sandbox import cgroups, confine, seccomp
from grader.sandbox.confine import CLONE_NEWNET, CLONE_NEWUSER

# Layer names in reports; a gradebook flags a sandbox without any of them (batch.gradebook).
VIEW_LAYER = "mount+pid+ipc+network namespaces"
LANDLOCK_LAYER = "landlock"
SECCOMP_LAYER = "seccomp filter"

_SYS_CREATE, _SYS_ADD_RULE = 444, 445  # same on x86_64 and aarch64

# Filesystem access rights, by the ABI version that introduced them.
_FS_V1 = (1 << 13) - 1  # execute .. make_sym
_FS = {1: _FS_V1, 2: _FS_V1 | 1 << 13, 3: _FS_V1 | 1 << 13 | 1 << 14}
_FS_ALL_LATEST = _FS_V1 | 1 << 13 | 1 << 14 | 1 << 15
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_TRUNCATE, _IOCTL_DEV = 1 << 14, 1 << 15
_NET_ALL = 0b11  # bind and connect TCP
_SCOPE_ALL = 0b11  # abstract unix sockets and signals


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when unavailable."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    try:
        version = _libc().syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


@dataclass
class Plan:
    """What the child applies; built in the parent, where errors can be reported."""

    ruleset_fd: int | None
    abi: int
    namespaces: bool
    landlock: bool = False
    cgroup: str | None = None
    view: dict | None = None  # for confine.isolate; None: no namespaces of that kind here
    seccomp: bool = False  # confine.apply installs seccomp.py's filter
    memcg: str | None = None  # the memory cgroup (cgroups.py); the same path as cgroup on v2
    memory_mb: int | None = None

    def cgroup_paths(self) -> list[str]:
        """The cgroups each process of the sandbox joins (one on v2, one per hierarchy on v1)."""
        return list(dict.fromkeys(p for p in (self.cgroup, self.memcg) if p))

    def __post_init__(self) -> None:
        self.landlock = self.ruleset_fd is not None

    def features(self) -> list[str]:
        found = []
        if self.cgroup:
            found.append("pids cgroup")
        if self.memory_mb is not None:
            found.append(f"memory cgroup ({self.memory_mb} MB for the whole sandbox, no swap)" if self.memcg
                         else f"memory: {self.memory_mb} MB per process (no memory cgroup)")
        if self.view is not None and self.view.get("disk_mb"):
            found.append(f"work folder: tmpfs of {self.view['disk_mb']} MB, {self.view['disk_files']} files")
        elif self.view is None and self.memory_mb is not None:
            found.append("work folder: no quota (each file within output_kb)")
        if self.view is not None:
            found.append(f"{VIEW_LAYER} (filesystem view)")
            if os.getuid() != 0:
                found.append("own user namespace (nobody inside)")
            else:
                found.append("runs as nobody in its own user namespace" if self.view.get("userns")
                             else "runs as nobody")
        elif self.namespaces:
            found.append("user+network namespace")
        if self.landlock:
            parts = ["files"] + (["network"] if self.abi >= 4 else []) + (["signals"] if self.abi >= 6 else [])
            found.append(f"{LANDLOCK_LAYER} v{self.abi} ({', '.join(parts)})")
        if platform.system() == "Linux":
            found.append("own session keyring")
        if self.seccomp:
            found.append(f"{SECCOMP_LAYER} (keyrings, io_uring, namespaces, ptrace, bpf, mounts refused)")
        return found

    def close(self) -> None:
        if self.ruleset_fd is not None:
            try:
                os.close(self.ruleset_fd)
            except OSError:
                pass
            self.ruleset_fd = None


def plan(read_only: list[str], read_write: list[str], use_namespaces: bool = True,
         max_pids: int | None = None, view: dict | None = None, memory_mb: int | None = None) -> Plan:
    """Prepare a Landlock ruleset allowing ``read_only`` and ``read_write`` trees,
    a pids cgroup when ``max_pids`` is given and cgroups are writable, a memory
    cgroup of ``memory_mb`` for the whole sandbox where one can be made, and the
    filesystem ``view`` (``runtime.view``) when this kernel lets a worker build it."""
    abi = landlock_abi()
    fd = _ruleset(abi, read_only, read_write) if abi else None
    cgroup = make_pids_cgroup(max_pids) if max_pids else None
    memcg = cgroups.make_memory_cgroup(memory_mb << 20, cgroup) if memory_mb else None
    if view is not None and not (use_namespaces and view_works(view)):
        view = None
    if view is not None:
        view = dict(view, userns=_OWN_USER_NAMESPACE)
    if view is not None and fd is not None:
        # The work folder is a tmpfs the init mounts (not the grader's folder):
        # the worker adds it to this ruleset itself, with the rights handled here.
        view = dict(view, landlock_rights=_FS.get(abi, _FS_ALL_LATEST))
    return Plan(ruleset_fd=fd, abi=abi, namespaces=use_namespaces and _namespaces_work(), cgroup=cgroup,
                view=view, seccomp=seccomp.works(), memcg=memcg, memory_mb=memory_mb)


def _ruleset(abi: int, read_only: list[str], read_write: list[str]) -> int | None:
    libc = _libc()
    handled = _FS.get(abi, _FS_ALL_LATEST)
    attr = _RulesetAttr(handled, _NET_ALL if abi >= 4 else 0, _SCOPE_ALL if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        return None
    read = _EXECUTE | _READ_FILE | _READ_DIR
    for paths, rights in ((read_only, read), (read_write, handled)):
        for path in paths:
            if not os.path.exists(path):
                continue
            allowed = rights & handled
            if not os.path.isdir(path):  # a single file takes file rights only
                allowed &= _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            rule = _PathBeneath(allowed, pfd)
            ok = libc.syscall(_SYS_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
            os.close(pfd)
            if ok < 0:
                os.close(fd)
                return None
    return fd


_CGROUP_BASES = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")  # cgroup v1 pids controller, then v2
_cgroup_counter = 0


def make_pids_cgroup(max_pids: int) -> str | None:
    """A fresh cgroup whose ``pids.max`` bounds the student's processes (needs
    write access to the cgroup tree, as root in a container or CI job), else None.

    It also lists every process the student started, even those that left the
    process group with setsid(), so :func:`kill_cgroup` leaves none behind."""
    global _cgroup_counter
    for base in _CGROUP_BASES:
        if not os.path.exists(os.path.join(base, "cgroup.procs")):
            continue
        if base == "/sys/fs/cgroup":
            try:
                with open(os.path.join(base, "cgroup.subtree_control")) as f:
                    if "pids" not in f.read().split():
                        continue
            except OSError:
                continue
        _cgroup_counter += 1
        path = os.path.join(base, f"grader-{os.getpid()}-{_cgroup_counter}")
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(int(max_pids)))
            return path
        except OSError:
            try:
                os.rmdir(path)
            except OSError:
                pass
    return None


def open_cgroup_procs(path: str) -> int | None:
    """The cgroup's ``cgroup.procs``, opened for writing: the worker joins by
    writing its own pid there (see ``confine.apply``)."""
    try:
        return os.open(os.path.join(path, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return None


def kill_cgroup(path: str) -> None:
    """Kill every process in the cgroup, then remove it."""
    import signal
    import time

    for attempt in range(60):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                pids = [int(line) for line in f if line.strip()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(min(0.001 * (attempt + 1), 0.01))  # killed processes leave in about a millisecond
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.01)


_NAMESPACES_OK: bool | None = None
_VIEW_OK: bool | None = None
_OWN_USER_NAMESPACE = False  # a root grader's worker gets a user namespace of its own (see view_works)


def view_works(view: dict) -> bool:
    """Whether a worker can isolate itself with ``view`` here (tried once per
    process, with that view: a kernel or container that refuses a namespace,
    a mount or pivot_root makes the sandbox fall back, and say so). As root,
    tried first with the worker in a user namespace of its own, then without."""
    global _VIEW_OK, _OWN_USER_NAMESPACE
    if _VIEW_OK is None:
        _VIEW_OK = False
        if platform.system() == "Linux" and platform.machine() in confine._SYS_PIVOT_ROOT:
            for userns in (True, False) if os.getuid() == 0 else (False,):
                if _view_builds(dict(view, userns=userns)):
                    _VIEW_OK, _OWN_USER_NAMESPACE = True, userns
                    break
    return _VIEW_OK


def _view_builds(view: dict) -> bool:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            confine.isolate(view)
            code = 0 if os.getcwd() == view["cwd"] and not os.path.exists(__file__) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _namespaces_work() -> bool:
    """Whether this kernel lets a child unshare a user and network namespace (tried once)."""
    global _NAMESPACES_OK
    if _NAMESPACES_OK is None:
        if platform.system() != "Linux":
            _NAMESPACES_OK = False
        else:
            pid = os.fork()
            if pid == 0:
                code = 0 if _libc().unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 else 1
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            _NAMESPACES_OK = os.waitstatus_to_exitcode(status) == 0
    return _NAMESPACES_OK
