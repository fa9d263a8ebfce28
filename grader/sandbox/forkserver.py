"""A warm worker process that forks the sandboxes, so each one skips Python's
and NumPy's start-up (most of a sandbox's cost when its checks are quick).

One fork server per grader process, started on the first sandbox (or by
``Sandbox.warm_up``) and kept until the process ends. It runs the worker's
own code (``worker.py --fork-server``) in a scrubbed environment and its own
session, never runs student code, and forks one child per sandbox. The
grader decides everything about the child, as it does for a worker it starts
itself: it creates the pipes, the output file, the Landlock ruleset and the
cgroup, and sends them with the request; the child applies them to itself
(``confine.apply``) before it imports the student's module. The grader then
talks to the child directly, and watches it through a pidfd.

Where the fork server cannot be used (not Linux, no pidfd, or it stopped
answering) ``shared()`` returns None and sandboxes start their own worker;
``GRADER_FORK_SERVER=0`` asks for that too.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from grader.sandbox import runtime

_START_SECONDS = 60.0  # importing NumPy on a loaded machine
_REPLY_SECONDS = 10.0  # a fork and a reply: milliseconds when all is well


class ForkServerError(Exception):
    """The fork server did not do what was asked; the sandbox starts its own worker."""


class ForkedProcess:
    """A child of the fork server, with the part of ``subprocess.Popen`` a sandbox uses."""

    def __init__(self, server: "ForkServer", pid: int, pidfd: int):
        self.server, self.pid, self._pidfd = server, pid, pidfd
        self.returncode: int | None = None
        self._reaped = False

    def kill(self) -> None:
        if self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            except OSError:
                pass

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status (negative: killed by that signal), or None when the
        fork server can no longer say; ``TimeoutExpired`` if still running."""
        if self._reaped:
            return self.returncode
        if self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
        self.returncode = self.server.reap(self.pid)
        self._reaped = True
        self.close()
        return self.returncode

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class ForkServer:
    """The grader's handle on one fork server process.

    ``clients`` > 1: the same process also serves the handles in
    ``self.family`` (``self`` first), one socket each, for as many grader
    processes (see :func:`start`)."""

    def __init__(self, clients: int = 1, _of: "ForkServer | None" = None, _socket=None) -> None:
        self._lock = threading.Lock()
        self._started = False  # awaited on the first request: NumPy's import overlaps the caller's work
        if _of is not None:  # another handle on a server started below
            self.root, self.runtime, self.site, self._proc = _of.root, _of.runtime, _of.site, _of._proc
            self.owner, self._creator, self.family = _of.owner, _of._creator, _of.family
            self._socket = _socket
            return
        self.root = Path(tempfile.mkdtemp(prefix="forkserver-", dir=runtime.private_folder()))
        self.runtime, self.site = runtime.prepare(self.root)
        self.owner = self._creator = os.getpid()
        self.family = [self]
        pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(max(1, clients))]
        self._socket = pairs[0][0]
        theirs = [fd.fileno() for _, fd in pairs]
        try:
            self._proc = subprocess.Popen(
                [runtime.python(), "-I", "-S", "-B", str(self.runtime / "worker.py"), "--fork-server",
                 ",".join(map(str, theirs)), str(self.runtime), str(self.site)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd=self.root, env=runtime.environment(self.root), pass_fds=theirs,
                start_new_session=True,
            )
        except OSError as exc:
            for ours, _ in pairs[1:]:
                ours.close()
            self.close()
            raise ForkServerError(f"could not start: {exc}") from None
        finally:
            for _, fd in pairs:
                fd.close()
        self.family += [ForkServer(_of=self, _socket=ours) for ours, _ in pairs[1:]]

    def _await_start(self) -> None:
        ready = self._receive(_START_SECONDS)
        if ready.get("op") != "ready" or ready.get("pid") != self._proc.pid:
            self.close()
            raise ForkServerError("did not start")
        self._started = True

    def spawn(self, request: dict, fds: list[int], extra: dict[str, int]) -> ForkedProcess:
        """Fork a child that confines itself as ``request`` says, with ``fds``
        (its read pipe, write pipe and output file) and the ``extra`` ones
        (``ruleset``, ``cgroup``) handed over."""
        names = [name for name, fd in extra.items() if fd is not None]
        message = dict(request, op="spawn", extra=names)
        reply = self._ask(message, list(fds) + [extra[name] for name in names])
        pid = reply.get("pid")
        if type(pid) is not int or pid <= 0 or parent_of(pid) != self._proc.pid:
            self.close()
            raise ForkServerError("answered a spawn with no child of its own")
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            self.close()
            raise ForkServerError(f"its child vanished at once: {exc}") from None
        global _failures
        _failures = 0  # counted in a row: a server that works again is used again
        return ForkedProcess(self, pid, pidfd)

    def reap(self, pid: int) -> int | None:
        """The exit status of a child that has ended (None if the server cannot say)."""
        try:
            code = self._ask({"op": "reap", "pid": pid}, []).get("code")
        except ForkServerError:
            return None
        return code if type(code) is int else None

    def _ask(self, message: dict, fds: list[int]) -> dict:
        with self._lock:
            if self._socket is None:
                raise ForkServerError("closed")
            if not self._started:
                self._await_start()
            try:
                socket.send_fds(self._socket, [json.dumps(message).encode()], fds)
            except OSError as exc:
                self.close()
                raise ForkServerError(f"is gone ({exc})") from None
            return self._receive(_REPLY_SECONDS)

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._socket], [], [], max(remaining, 0))
            if ready:
                break
            if remaining <= 0:
                self.close()
                raise ForkServerError(f"did not answer within {timeout:g} s")
        try:
            data = self._socket.recv(1 << 16)
            reply = json.loads(data) if data else None
        except (OSError, ValueError):
            reply = None
        if type(reply) is not dict:
            self.close()
            raise ForkServerError("is gone")
        return reply

    @property
    def alive(self) -> bool:
        if self._socket is None:
            return False
        if os.getpid() == self._creator:
            return self._proc.poll() is None
        return parent_of(self._proc.pid) == self._creator  # adopted (see adopt): not this process's child

    def close(self) -> None:
        if getattr(self, "_socket", None) is not None:
            self._socket.close()  # the server ends when its sockets close (every copy of each)
            self._socket = None
        if os.getpid() != getattr(self, "_creator", os.getpid()):
            return  # adopted: its creator waits for it and removes its folder
        if any(handle._socket is not None for handle in getattr(self, "family", ())):
            return  # the server still serves the others; the last one closed waits for it
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def parent_of(pid: int) -> int | None:
    """The parent's pid of ``pid``, read from /proc (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


_server: ForkServer | None = None
_failures = 0
_MAX_FAILURES = 3  # in a row; then this process stops trying: each try may cost a timeout


def supported() -> bool:
    return hasattr(os, "pidfd_open") and hasattr(socket, "send_fds") and os.path.isdir("/proc/self")


def enabled() -> bool:
    return os.environ.get("GRADER_FORK_SERVER", "1") != "0" and supported() and _failures < _MAX_FAILURES


def shared() -> ForkServer | None:
    """This process's fork server, started on first use; None when it cannot be had."""
    global _server, _failures
    if not enabled():
        return None
    if _server is not None and (_server.owner != os.getpid() or not _server.alive):
        if _server.owner == os.getpid():
            _server.close()
            _failures += 1
        _server = None  # a forked grader process starts its own
    if _server is None:
        try:
            _server = ForkServer()
        except ForkServerError:
            _failures += 1
            _server = None
    return _server


def start(count: int) -> list[ForkServer]:
    """Start one fork server now, importing NumPy while the caller goes on,
    with ``count`` handles on it for as many processes forked next to
    :func:`adopt` one each (``grader check --all``'s jobs). One server for
    all: it only forks, in milliseconds, and each more would cost a core
    NumPy's import while the jobs start. None where it cannot be started."""
    if not enabled() or count < 1:
        return []
    try:
        return list(ForkServer(clients=count).family)
    except ForkServerError:
        return []


def adopt(servers: list[ForkServer], index: int) -> None:
    """In a process forked after :func:`start`: ``servers[index]`` (if there
    is one) becomes this process's own, and its copies of the others'
    sockets are closed; a server ends once its creator and its adopter have
    closed theirs."""
    global _server
    for i, server in enumerate(servers):
        if i != index and server._socket is not None:
            server._socket.close()
            server._socket = None
    if 0 <= index < len(servers):
        servers[index].owner = os.getpid()
        _server = servers[index]


def _close_at_exit() -> None:
    if _server is not None and _server.owner == os.getpid():
        _server.close()


atexit.register(_close_at_exit)
