"""What a sandbox process applies to itself before any student code runs.

Standard library only, and one function, :func:`apply`, for both ways a worker
starts: in the grader between fork and exec (``launch.start_worker``), and in a
child of the fork server (``worker.py --fork-server``), which gets a copy of
this file in its runtime folder. The decisions (which limits, which Landlock
ruleset, which cgroup, which files the student may see) are all made in the
grader, in ``isolation.plan`` and ``launch.py``; this only carries them out.

With a *view* (see ``isolation.plan``) the process becomes three:

- the **relay**, the process the grader started or the fork server forked: it
  has created new mount, PID, IPC, network and UTS namespaces (and a user
  namespace when the grader is not root), and only waits for its child and
  ends as it ended;
- the namespace's **init** (PID 1): it builds the student's filesystem view (a
  fresh tmpfs holding read-only binds of the runtime, a writable bind of the
  work folder and a few device files; no /proc, no /sys), pivots into it, and then
  only reaps; when it dies the kernel kills every process of the namespace,
  and the IPC namespace (SysV shared memory, semaphores, message queues) goes
  with them;
- the **worker** (PID 2), which drops to the unprivileged uid (nobody, with no
  supplementary groups and no capabilities; as root, in a user namespace of
  its own too) and goes on to run the student's code. It is not PID 1, so it
  dies of its own signals as any process would.

Every way, the process first joins a fresh session keyring and last installs
the seccomp filter of ``seccomp.py`` when the grader's plan asks for it.
"""

import ctypes
import errno
import os
import platform
import resource
import select
import signal
import stat

try:  # grader.sandbox.confine in the grader; a top-level module in the fork server's runtime folder
    from . import seccomp
except ImportError:
    import seccomp

SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 445, 446  # same on x86_64 and aarch64
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
# statvfs flags that a read-only remount of a bind must keep (same values as MS_*).
_KEPT_MOUNT_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC | 16 | 64 | 1024 | 2048 | 4096
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
NOBODY = 65534
EX_ISOLATION = 71  # EX_OSERR: the view could not be built; no student code ran


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


def apply(rlimits, cgroup_procs_fd=None, namespaces=False, ruleset_fd=None, view=None, seccomp_filter=False,
          lifeline=None):
    """Confine this process: the cgroup, a fresh session keyring, the namespaces
    and view, rlimits, Landlock, the seccomp filter (``seccomp_filter``).

    ``cgroup_procs_fd`` is the cgroup's ``cgroup.procs`` opened for writing by
    the grader (an open file, so Landlock, which checks opening, allows it),
    or a list of them (cgroup v1: the pids and the memory hierarchies).
    ``lifeline``: the read end of a pipe only the grader can write to; with a
    view the relay watches it and ends the sandbox when the grader is gone.
    With ``view`` (a dict from ``isolation.plan``) this returns only in the
    worker process (see the module's docstring). Failures of the optional
    parts do not stop the worker (the grader's plan already knows what this
    kernel offers); a view, a Landlock ruleset or a seccomp filter that cannot
    be enforced ends the process, since confinement was promised, and so does
    a session keyring that cannot be left without a filter to deny keyrings.
    """
    libc = _libc()
    procs = cgroup_procs_fd if isinstance(cgroup_procs_fd, (list, tuple)) else [cgroup_procs_fd]
    for fd in procs:
        if fd is not None:
            try:
                os.write(fd, str(os.getpid()).encode())
            except OSError:
                pass
    # The grader's session keyring (a CI token, an SSH agent's key) must not
    # be inherited: join a new, empty one (ENOSYS: no keyrings at all).
    err = seccomp.new_session_keyring()
    if err not in (0, errno.ENOSYS) and not seccomp_filter:
        os._exit(errno.EPERM)
    if view is not None:
        isolate(view, lifeline)
    elif namespaces:
        libc.unshare(CLONE_NEWUSER | CLONE_NEWNET)
    set_limits(rlimits)
    if ruleset_fd is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if view is not None and view.get("landlock_rights"):
            _allow_work(libc, ruleset_fd, view["cwd"], view["landlock_rights"])
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset_fd), ctypes.c_uint32(0)) != 0:
            os._exit(errno.EPERM)
    if seccomp_filter and not seccomp.install():
        os._exit(errno.EPERM)


def die_with_parent(parent):
    """Be killed when the process ``parent`` (this one's parent) ends; end now
    if it already has (it may have died before the request took effect)."""
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(EX_ISOLATION)


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _allow_work(libc, ruleset_fd, path, rights):
    """Add the worker's work folder (a tmpfs of its own, see ``_build_view``)
    to the Landlock ruleset the grader made (its rules name the grader's folders)."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneath(rights, fd)
        if libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset_fd), ctypes.c_int(1), ctypes.byref(rule),
                        ctypes.c_uint32(0)) != 0:
            os._exit(errno.EPERM)
    finally:
        os.close(fd)


def isolate(view, lifeline=None):
    """Namespaces, the filesystem view and an unprivileged uid; returns in the worker only.

    ``view``: ``read`` (paths bound read-only), ``write`` (bound writable),
    ``devices`` (device files bound as they are), ``hide`` (folders inside
    those replaced by an empty read-only tmpfs: other site-packages),
    ``links`` (``[path, target]`` symbolic links to recreate, such as
    ``/lib -> usr/lib``), ``root`` (an empty folder to build the view on),
    ``cwd``, ``uid``/``gid`` (what the worker runs as outside: nobody when
    the grader is root, else the grader's own ids), ``userns`` (a root
    grader's worker enters a user namespace of its own, as nobody);
    ``disk_mb``/``disk_files``: the ``write`` folders are then each a tmpfs of
    that size and that many inodes, holding a copy of the folder's files (the
    grader's own stays as it was, and the student's files go with the mount
    namespace). ``lifeline`` (see :func:`apply`): when it reads end of file,
    the relay kills the init, and with it every process of the sandbox.
    """
    libc = _libc()
    privileged = os.getuid() == 0
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS
    if not privileged:
        flags |= CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        os._exit(EX_ISOLATION)
    if not privileged:
        # One id inside, nobody, for the grader's own ids outside (all an
        # unprivileged process may map); setgroups is refused from here on.
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{NOBODY} {os.getuid()} 1")
            _write("/proc/self/gid_map", f"{NOBODY} {os.getgid()} 1")
        except OSError:
            os._exit(EX_ISOLATION)
    # PID 1 cannot end itself by a signal, so it tells the relay how the
    # worker ended through this pipe, and the relay ends the same way.
    status_r, status_w = os.pipe()
    child = os.fork()
    if child:
        _relay(child, status_r, lifeline)  # never returns
    os.close(status_r)
    # PID 1 of the new namespace: killed with the relay. Its parent is in
    # another PID namespace (getppid() says 0), so whether the relay already
    # died is read from the status pipe: no reader left is an error on it.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    poll = select.poll()
    poll.register(status_w, select.POLLOUT)
    if any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0)):
        os._exit(EX_ISOLATION)
    proc_fd = None
    try:
        if privileged and view.get("userns"):
            # The worker maps its user namespace through this, once /proc is gone from its view.
            proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        _build_view(libc, view)
    except OSError:
        os._exit(EX_ISOLATION)
    worker = os.fork()
    if worker:
        _init(worker, status_w)  # never returns
    os.close(status_w)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        _drop_privileges(libc, privileged, view, proc_fd)
        os.chdir(view["cwd"])
    except OSError:
        os._exit(EX_ISOLATION)


def _write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _close_all_but(*fds):
    # A relay or init keeps nothing of the worker's: the pipes must reach EOF
    # when the worker dies, and Popen's error pipe must close at its exec.
    low = 3
    for fd in sorted(fd for fd in fds if fd is not None):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _exit_as(status):
    """End this process as a child that ended with wait ``status`` did."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP cannot be caught anyway
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.kill(os.getpid(), sig)
        except OSError:
            pass
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _relay(child, status_r, lifeline=None):
    _close_all_but(status_r, lifeline)
    data = b""
    watched = [status_r] + ([lifeline] if lifeline is not None else [])
    while True:
        try:
            ready, _, _ = select.select(watched, [], [])
        except InterruptedError:
            continue
        if lifeline is not None and lifeline in ready:
            # The grader is gone (nobody writes to the lifeline: readable is
            # end of file). Killing PID 1 kills every process of the namespace.
            os.kill(child, signal.SIGKILL)
            os._exit(128 + signal.SIGKILL)
        try:
            chunk = os.read(status_r, 16)
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
    if data.strip().isdigit():
        status = int(data.strip())  # how the worker ended, as PID 1 saw it
    _exit_as(status)


def _init(worker, status_w):
    """PID 1: reap every process of the namespace; pass on how the worker ended."""
    _close_all_but(status_w)
    while True:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
        if pid == worker:
            os.write(status_w, str(status).encode())
            os._exit(0)  # and the kernel kills whatever the worker left


def _mount(libc, source, target, fstype, flags, data=None):
    if libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                  ctypes.c_ulong(flags), data and data.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _makedirs(path, is_dir):
    parent = os.path.dirname(path)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if is_dir:
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


def _remount_read_only(libc, target):
    kept = os.statvfs(target).f_flag & _KEPT_MOUNT_FLAGS
    _mount(libc, None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | kept)


def _build_view(libc, view):
    root = view["root"]
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    hidden = sorted(view.get("hide", []))
    steps = [(p, "read") for p in view.get("read", [])] + [(p, "write") for p in view.get("write", [])]
    steps += [(p, "device") for p in view.get("devices", [])] + [(p, "hide") for p in hidden]
    # Parents before what lies inside them: a hidden site-packages first gets
    # its empty tmpfs, then NumPy (if it lives there) is bound inside it.
    steps.sort(key=lambda step: (step[0].rstrip("/").count("/"), step[1] != "hide"))
    for path, link in view.get("links", []):
        target = root + path
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(link, target)
    for path, kind in steps:
        target = root + path
        if kind == "hide":
            if not os.path.isdir(target):
                continue
            _mount(libc, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
            continue
        if not os.path.exists(path):
            continue
        _makedirs(target, os.path.isdir(path))
        if kind == "write" and view.get("disk_mb"):
            _mount(libc, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
                   f"mode=0755,uid={NOBODY},gid={NOBODY},size={int(view['disk_mb'])}m,"
                   f"nr_inodes={int(view['disk_files'])}")
            _copy_tree(path, target, os.getuid() == 0)
            continue
        _mount(libc, path, target, None, MS_BIND | MS_REC)
        if kind == "read":
            _remount_read_only(libc, target)
    for path in hidden:
        if os.path.isdir(root + path):
            _mount(libc, None, root + path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(root)
    if libc.syscall(_SYS_PIVOT_ROOT[platform.machine()], b".", b".") != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pivot_root: {os.strerror(err)}")
    if libc.umount2(b".", MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount: {os.strerror(err)}")
    os.chdir("/")
    _mount(libc, None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _copy_tree(source, target, privileged):
    """Copy the folders and regular files of ``source`` (the student's module,
    written there by the grader) into ``target``, owned by the worker's user;
    never through a link."""
    for name in os.listdir(source):
        src, dst = os.path.join(source, name), os.path.join(target, name)
        info = os.lstat(src)
        if stat.S_ISDIR(info.st_mode):
            os.mkdir(dst, 0o755)
            _copy_tree(src, dst, privileged)
        elif stat.S_ISREG(info.st_mode):
            fd_in = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
            fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                while chunk := os.read(fd_in, 1 << 20):
                    os.write(fd_out, chunk)
            finally:
                os.close(fd_in)
                os.close(fd_out)
        else:
            continue
        if privileged:
            os.chown(dst, NOBODY, NOBODY, follow_symlinks=False)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_privileges(libc, privileged, view, proc_fd=None):
    """Become the unprivileged uid with no groups and no capabilities."""
    if privileged:
        os.setgroups([])
        os.setresgid(view["gid"], view["gid"], view["gid"])
        os.setresuid(view["uid"], view["uid"], view["uid"])  # leaving uid 0 clears every capability
        if proc_fd is not None:
            try:
                _own_user_namespace(libc, proc_fd, view["uid"], view["gid"])
            finally:
                os.close(proc_fd)
    if not privileged or proc_fd is not None:
        # Inside its user namespace the process holds every capability over
        # that namespace (and, unprivileged, over the others it built the view
        # with); give them all up.
        data = (_CapData * 2)()
        if libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data) != 0:
            raise OSError(ctypes.get_errno(), "capset")
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _own_user_namespace(libc, proc_fd, uid, gid):
    """As nobody already, enter a new user namespace mapping nobody to itself.

    What the kernel keys by uid (the user keyring, RLIMIT_NPROC's count,
    inotify and message-queue quotas) is then this sandbox's alone, not
    shared with every other sandbox that runs as nobody. Created after the
    view (the mounts stay owned by the grader's namespace, out of reach) and
    before the rlimits (so RLIMIT_NPROC counts this namespace's processes);
    mapped by the process itself, as any unprivileged user may do."""
    if libc.unshare(CLONE_NEWUSER) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWUSER): {os.strerror(err)}")
    # Changing uid made this process non-dumpable, which makes its /proc files
    # root's: dumpable for as long as it writes its maps (as after an exec).
    dumpable = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            fd = os.open(f"self/{name}", os.O_WRONLY, dir_fd=proc_fd)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
    finally:
        libc.prctl(PR_SET_DUMPABLE, max(dumpable, 0), 0, 0, 0)
