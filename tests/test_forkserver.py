"""The fork server: warm workers that behave exactly like freshly started ones.

Everything in test_sandbox.py runs both ways (forked and started); these are
the properties only a long-lived parent process could break: one student's
changes must not reach the next, a broken server must not cost a student
anything, and nothing may be left behind.
"""

import os
import signal
import textwrap
import time

import numpy as np
import pytest

from grader.sandbox import forkserver
from grader.sandbox.client import Limits, Sandbox

pytestmark = pytest.mark.skipif(not forkserver.supported(), reason="the fork server needs Linux's pidfds")


@pytest.fixture
def make(tmp_path, monkeypatch):
    monkeypatch.setattr(forkserver, "_failures", 0)  # this test's failures are its own
    boxes = []

    def _make(source: str) -> Sandbox:
        path = tmp_path / f"student{len(boxes)}.py"
        path.write_text(textwrap.dedent(source))
        box = Sandbox(path, "student", Limits(call_seconds=5, total_seconds=30), display_name="student.py")
        boxes.append(box)
        return box

    yield _make
    for box in boxes:
        box.close()


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def test_one_students_changes_to_the_process_do_not_reach_the_next(make):
    cheat = make("""
        import numpy as np, sys, os
        np.mean = lambda *a, **k: 42.0           # a "helpful" patch of NumPy
        np.random.seed(0)
        sys.modules["builtins"].sum = lambda *a: 42
        open("left_behind.txt", "w").write("for the next student")
        def ping():
            return float(np.mean(np.ones(3)))
    """)
    assert cheat.call("ping").value == 42.0 and cheat.forked
    honest = make("""
        import numpy as np, os
        def check(x):
            return [float(np.mean(x)), float(sum([1, 2])), os.path.exists("left_behind.txt")]
    """)
    assert honest.call("check", np.array([1.0, 2.0, 3.0])).value == [2.0, 3.0, False]
    assert honest.forked


def test_each_worker_draws_its_own_random_numbers(make):
    source = """
        import numpy as np, random
        def draw():
            return [float(v) for v in np.random.rand(3)] + [random.random()]
    """
    first, second = make(source), make(source)
    a, b = first.call("draw").value, second.call("draw").value
    assert first.forked and second.forked
    assert a[:3] != b[:3] and a[3] != b[3], "forked workers must not share a random state"


def test_a_killed_fork_server_is_replaced_and_costs_no_student_anything(make):
    before = make("def f(x):\n    return x + 1\n")
    assert before.call("f", 1).value == 2 and before.forked
    old = forkserver.shared()
    old._proc.kill()
    old._proc.wait()
    after = make("def f(x):\n    return x + 1\n")
    assert after.call("f", 1).value == 2
    assert after.forked and forkserver.shared() is not old


def test_a_hung_fork_server_falls_back_to_a_worker_of_its_own(make, monkeypatch):
    monkeypatch.setattr(forkserver, "_REPLY_SECONDS", 0.5)
    warm = make("def f(x):\n    return x + 1\n")
    assert warm.call("f", 1).value == 2 and warm.forked
    stuck = forkserver.shared()
    os.kill(stuck._proc.pid, signal.SIGSTOP)
    try:
        box = make("def f(x):\n    return x * 10\n")
        start = time.monotonic()
        assert box.call("f", 2).value == 20
        assert not box.forked, "the sandbox started its own worker"
        assert time.monotonic() - start < 10
        assert stuck._proc.poll() is not None, "the stuck server was put down"
    finally:
        try:
            os.kill(stuck._proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    again = make("def f(x):\n    return x - 1\n")
    assert again.call("f", 1).value == 0 and again.forked, "a fresh server serves the next sandbox"


def test_the_fork_server_keeps_no_children_of_closed_sandboxes(make):
    for source in ("def f():\n    return 1\n",
                   "import os\ndef f():\n    os._exit(3)\n",
                   "def f():\n    while True:\n        pass\n"):
        box = make(source)
        try:
            box.call("f")
        except Exception:
            pass
        box.close()
    server = forkserver.shared()
    assert server is not None and server.alive
    deadline = time.monotonic() + 5
    while _children_of(server._proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _children_of(server._proc.pid) == [], "no zombie or stray child is kept"


def _in_a_forked_job(servers, index, source_path) -> tuple:
    """What `grader check --all`'s job ``index`` sees: it adopts a handle, grades one sandbox."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 1
        try:
            forkserver.adopt(servers, index)
            with Sandbox(source_path, "student", Limits(call_seconds=5, total_seconds=30)) as box:
                value = box.call("f", index).value
                worker_parent = forkserver.parent_of(box._proc.pid)
            os.write(write, f"{value} {int(box.forked)} {worker_parent}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as f:
        reply = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    value, forked, worker_parent = reply.split()
    return int(value), forked == "1", int(worker_parent)


def test_one_fork_server_serves_every_job_that_adopts_a_handle(tmp_path, monkeypatch):
    monkeypatch.setattr(forkserver, "_failures", 0)
    source = tmp_path / "student.py"
    source.write_text("def f(x):\n    return x + 100\n")
    servers = forkserver.start(2)
    assert len(servers) == 2 and len({s._proc.pid for s in servers}) == 1, "one process, two handles"
    server_pid, root = servers[0]._proc.pid, servers[0].root
    try:
        assert _in_a_forked_job(servers, 0, source) == (100, True, server_pid)
        # The first handle closed everywhere (its job has ended): the server goes on for the second.
        servers[0].close()
        assert _in_a_forked_job(servers, 1, source) == (101, True, server_pid)
    finally:
        for server in servers:
            server.close()
    assert servers[1]._proc.poll() is not None, "ended once every handle was closed"
    assert not root.exists(), "its folder removed"


def test_exit_status_comes_through_the_fork_server(make):
    box = make("import os\ndef f():\n    os._exit(7)\n")
    with pytest.raises(Exception) as info:
        box.call("f")
    assert box.forked
    assert "exit status 7" in str(info.value)


def test_can_be_turned_off(make, monkeypatch):
    monkeypatch.setenv("GRADER_FORK_SERVER", "0")
    box = make("def f():\n    return 1\n")
    assert box.call("f").value == 1 and not box.forked


def test_warm_up_starts_the_fork_server_without_waiting_for_it(make, monkeypatch):
    monkeypatch.setattr(forkserver, "_server", None)  # a fresh one, so its start is this test's
    box = make("def f():\n    return 1\n")
    box.warm_up()
    server = forkserver._server
    try:
        assert server is not None and not server._started  # its start not awaited yet
        assert box._proc is None                            # no worker forked yet
        assert box.call("f").value == 1 and box.forked and server._started
    finally:
        box.close()
        if server is not None:
            server.close()


def test_warm_up_without_the_fork_server_starts_the_worker(make, monkeypatch):
    monkeypatch.setenv("GRADER_FORK_SERVER", "0")
    box = make("def f():\n    return 1\n")
    box.warm_up()
    assert box._proc is not None and not box.forked
    assert box.call("f").value == 1


def test_forked_workers_are_confined_like_started_ones(make):
    """The same limits, in the process itself: read back from /proc/self."""
    source = """
        import os, resource
        def report():
            limits = [list(resource.getrlimit(getattr(resource, name))) for name in
                      ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE")]
            fds = []
            for fd in range(64):
                try:
                    os.fstat(fd)
                    fds.append(fd)
                except OSError:
                    pass
            home = os.environ.get("HOME") == os.environ.get("TMPDIR") == os.getcwd()
            return [os.getsid(0) in (os.getpid(), 0), dict(os.environ, HOME=home, TMPDIR=home),
                    os.getcwd().endswith("work"), limits, len(fds), os.getuid()]
    """
    forked = make(source)
    a = forked.call("report").value
    started = Sandbox(forked.source, "student", forked.limits, use_fork_server=False)
    try:
        b = started.call("report").value
    finally:
        started.close()
    assert forked.forked and not started.forked
    assert a == b, "own session, environment, folder, limits, open files and user are the same both ways"
    assert a[0] is True and a[1]["HOME"] is True and a[3][0][0] == forked.limits.memory_mb * 2**20
