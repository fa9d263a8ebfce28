"""A seccomp filter and a fresh session keyring for the worker (standard library only).

Like ``confine.py``, this file travels to each runtime folder (``runtime.FILES``)
and is imported by the fork server's children as a top-level module, so it
imports nothing but the standard library.

The filter is a classic BPF program of our own (``struct sock_filter`` built
with ``struct``, installed with ``prctl(PR_SET_SECCOMP)`` after
``no_new_privs``), not libseccomp: the policy is a short deny-list with two
argument checks, which is some forty lines of program; libseccomp (or its
``pyseccomp`` binding) would be one more library every grading machine must
have and the sandbox's import path would have to carry, for no gain in what
the filter says. The program is checked by :func:`works` once per grader
process, the way the view and Landlock are.

What it refuses, and why a NumPy sandbox never needs any of it:

- ``add_key``, ``request_key``, ``keyctl``: kernel keyrings are shared by
  uid (a user keyring) or inherited (the session keyring): one student's
  code could leave its source there for another, or read a token of the
  grader's (issue 22).
- ``io_uring_*``: its operations (open, connect, ...) run without passing
  through this filter, and it is a large kernel attack surface.
- new namespaces (``unshare``/``clone`` with a ``CLONE_NEW*`` flag, ``setns``):
  a user namespace would give the student every capability over the new
  namespaces; ``clone3`` fails with ENOSYS, so that the C library falls
  back to ``clone``, whose flags a filter can read (threads and ``fork``
  keep working).
- ``ptrace``, ``process_vm_readv/writev``, ``pidfd_getfd``, ``kcmp``:
  reading or steering other processes (the grader, the fork server, where
  Landlock is missing).
- ``bpf``, ``perf_event_open``, ``userfaultfd``: kernel attack surface and
  side channels, the usual tools of kernel exploits.
- mounts (``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount
  API), ``open_by_handle_at``, modules, ``kexec``, ``reboot``, swap, ``acct``,
  ``syslog``, setting or slewing the clocks: calls only a privileged worker
  (a root grader without the view) could make; the view is built before
  the filter is installed.
- ``personality`` other than a query: it would turn off address-space
  randomisation for the processes the student starts.
- every call of another ABI (32-bit x86 through ``int 0x80`` on x86_64, x32):
  their numbers differ, so a deny-list for one ABI says nothing about another.

Denied calls fail with EPERM (ENOSYS for ``clone3`` and foreign ABIs); the
process is never killed, so a student sees an ordinary ``OSError``.
"""

import ctypes
import errno
import os
import platform
import struct

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION_KEYRING = 0, 1
KEY_SPEC_SESSION_KEYRING = -3

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_SYSCALL_BIT = 0x40000000

# Syscall numbers: x86_64 (arch/x86/entry/syscalls/syscall_64.tbl), aarch64 (asm-generic/unistd.h).
_NUMBERS = {
    "add_key": (248, 217), "request_key": (249, 218), "keyctl": (250, 219),
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "setns": (308, 268),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "pidfd_getfd": (438, 438), "kcmp": (312, 272),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "open_by_handle_at": (304, 265),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "kexec_load": (246, 104), "kexec_file_load": (320, 294), "reboot": (169, 142),
    "swapon": (167, 224), "swapoff": (168, 225), "acct": (163, 89), "syslog": (103, 116),
    "settimeofday": (164, 170), "clock_settime": (227, 112), "clock_adjtime": (305, 266),
    "adjtimex": (159, 171),
    "iopl": (172, None), "ioperm": (173, None),
    # Checked by argument, below.
    "clone": (56, 220), "clone3": (435, 435), "unshare": (272, 97), "personality": (135, 92),
}
_BY_ARGUMENT = ("clone", "clone3", "unshare", "personality")
DENIED = tuple(name for name in _NUMBERS if name not in _BY_ARGUMENT)

CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWCGROUP = 0x80, 0x00020000, 0x02000000
CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x04000000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
# clone()'s low byte is the exit signal, so CLONE_NEWTIME (0x80) is unshare()'s alone.
_NEW_NAMESPACES_CLONE = (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
                         | CLONE_NEWPID | CLONE_NEWNET)
_NEW_NAMESPACES_UNSHARE = _NEW_NAMESPACES_CLONE | CLONE_NEWTIME
_PERSONALITY_QUERY, _PER_LINUX = 0xFFFFFFFF, 0

# Classic BPF, as seccomp reads it (linux/filter.h, linux/seccomp.h).
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_NR, _ARCH, _ARG0_LOW = 0, 4, 16  # offsets in struct seccomp_data (little-endian: low word first)


def _deny(err: int) -> int:
    return _RET_ERRNO | err


def program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (this one by default) as an array of
    ``struct sock_filter``; None on an architecture it does not know."""
    machine = machine or platform.machine()
    if machine not in _AUDIT_ARCH:
        return None
    column = 0 if machine == "x86_64" else 1
    numbers = {name: pair[column] for name, pair in _NUMBERS.items() if pair[column] is not None}
    # (code, jump if true, jump if false, k); jumps are labels resolved below.
    insns: list = [
        (_LD_W_ABS, 0, 0, _ARCH),
        (_JEQ, 0, "foreign", _AUDIT_ARCH[machine]),
        (_LD_W_ABS, 0, 0, _NR),
    ]
    if machine == "x86_64":
        insns.append((_JGE, "foreign", 0, _X32_SYSCALL_BIT))  # x32: same arch, numbers with this bit
    for name in DENIED:
        if name in numbers:
            insns.append((_JEQ, "eperm", 0, numbers[name]))
    insns += [
        (_JEQ, "enosys", 0, numbers["clone3"]),
        (_JEQ, "clone", 0, numbers["clone"]),
        (_JEQ, "unshare", 0, numbers["unshare"]),
        (_JEQ, "personality", 0, numbers["personality"]),
        (_RET, 0, 0, _RET_ALLOW),
        "clone", (_LD_W_ABS, 0, 0, _ARG0_LOW),
        (_JSET, "eperm", "allow", _NEW_NAMESPACES_CLONE),
        "unshare", (_LD_W_ABS, 0, 0, _ARG0_LOW),
        (_JSET, "eperm", "allow", _NEW_NAMESPACES_UNSHARE),
        "personality", (_LD_W_ABS, 0, 0, _ARG0_LOW),  # an unsigned int in the kernel
        (_JEQ, "allow", 0, _PERSONALITY_QUERY),
        (_JEQ, "allow", "eperm", _PER_LINUX),
        "allow", (_RET, 0, 0, _RET_ALLOW),
        "eperm", (_RET, 0, 0, _deny(errno.EPERM)),
        "foreign", "enosys", (_RET, 0, 0, _deny(errno.ENOSYS)),
    ]
    labels, position = {}, 0
    for item in insns:
        if isinstance(item, str):
            labels[item] = position
        else:
            position += 1
    out, position = [], 0
    for item in insns:
        if isinstance(item, str):
            continue
        code, jt, jf, k = item
        jt = labels[jt] - position - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - position - 1 if isinstance(jf, str) else jf
        assert 0 <= jt < 256 and 0 <= jf < 256
        out.append(struct.pack("=HBBI", code, jt, jf, k))
        position += 1
    return b"".join(out)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# Built once per process (a fork server's children inherit them): a sandbox
# pays only for the two system calls.
_PROGRAM = program()
_BUFFER = ctypes.create_string_buffer(_PROGRAM, len(_PROGRAM)) if _PROGRAM else None
_FPROG = _SockFprog(len(_PROGRAM) // 8, ctypes.addressof(_BUFFER)) if _PROGRAM else None
_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
        _LIBC.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        _LIBC.syscall  # looked up now, not in each child
    return _LIBC


if platform.system() == "Linux":
    _libc()  # a third of a millisecond that each forked child would otherwise pay


def install() -> bool:
    """Set no_new_privs and install the filter on this thread; False when the
    kernel refuses it (or this architecture has no filter)."""
    if _PROGRAM is None or platform.system() != "Linux":
        return False
    libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(_FPROG), 0, 0) == 0


def _keyctl_number() -> int | None:
    if platform.system() != "Linux":
        return None
    pair = _NUMBERS["keyctl"]
    machine = platform.machine()
    return pair[0] if machine == "x86_64" else pair[1] if machine == "aarch64" else None


def new_session_keyring() -> int:
    """Join a new, empty, anonymous session keyring (so nothing of the
    grader's session keyring is reachable from here); 0 on success, else the
    errno (ENOSYS: a kernel without keyrings, where there is nothing to hide)."""
    number = _keyctl_number()
    if number is None:
        return errno.ENOSYS
    libc = _libc()
    if libc.syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        return ctypes.get_errno() or errno.EPERM
    return 0


_WORKS: bool | None = None


def works() -> bool:
    """Whether the filter can be installed here and refuses what it should
    (tried once per process, in a child: a keyring call refused with EPERM,
    an ordinary call answered)."""
    global _WORKS
    if _WORKS is None:
        _WORKS = False
        if platform.system() == "Linux" and _PROGRAM is not None:
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    if install():
                        libc = _libc()
                        refused = libc.syscall(_keyctl_number(), KEYCTL_GET_KEYRING_ID,
                                               KEY_SPEC_SESSION_KEYRING, 0) == -1 \
                            and ctypes.get_errno() == errno.EPERM
                        code = 0 if refused and os.getpid() > 0 else 2
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            _WORKS = os.waitstatus_to_exitcode(status) == 0
    return _WORKS
