"""Starting and ending a worker: its folder and files, its limits, its processes.

The grader decides every limit and every confinement here, whichever way the
worker starts: forked by the fork server (``forkserver.py``) or as a fresh
interpreter confined between fork and exec (``confine.apply``). The student's
files are written fresh into ``work/`` (never through a link a previous worker
left there); the grader's own files stay outside it. Ending a worker ends its
process group and every process of its cgroups, so nothing it started
survives it. ``client.Sandbox`` decides when to start and when to end.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox import cgroups, confine, forkserver, isolation, runtime, shared_inputs, watch
from grader.sandbox.limits import Limits


@dataclass
class Worker:
    """A started worker, as the grader holds it."""

    proc: subprocess.Popen
    to_child: int  # the grader's end of the pipe the worker reads
    from_child: int  # the grader's end of the pipe the worker writes
    inputs: shared_inputs.Channel  # hands the worker its input arrays


def create_fresh(path: Path) -> int:
    """A new file at ``path``, opened for writing: never an existing file, never through a link."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def write_fresh(path: Path, data: bytes) -> None:
    """Replace whatever is at ``path`` (a file, a link, a FIFO, a folder) by a new file holding ``data``."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    with open(create_fresh(path), "wb") as f:
        f.write(data)


def give_to_sandbox_user(path: Path) -> None:
    """A root grader's worker runs as nobody: its work folder and module are its own."""
    if os.getuid() == 0:
        uid, gid = runtime.sandbox_ids()
        os.chown(path, uid, gid, follow_symlinks=False)


def prepare_root() -> Path:
    """A new sandbox folder in the grader's private folder, holding an empty ``work/``."""
    root = Path(tempfile.mkdtemp(prefix="sandbox-", dir=runtime.private_folder()))
    (root / "work").mkdir()
    give_to_sandbox_user(root / "work")
    return root


def place_files(work: Path, module_name: str, source: Path, companions: dict[str, Path]) -> Path:
    """Write the student's module (and its companions) into ``work``; the module's path."""
    target = work / f"{module_name}.py"
    # work/ is the student's: anything in it may have been replaced by a link
    # (to a grader file, a FIFO) by the last worker. Write a fresh file there,
    # never through a link; the grader's own files stay outside work/.
    write_fresh(target, Path(source).read_bytes())
    give_to_sandbox_user(target)
    for name, path in companions.items():
        write_fresh(work / f"{name}.py", path.read_bytes())
        give_to_sandbox_user(work / f"{name}.py")
    return target


def plan_for(runtime_dir: Path, site_dir: Path, work: Path, limits: Limits, use_namespaces: bool) -> isolation.Plan:
    """The confinement of the next worker: what it may read and write, its view, its cgroups."""
    uid, gid = runtime.sandbox_ids()
    view = runtime.view([str(runtime_dir), str(site_dir)], work, runtime.view_mountpoint(), uid, gid,
                        disk_mb=int(limits.disk_mb), disk_files=int(limits.disk_files))
    return isolation.plan(runtime.readable_paths() + [str(runtime_dir), str(site_dir)],
                          [str(work)], use_namespaces, max_pids=int(limits.processes),
                          view=view, memory_mb=int(limits.memory_mb))


def nproc_limit(plan: isolation.Plan, limits: Limits) -> int | None:
    """RLIMIT_NPROC for a worker confined by ``plan``; None: not set."""
    if plan.view is not None and os.getuid() == 0 and plan.cgroup:
        return None  # the pids cgroup bounds them; nobody's count is shared by every sandbox
    if plan.namespaces or plan.view is not None:
        # Counted afresh in the new user namespace (or for nobody), and enforced even for root.
        return int(limits.processes)
    # The kernel ignores RLIMIT_NPROC for root; for others it counts all
    # of the user's processes, so allow for those already running.
    return None if os.getuid() == 0 else watch.user_process_count() + int(limits.processes)


def rlimits(limits: Limits, nproc: int | None) -> list[tuple[int, int]]:
    """The worker's rlimits, set in it before the student's code runs."""
    settings = [
        (resource.RLIMIT_AS, int(limits.memory_mb) * 1024 * 1024),
        (resource.RLIMIT_CPU, int(limits.total_seconds) + 5),
        (resource.RLIMIT_FSIZE, int(limits.output_kb) * 1024),
        (resource.RLIMIT_NOFILE, int(limits.open_files)),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc is not None:
        settings.append((resource.RLIMIT_NPROC, nproc))
    return settings


def start(plan: isolation.Plan, server: forkserver.ForkServer | None, *, runtime_dir: Path, site_dir: Path,
          work: Path, target: Path, module_name: str, forbidden: tuple[str, ...], limits: Limits,
          output) -> Worker | None:
    """Start the worker confined by ``plan``, forked by ``server`` or as a fresh
    interpreter; None when the fork server failed. Its stdout and stderr go to ``output``."""
    nproc = nproc_limit(plan, limits)
    cgroup_fd = isolation.open_cgroup_procs(plan.cgroup) if plan.cgroup else None
    memcg_fd = isolation.open_cgroup_procs(plan.memcg) \
        if plan.memcg and plan.memcg != plan.cgroup else None
    inputs = shared_inputs.Channel()
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    proc = None
    try:
        if server is not None:
            try:
                proc = server.spawn(
                    {"rlimits": rlimits(limits, nproc), "namespaces": plan.namespaces,
                     "view": plan.view, "seccomp": plan.seccomp,
                     "env": runtime.environment(work), "work": str(work), "module": module_name,
                     "file": str(target), "forbidden": list(forbidden)},
                    [to_child_r, from_child_w, output.fileno()],
                    {"ruleset": plan.ruleset_fd, "cgroup": cgroup_fd, "memcg": memcg_fd,
                     "inputs": inputs.worker_fd(), "lifeline": runtime.lifeline()})
            except forkserver.ForkServerError:
                pass
        else:
            argv = [
                runtime.python(), "-I", "-S", "-B", str(runtime_dir / "worker.py"),
                str(to_child_r), str(from_child_w), str(runtime_dir), str(site_dir),
                str(work), module_name, str(target), ",".join(forbidden), str(inputs.worker_fd()),
            ]
            proc = start_worker(argv, plan, rlimits(limits, nproc), work, [cgroup_fd, memcg_fd],
                                (to_child_r, from_child_w, inputs.worker_fd()), output)
    finally:
        os.close(to_child_r)
        os.close(from_child_w)
        inputs.handed_over()
        for fd in (cgroup_fd, memcg_fd):
            if fd is not None:
                os.close(fd)
        plan.close()
        if proc is None:
            os.close(to_child_w)
            os.close(from_child_r)
            inputs.close()
    return Worker(proc, to_child_w, from_child_r, inputs) if proc is not None else None


def start_worker(argv: list[str], plan: isolation.Plan, rlimits: list[tuple[int, int]], work: Path,
                 cgroup_fds: list, pass_fds: tuple[int, ...], output) -> subprocess.Popen:
    """A fresh interpreter running the worker, confined between fork and exec."""
    lifeline = runtime.lifeline()

    def confine_child() -> None:  # runs in the child, between fork and exec
        confine.apply(rlimits, cgroup_fds, plan.namespaces, plan.ruleset_fd, plan.view,
                      seccomp_filter=plan.seccomp, lifeline=lifeline)

    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=work,
        env=runtime.environment(work),
        pass_fds=pass_fds,
        start_new_session=True,
        preexec_fn=confine_child,
    )


def kill(proc: subprocess.Popen, plan: isolation.Plan) -> int:
    """End the worker ``proc``, its process group and every process of its cgroups
    (also those that left the group); the OOM kills its memory cgroup counted."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    oom_kills = cgroups.oom_kills(plan.memcg)  # read before the cgroup goes
    for path in plan.cgroup_paths():
        isolation.kill_cgroup(path)
    return oom_kills
