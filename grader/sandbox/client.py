"""The trusted side of the sandbox: :class:`Sandbox` starts, drives and polices a worker process.

Student code runs in its own process (see ``worker.py``) started in a scratch
directory with a scrubbed environment, its own session (process group), and
rlimits on address space, CPU time, file size, open files and processes. The
grader talks to it over two pipes in the plain-data format of ``wire.py``;
input arrays go in shared memory the grader reads back after each call
(``shared_inputs.py``), so that the grader itself sees what was changed in place.
Every call has a wall-clock limit; the whole exercise has a time budget. When
the worker hangs, dies or misbehaves, its process group is killed, the failing
call becomes a :class:`StudentError` with a one-line cause, and the next call
starts a fresh worker, so the other checks are still graded.

``Sandbox`` decides when (to start, call, charge, check, replace); how is one
module per job, all on the grader's side: ``launch.py`` starts and ends a
worker, ``channel.py`` exchanges requests, replies and output with it,
``watch.py`` looks at its processes from outside, and ``failures.py`` words
what the student reads.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader.sandbox import (cgroups, channel, failures, forkserver, isolation, launch, mapscan, runtime,
                            shared_inputs, watch, wire)
from grader.sandbox.failures import StudentError  # (also re-exported: graders import it from here)
from grader.sandbox.limits import DEFAULT_FORBIDDEN, Limits  # noqa: F401  (re-exported)
from grader.text import one_line


@dataclass
class CallResult:
    """What a call of the student's function gave, as the grader read it."""

    value: Any
    seconds: float  # wall time measured by the grader, round trip
    warnings: list = field(default_factory=list)
    mutated: list = field(default_factory=list)
    output: str = ""
    call_id: int = 0

    def ref(self, *path) -> wire.Ref:
        """A reference to (part of) this result, to pass back to the student."""
        return wire.Ref([self.call_id, *path])


class Sandbox:
    """One student module, loaded in a worker process that is restarted on failure."""

    def __init__(
        self,
        source: Path,
        module_name: str,
        limits: Limits | None = None,
        forbidden: tuple[str, ...] = DEFAULT_FORBIDDEN,
        display_name: str | None = None,
        use_namespaces: bool = True,
        use_fork_server: bool = True,
        companions: dict[str, Path] | None = None,
    ):
        self.source = Path(source)
        # Other modules of the student's (module name -> file) written beside the graded
        # one, which may import them: the capstones' multi-file submissions.
        self.companions = {name: Path(path) for name, path in (companions or {}).items() if name != module_name}
        self.module_name = module_name
        self.limits = limits or Limits()
        self.forbidden = tuple(forbidden)
        self.display_name = one_line(display_name or self.source.name, 100)  # shown in causes
        self._proc: subprocess.Popen | None = None
        self._root: Path | None = None
        self._pipes: channel.Pipes | None = None  # to and from the current worker
        self._next_id = 0
        self._used_seconds = 0.0
        self._import_error: StudentError | None = None
        self._output: channel.Output | None = None  # what the worker prints
        self.restarts = -1
        self.use_namespaces = use_namespaces
        self.use_fork_server = use_fork_server
        self._plan: isolation.Plan | None = None
        self.forked = False  # whether the current worker came from the fork server
        self._worker_pid: int | None = None  # behind the relay and the init: see _student_pid
        self._init_pid: int | None = None
        # A function that hung once would hang again: each later call of it fails
        # at once (function -> the message), and the other functions keep their time.
        self.check_name = ""  # the check now running, set by the grader, for that message
        self._timed_out: dict[str, str] = {}
        self._oom_kills = 0  # OOM kills in the memory cgroup of the worker last killed
        self._oom_seen = 0  # OOM kills in the current worker's memory cgroup, as of the last call
        self._inputs: shared_inputs.Channel | None = None  # hands the worker its input arrays
        self._stored: dict[int, shared_inputs.SharedFile] = {}  # stored values, as the worker maps them
        # A capstone's trusted layers: (func, args) -> value, for the callbacks of the stand-ins
        # grader/capstone.py puts in the sandbox; None: every callback is refused.
        self.callback: Callable[[str, list], Any] | None = None

    # -- life cycle -------------------------------------------------------

    def start(self) -> None:
        """Start the worker now (otherwise the first call does)."""
        if self._proc is None:
            self._spawn()

    def warm_up(self) -> None:
        """Let what the worker needs start in the background: the fork server
        (which forks the worker in milliseconds at the first call), or else the
        worker itself."""
        if self._fork_server() is None:
            self.start()

    def _fork_server(self) -> forkserver.ForkServer | None:
        """The fork server this sandbox's workers come from; None: they start their own."""
        return forkserver.shared() if self.use_fork_server else None

    def close(self) -> None:
        self._kill()
        self._close_inputs()
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)  # never follows links
            self._root = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self) -> None:
        self._kill()
        self.restarts += 1
        if self._root is None:
            self._root = launch.prepare_root()
        root = self._root
        work = root / "work"
        target = launch.place_files(work, self.module_name, self.source, self.companions)
        if self._output is None:
            self._output = channel.Output(open(launch.create_fresh(root / "output.txt"), "w+b", buffering=0))
        self._output.restart()
        server = self._fork_server()
        self._proc = self._launch(work, target, server) if server is not None else None
        self.forked = self._proc is not None
        if self._proc is None:  # no fork server, or it failed: a worker of our own
            if not (root / "runtime").exists():
                runtime.prepare(root)
            self._proc = self._launch(work, target, None)
        self._ready = False

    def _launch(self, work: Path, target: Path, server: forkserver.ForkServer | None):
        """Start the worker, forked by ``server`` or as a fresh interpreter; None
        when the fork server failed. Either way the grader decides every limit."""
        if server is not None:
            runtime_dir, site_dir = server.runtime, server.site
        else:
            runtime_dir, site_dir = self._root / "runtime", self._root / "site"
        if self._plan is not None:
            for path in self._plan.cgroup_paths():
                isolation.kill_cgroup(path)  # one that a failed launch left
        self._plan = launch.plan_for(runtime_dir, site_dir, work, self.limits, self.use_namespaces)
        self._worker_pid = self._init_pid = None
        self._oom_seen = 0  # a fresh cgroup
        worker = launch.start(self._plan, server, runtime_dir=runtime_dir, site_dir=site_dir, work=work,
                              target=target, module_name=self.module_name, forbidden=self.forbidden,
                              limits=self.limits, output=self._output.file)
        if worker is None:
            return None
        self._pipes = channel.Pipes(worker.to_child, worker.from_child, int(self.limits.reply_mb * 1024 * 1024))
        self._inputs = worker.inputs
        return worker.proc

    @property
    def isolation(self) -> list[str]:
        """The isolation in effect for this sandbox, for reports."""
        base = ["own process group", "scrubbed environment", "rlimits"]
        return (self._plan.features() if self._plan else []) + base

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        self._oom_kills = launch.kill(proc, self._plan)  # a worker always has its plan
        if self._pipes is not None:
            self._pipes.close()
        self._close_inputs()

    def _close_inputs(self) -> None:
        """Forget what the worker was handed: a new worker starts with nothing stored."""
        if self._inputs is not None:
            self._inputs.close()
            self._inputs = None
        for shared in self._stored.values():
            shared.close()
        self._stored.clear()

    # -- calls --------------------------------------------------------------

    def call(self, func: str, *args: Any, **kwargs: Any) -> CallResult:
        """Call ``func`` in the student's module with copies of ``args``.

        Raises StudentError when the student's code cannot produce a value.
        """
        if func in self._timed_out:
            raise StudentError(self._timed_out[func], kind="timeout")
        self._ensure_ready(func)
        call_id = self._new_id()
        # Input arrays travel in shared memory that the grader reads back after
        # the call: what was changed in place is seen here, never reported.
        inline_args, inline_kwargs, arrays = shared_inputs.split_call(list(args), dict(kwargs))
        message = {
            "op": "call",
            "id": call_id,
            "func": func,
            "args": channel.encode_args(inline_args),
            "kwargs": channel.encode_args(inline_kwargs),
        }
        shared = shared_inputs.place(arrays) if arrays else None
        try:
            if shared is not None:
                message["inputs"] = shared_inputs.spec(shared)
            start = time.perf_counter()
            try:
                reply = self._request(message, what=f"`{func}`", inputs=shared)
            except StudentError as exc:
                if exc.kind == "timeout" and self._used_seconds < self.limits.total_seconds - 0.05:
                    # (Past the budget, every later call fails anyway, with the budget's message.)
                    self._timed_out[func] = failures.not_run_again(func, self.check_name, self.limits)
                raise
            seconds = time.perf_counter() - start
            mutated = shared_inputs.mutations(shared, self._stored, list(args), dict(kwargs))
        finally:
            if shared is not None:
                shared.close()
        output = self._read_output()
        if self._plan is not None and self._plan.memcg:
            seen, self._oom_seen = self._oom_seen, self._oom_now()
            if self._oom_seen > seen:
                # A process of the sandbox (a child the worker waited for) was ended
                # at the memory cgroup's limit: the call does not count, whatever it says.
                self._kill()
                raise failures.out_of_memory(f"`{func}`", output, self.limits)
        self._check_forbidden(f"`{func}`")
        if not reply.get("ok"):
            raise self._error_from(failures.error_of(reply), func, output)
        decoding = time.monotonic()
        try:
            value = wire.decode(reply.get("value"))
        except (wire.WireError, ValueError, TypeError, OverflowError, MemoryError, RecursionError) as exc:
            raise failures.unreadable_value(func, exc) from None
        finally:
            self._used_seconds += time.monotonic() - decoding
        channel.anchor_opaques(value, call_id)
        return CallResult(
            value=value,
            seconds=seconds,
            warnings=channel.warnings_of(reply),
            mutated=mutated,
            output=output,
            call_id=call_id,
        )

    def store(self, value: Any) -> wire.Ref:
        """Keep ``value`` in the worker, to pass by reference (no transfer cost).

        Its arrays stay in shared memory that the grader checks after every
        call (and restores when changed) until the worker ends; each stored
        value holds a file descriptor of the grader's until then."""
        self._ensure_ready("store")
        key = self._new_id()
        inline, arrays = shared_inputs.split(value, ["value"])
        message = {"op": "store", "id": key, "value": wire.encode(inline)}
        shared = shared_inputs.place(arrays) if arrays else None
        try:
            if shared is not None:
                message["inputs"] = shared_inputs.spec(shared)
            reply = self._request(message, what="the grader", inputs=shared)
        except BaseException:
            if shared is not None:
                shared.close()
            raise
        if not reply.get("ok"):
            if shared is not None:
                shared.close()
            raise self._error_from(failures.error_of(reply), "store", self._read_output())
        if shared is not None:
            self._stored[key] = shared  # checked after every call, restored when changed
        return wire.Ref([key])

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _ensure_ready(self, func: str) -> None:
        if self._import_error is not None:
            raise self._import_error
        if self._used_seconds >= self.limits.total_seconds - 0.05:
            raise failures.budget_error(self.limits)
        if self._proc is None:
            self._spawn()
        if not self._ready:
            try:
                reply = self._request(None, what="importing your file")
            except StudentError as exc:
                if self._used_seconds >= self.limits.total_seconds - 0.05:
                    raise failures.budget_error(self.limits) from None
                # A file that hangs or dies on import would do so again for
                # every check: fail them all now, at the cost of one limit.
                exc.cause = f"{self.display_name} could not be imported: {exc.cause}"
                exc.args = (exc.cause,)
                self._import_error = exc
                raise
            output = self._read_output()
            self._check_forbidden("importing your file")
            if not reply.get("ok"):
                self._import_error = failures.import_error(failures.error_of(reply), output, self.display_name,
                                                           self.limits, self._quota())
                self._kill()
                raise self._import_error
            self._ready = True

    def _quota(self) -> bool:
        """Whether the work folder has a quota of its own (else a full disk is the disk's)."""
        return bool(self._plan is not None and self._plan.view is not None and self._plan.view.get("disk_mb"))

    def _request(self, message: dict | None, what: str,
                 inputs: shared_inputs.SharedFile | None = None) -> dict:
        """Send ``message`` (None: just wait for the next one), with the file of
        its ``inputs`` handed over first, and read the reply."""
        budget_left = self.limits.total_seconds - self._used_seconds
        timeout = min(self.limits.call_seconds, max(budget_left, 0.0))
        oom_before = self._oom_seen
        start = time.monotonic()
        try:
            if inputs is not None:
                self._inputs.send(message["id"], inputs)
            if message is not None:
                self._pipes.send(message, start + timeout)
            line = self._pipes.read_line(start + timeout)
            if line.startswith(b'{"op":"callback"'):
                line, served = self._pipes.serve_callbacks(line, start + timeout, timeout, self.callback)
                start += served  # the grader's own time: not the student's
        except TimeoutError:
            self._used_seconds += time.monotonic() - start
            oom = self._oom_now() > oom_before  # a child the kernel ended, the worker waiting for it
            self._kill()
            if oom:
                raise failures.out_of_memory(what, self._read_output(), self.limits) from None
            raise failures.timed_out(what, self.limits, timeout == self.limits.call_seconds,
                                     self._read_output()) from None
        except shared_inputs.InputsError as exc:
            self._used_seconds += time.monotonic() - start
            output = self._read_output()
            self._kill()
            raise failures.inputs_refused(what, exc, output) from None
        except (BrokenPipeError, EOFError, OSError):
            self._used_seconds += time.monotonic() - start
            raise self._died(what, oom_before) from None
        except channel.ReplyTooLarge:
            self._kill()
            self._used_seconds += time.monotonic() - start
            raise failures.reply_too_large(self.limits) from None
        try:
            return wire.loads(line)
        except wire.WireError as exc:
            self._kill()
            raise failures.garbage(what, exc) from None
        finally:
            # Parsing the reply is work the student's code caused: it counts too.
            self._used_seconds += time.monotonic() - start

    def _oom_now(self) -> int:
        """OOM kills so far in the current worker's memory cgroup (0 without one)."""
        if self._proc is None or self._plan is None or not self._plan.memcg:
            return 0
        return cgroups.oom_kills(self._plan.memcg)

    def _died(self, what: str, oom_before: int = 0) -> StudentError:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        output = self._read_output()
        self._oom_kills = 0
        self._kill()
        if self._oom_kills > oom_before:
            return failures.out_of_memory(what, output, self.limits)
        return failures.died(code, what, output, self.limits)

    def _read_output(self) -> str:
        """What the student's code printed since the last read (sanitised)."""
        return self._output.read() if self._root is not None and self._output is not None else ""

    def _check_forbidden(self, what: str) -> None:
        """Trusted check of the memory maps of the worker and the processes it
        started for forbidden libraries."""
        if self._proc is None:
            return
        # Bounded, charged to the student's budget (the student decides how many
        # processes and mappings there are), and failing closed (mapscan.py).
        most = int(self.limits.processes) + 1
        budget_left = max(self.limits.total_seconds - self._used_seconds, 0.0)
        start = time.monotonic()
        scan = mapscan.scan(self._sandbox_processes(most=most + 1), most,
                            start + min(self.limits.call_seconds, budget_left))
        if not scan.complete:
            self._kill()  # ending many processes of many mappings takes the kernel seconds: charged too
        self._used_seconds += time.monotonic() - start
        if not scan.complete:
            raise failures.not_checked(scan, what, self.limits,
                                       budget_spent=self._used_seconds >= self.limits.total_seconds - 0.05)
        package = watch.forbidden_loaded(scan.files, self.forbidden)
        if package is not None:
            self._kill()
            raise failures.forbidden(package, what)

    def _student_pid(self) -> int:
        """The pid (in the grader's namespace) of the process running the
        student's code: with a view, the grandchild of the process started
        (relay, then the namespace's init, then the worker; see confine.py),
        found by the grader from /proc, never taken from the worker's word."""
        if self._plan is None or self._plan.view is None:
            return self._proc.pid
        if self._worker_pid is None:
            self._init_pid, self._worker_pid = watch.find_worker(self._proc.pid)
        return self._worker_pid or self._proc.pid

    @contextlib.contextmanager
    def frozen(self):
        """Every process of this sandbox stopped (SIGSTOP) while the block runs:
        another sandbox timed meanwhile (a baseline) does not compete with
        whatever this one left running (threads, children burning the CPU)."""
        pids = self._sandbox_processes() if self._proc is not None else []
        watch.signal_all(self._group(), pids, signal.SIGSTOP)
        try:
            yield
        finally:
            pids += self._sandbox_processes() if self._proc is not None else []
            watch.signal_all(self._group(), pids, signal.SIGCONT)

    def _group(self) -> int | None:
        """The process group of the worker's process (its own session: see launch.start_worker); None: none."""
        return self._proc.pid if self._proc is not None else None

    def _sandbox_processes(self, most: int = 256) -> list[int]:
        """The worker, its descendants, and (with a cgroup) every process in it.

        With a filesystem view the process started is only a relay: the worker
        is found by ``_student_pid`` (a kernel without /proc/PID/task/*/children
        lists no descendants, and an unprivileged grader has no cgroup)."""
        student = self._student_pid()  # first: it finds the relay's init
        relay_and_init = set()
        if self._plan is not None and self._plan.view is not None:
            relay_and_init = {self._proc.pid, self._init_pid}
        return watch.sandbox_processes(student, self._plan.cgroup if self._plan is not None else None,
                                       relay_and_init, most)

    def _error_from(self, err: dict, func: str, output: str) -> StudentError:
        error = failures.error_from(err, func, output, self.display_name, self.limits, self._quota())
        if error.kind in failures.REPLACES_WORKER:
            self._kill()
        return error
