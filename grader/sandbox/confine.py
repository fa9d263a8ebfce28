"""What a sandbox process applies to itself before any student code runs.

Standard library only, and one function, :func:`apply`, for both ways a worker
starts: in the grader between fork and exec (``client.Sandbox``), and in a
child of the fork server (``worker.py --fork-server``), which gets a copy of
this file in its runtime folder. The decisions (which limits, which Landlock
ruleset, which cgroup) are all made in the grader, in ``isolation.plan`` and
``client.Sandbox``; this only carries them out.
"""

import ctypes
import errno
import os
import resource

SYS_LANDLOCK_RESTRICT_SELF = 446  # same on x86_64 and aarch64
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def set_limits(settings):
    """Lower each ``(resource.RLIMIT_*, value)`` to ``value`` (never above the hard limit)."""
    for which, value in settings:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def apply(rlimits, cgroup_procs_fd=None, namespaces=False, ruleset_fd=None):
    """Confine this process: rlimits, then the cgroup, the namespaces, Landlock.

    ``cgroup_procs_fd`` is the cgroup's ``cgroup.procs`` opened for writing by
    the grader (an open file, so Landlock, which checks opening, allows it).
    Failures of the optional parts do not stop the worker (the grader's plan
    already knows what this kernel offers); a Landlock ruleset that cannot be
    enforced ends the process, since confinement was promised.
    """
    libc = _libc()
    set_limits(rlimits)
    if cgroup_procs_fd is not None:
        try:
            os.write(cgroup_procs_fd, str(os.getpid()).encode())
        except OSError:
            pass
    if namespaces:
        libc.unshare(CLONE_NEWUSER | CLONE_NEWNET)
    if ruleset_fd is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
            os._exit(errno.EPERM)
