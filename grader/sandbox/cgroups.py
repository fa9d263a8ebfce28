"""A memory cgroup per sandbox: one limit for all of its processes together.

``RLIMIT_AS`` bounds each process alone, and a sandbox may start dozens, so
the sandbox's ``memory_mb`` is also set on a cgroup that every process of the
sandbox joins (``confine.apply`` writes the relay's pid to it; its children
inherit it), with no swap, where the grader may write the cgroup tree (root in
CI and in containers):

- cgroup v1 (a ``memory`` hierarchy of its own): a child of the grader's own
  memory cgroup, so the sandbox also counts against whatever bounds the
  grader, with ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes``
  (memory plus swap: no swap at all) where the kernel accounts swap;
- cgroup v2: ``memory.max`` and ``memory.swap.max = 0`` on the sandbox's pids
  cgroup (a process belongs to one v2 cgroup, which holds both controllers).

When the limit is reached, the kernel's OOM killer ends a process of the
sandbox (and only of it); :func:`oom_kills` lets the grader tell that from a
crash. Without a writable tree, each process keeps its own ``RLIMIT_AS`` and
the report says the limit is per process.
"""

from __future__ import annotations

import os
import re

_V1_MEMORY = "/sys/fs/cgroup/memory"
_V2 = "/sys/fs/cgroup"
_V1_PIDS = "/sys/fs/cgroup/pids"
_counter = 0
_NAME = re.compile(r"grader-(\d+)-\d+(?:-mem)?$")


def _own_v1_path(controller: str) -> str:
    """This process's cgroup in the v1 hierarchy of ``controller`` ('/' if unknown)."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if controller in controllers.split(","):
                    return path or "/"
    except (OSError, ValueError):
        pass
    return "/"


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _v1_parent() -> str | None:
    if not os.path.exists(os.path.join(_V1_MEMORY, "cgroup.procs")):
        return None
    parent = os.path.normpath(_V1_MEMORY + "/" + _own_v1_path("memory").lstrip("/"))
    return parent if os.path.isdir(parent) else None


def make_memory_cgroup(limit_bytes: int, pids_cgroup: str | None) -> str | None:
    """A cgroup bounding the sandbox's memory (and swap) to ``limit_bytes``, or
    None where none can be made. With a v2 ``pids_cgroup`` the limit is set on
    that one (returned); on v1, a new cgroup in the memory hierarchy."""
    global _counter
    limit = str(int(limit_bytes))
    if pids_cgroup and not pids_cgroup.startswith(_V1_PIDS + "/"):
        try:  # v2: the controller must be enabled for the root's children
            with open(os.path.join(_V2, "cgroup.subtree_control")) as f:
                if "memory" not in f.read().split():
                    return None
            _write(os.path.join(pids_cgroup, "memory.max"), limit)
            try:
                _write(os.path.join(pids_cgroup, "memory.swap.max"), "0")
            except OSError:
                pass  # no swap accounting: no swap to use either
            return pids_cgroup
        except OSError:
            return None
    parent = _v1_parent()
    if parent is None:
        return None
    _counter += 1
    path = os.path.join(parent, f"grader-{os.getpid()}-{_counter}-mem")
    try:
        os.mkdir(path)
    except OSError:
        return None
    try:
        _write(os.path.join(path, "memory.limit_in_bytes"), limit)
        if os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes")):
            _write(os.path.join(path, "memory.memsw.limit_in_bytes"), limit)
        else:
            try:
                _write(os.path.join(path, "memory.swappiness"), "0")
            except OSError:
                pass
        return path
    except OSError:
        remove(path)
        return None


def oom_kills(path: str | None) -> int:
    """How many processes the kernel's OOM killer has ended in the cgroup ``path``."""
    if not path:
        return 0
    name = "memory.oom_control" if path.startswith(_V1_MEMORY + "/") else "memory.events"
    try:
        with open(os.path.join(path, name), "rb") as f:
            for line in f.read().splitlines():
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def remove(path: str | None) -> None:
    """Remove the (empty) cgroup ``path``; a v2 cgroup shared with pids is removed there."""
    if path and path.startswith(_V1_MEMORY + "/"):
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError:
                import time

                time.sleep(0.01)


def remove_stale() -> None:
    """Remove the sandbox cgroups of graders that died (a ``kill -9``): those
    named after a pid that no longer runs, with no process left in them."""
    parents = [p for p in (_v1_parent(), _V1_PIDS, _V2) if p and os.path.isdir(p)]
    for parent in parents:
        try:
            names = [e.name for e in os.scandir(parent) if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for name in names:
            match = _NAME.match(name)
            if not match or _alive(int(match.group(1))):
                continue
            path = os.path.join(parent, name)
            try:
                with open(os.path.join(path, "cgroup.procs")) as f:
                    if f.read().strip():
                        continue
                os.rmdir(path)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
