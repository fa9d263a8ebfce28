"""The sandbox survives misbehaving student code and says what happened in one line."""

import os
import sys
import textwrap
import time

import numpy as np
import pytest

from grader.sandbox import forkserver
from grader.sandbox.client import Limits, Sandbox, StudentError


@pytest.fixture(params=[
    pytest.param(True, id="forked", marks=pytest.mark.skipif(
        not forkserver.supported(), reason="the fork server needs Linux's pidfds")),
    pytest.param(False, id="started"),
])
def make(tmp_path, request):
    """Sandboxes whose workers come from the fork server (forked) or start their
    own interpreter (started): every test here holds for both."""
    boxes = []
    use_fork_server = request.param

    def _make(source: str, **limits) -> Sandbox:
        path = tmp_path / f"student{len(boxes)}.py"
        path.write_text(textwrap.dedent(source))
        box = Sandbox(path, "student", Limits(**{"call_seconds": 3, "total_seconds": 30, **limits}),
                      display_name="student.py", use_fork_server=use_fork_server)
        boxes.append(box)
        return box

    yield _make
    for box in boxes:
        if box.restarts >= 0:
            assert box.forked == use_fork_server, "the worker started the way this test asked"
        box.close()


def fails(box, func, *args):
    with pytest.raises(StudentError) as info:
        box.call(func, *args)
    return info.value


GOOD = "\ndef good(x):\n    return x * 2\n"


def test_values_round_trip_with_fresh_copies_and_mutation_report(make):
    box = make("""
        import numpy as np
        def double(x):
            return x * 2
        def scale_in_place(x):
            x *= 3
            return x
    """)
    x = np.arange(6.0).reshape(2, 3)
    result = box.call("double", x)
    assert np.array_equal(result.value, x * 2) and result.value.dtype == np.float64
    assert result.mutated == []
    result = box.call("scale_in_place", x)
    assert result.mutated == [[0, None]]
    assert np.array_equal(x, np.arange(6.0).reshape(2, 3)), "the grader's own array is never touched"


def test_student_cache_stays_in_the_sandbox_and_comes_back_by_reference(make):
    box = make("""
        class Cache:
            def __init__(self, x):
                self.x = x
        def forward(x):
            return x + 1, Cache(x)
        def backward(d, cache):
            return d * cache.x
    """)
    fwd = box.call("forward", np.array([2.0, 3.0]))
    assert "Cache" in repr(fwd.value[1])
    assert np.array_equal(box.call("backward", np.ones(2), fwd.ref(1)).value, [2.0, 3.0])


def test_infinite_loop_times_out_and_the_next_call_still_works(make):
    box = make("def hang():\n    while True:\n        pass\n" + GOOD, call_seconds=1)
    start = time.monotonic()
    err = fails(box, "hang")
    assert err.kind == "timeout" and "did not finish within the 1 s limit per call" in err.cause
    assert time.monotonic() - start < 5
    assert box.call("good", 2.0).value == 4.0


def test_hang_at_import_fails_every_check_once(make):
    box = make("while True:\n    pass\n" + GOOD, call_seconds=1)
    start = time.monotonic()
    err = fails(box, "good", 1.0)
    assert "could not be imported" in err.cause and "did not finish" in err.cause
    err2 = fails(box, "good", 1.0)
    assert err2.cause == err.cause
    assert time.monotonic() - start < 4, "the second check does not wait for the limit again"


def test_memory_hog_gets_a_memory_error(make):
    box = make("import numpy as np\ndef hog():\n    return np.ones((2048, 1024, 1024))\n" + GOOD, memory_mb=512)
    err = fails(box, "hog")
    assert err.kind == "memory" and "ran out of memory (the limit is 512 MB)" in err.cause
    assert box.call("good", 1.0).value == 2.0


@pytest.mark.parametrize("body,needle", [
    ("import sys\n    sys.exit(0)", "called sys.exit(0)"),
    ("import os\n    os._exit(0)", "ended the process"),
    ("import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("import os, signal\n    os.killpg(os.getpgrp(), signal.SIGTERM)", "died"),
])
def test_exits_and_kills_are_reported_and_survived(make, body, needle):
    box = make(f"def bye():\n    {body}\n" + GOOD)
    err = fails(box, "bye")
    assert needle in err.cause
    assert box.call("good", 3.0).value == 6.0


def test_exit_at_import(make):
    err = fails(make("import sys\nsys.exit(3)\n" + GOOD), "good", 1.0)
    assert err.cause == "student.py could not be imported: it called sys.exit(3) at import time"


def test_exception_shows_the_students_traceback_not_the_graders(make):
    box = make("""
        def helper(x):
            return x / 0
        def compute(x):
            return helper(x)
    """)
    err = fails(box, "compute", 1.0)
    assert err.cause == "`compute` raised ZeroDivisionError: float division by zero"
    assert 'File "student.py", line 5, in compute' in err.details
    assert 'File "student.py", line 3, in helper' in err.details
    assert "worker.py" not in str(err) and "grader" not in err.details


def test_syntax_error_is_pointed_at(make):
    err = fails(make("def f(:\n    pass\n"), "f")
    assert "could not be imported: SyntaxError" in err.cause
    assert "student.py" in err.details and "line 1" in err.details
    assert "grader-sandbox-" not in err.details + err.cause, "no run-specific path: the same feedback every run"


def test_missing_function_and_not_implemented(make):
    box = make("def stub(x):\n    raise NotImplementedError\n")
    assert "has no function `nope`" in fails(box, "nope").cause
    assert "not implemented yet" in fails(box, "stub", 1).cause


def test_forbidden_import_is_refused_with_a_clear_message(make):
    err = fails(make("def f():\n    import torch\n"), "f")
    assert "importing 'torch' is not allowed" in err.cause


@pytest.mark.parametrize("name", ["scipy.special", "sklearn"])
def test_libraries_that_would_do_the_work_are_refused(make, name):
    # NumPy only: importable or not on this machine, the blocker refuses them by name.
    err = fails(make(f"def f():\n    import {name}\n"), "f")
    assert f"importing {name.split('.')[0]!r} is not allowed" in err.cause


def test_forbidden_library_loaded_behind_the_blocker_is_caught(make):
    # Remove the import blocker and put the real site-packages back on the path:
    # the trusted side still sees libtorch in the process's memory maps.
    site = os.path.dirname(os.path.dirname(np.__file__))
    box = make(f"""
        import sys
        def sneak():
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
            sys.path.append({site!r})
            import torch
            return 1.0
    """, call_seconds=60, memory_mb=8192)
    err = fails(box, "sneak")
    # Landlock makes torch's files unreadable; without it, the memory maps tell.
    assert err.kind == "forbidden" and "loaded torch" in err.cause or \
        err.kind == "exception" and ("No module named 'torch'" in err.cause or "Permission denied" in err.cause)


def test_output_flood_is_cut_off(make):
    box = make("import sys\ndef flood():\n    sys.stdout.write('x' * (100 * 1024 * 1024))\n    sys.stdout.flush()\n"
               + GOOD, output_kb=1024)
    err = fails(box, "flood")
    assert "output limit" in err.cause
    assert box.call("good", 1.0).value == 2.0


def test_deep_recursion(make):
    box = make("def r(n):\n    return r(n + 1)\n" + GOOD)
    assert "recursed too deeply" in fails(box, "r", 0).cause


def test_total_time_budget(make):
    box = make("def hang():\n    while True:\n        pass\n\n\ndef hang2():\n    while True:\n        pass\n" + GOOD,
               call_seconds=1, total_seconds=1.5)
    fails(box, "hang")
    fails(box, "hang2")
    err = fails(box, "good", 1.0)
    assert err.kind == "budget" and "time budget" in err.cause


def test_a_function_that_timed_out_is_not_run_again(make):
    box = make("def hang():\n    while True:\n        pass\n" + GOOD, call_seconds=1)
    box.check_name = "test_first"
    fails(box, "hang")
    start = time.monotonic()
    err = fails(box, "hang")  # at once, not after another second
    assert time.monotonic() - start < 1  # less than the limit: it did not wait for it
    assert err.kind == "timeout" and err.cause == "`hang` not run again: it timed out in test_first (1 s)"
    assert box.call("good", 2.0).value == 4.0  # the other functions are still graded


def test_lying_objects_cross_as_plain_data(make):
    box = make("""
        import numpy as np
        class Liar(np.ndarray):
            def __eq__(self, other):
                return True
            def __array__(self, *a, **k):
                return np.full(self.shape, 42.0)
            def __float__(self):
                return 42.0
            def __len__(self):
                raise RuntimeError("no")
        class Weird:
            def __float__(self):
                return 1.0
            def __eq__(self, other):
                return True
        def liar():
            return np.zeros(3).view(Liar)
        def weird():
            return Weird()
        def nan():
            return np.array([np.nan, np.inf])
    """)
    value = box.call("liar").value
    assert type(value) is np.ndarray and np.array_equal(value, np.zeros(3)), "raw memory, not __array__"
    assert "Weird" in repr(box.call("weird").value)
    got = box.call("nan").value
    assert np.isnan(got[0]) and np.isinf(got[1])


def test_printed_text_is_sanitised(make):
    box = make("def loud():\n    print('\\x1b[2J::error::fake\\n::set-output name=x::1')\n    return 0.0\n")
    out = box.call("loud").output
    assert "\x1b" not in out
    assert not any(line.startswith("::") for line in out.splitlines())


def test_environment_is_scrubbed(make, monkeypatch):
    monkeypatch.setenv("GRADER_SEED", "999")
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    box = make("import os\ndef env():\n    return ' '.join(sorted(os.environ))\n")
    names = box.call("env").value.split()
    assert "GRADER_SEED" not in names and "GITHUB_TOKEN" not in names


def test_sandbox_cannot_import_grader_or_solutions(make):
    box = make("""
        def probe():
            found = []
            for name in ("grader", "solutions", "pytest", "yaml"):
                try:
                    __import__(name)
                    found.append(name)
                except ImportError:
                    pass
            return ",".join(found)
    """)
    assert box.call("probe").value == ""


@pytest.mark.skipif(sys.platform != "linux", reason="process groups and /proc are Linux features here")
def test_fork_bomb_is_contained(make):
    box = make("""
        import os
        def bomb():
            for _ in range(200):
                try:
                    if os.fork() == 0:
                        import time
                        time.sleep(60)
                        os._exit(0)
                except OSError:
                    break
            while True:
                pass
    """, call_seconds=2)
    box.start()
    group = box._proc.pid
    err = fails(box, "bomb")
    assert err.kind == "timeout"
    time.sleep(0.5)
    assert _live_processes_in_group(group) == [], "every process of the student's group is gone"


def _live_processes_in_group(group):
    live = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            state, pgrp = fields[0], int(fields[2])
            if pgrp == group and state != "Z":  # zombies wait for init to reap them
                live.append(int(entry))
    return live


# -- operating-system isolation (Landlock, namespaces, cgroups where available) --

from grader.sandbox import isolation  # noqa: E402

needs_landlock = pytest.mark.skipif(isolation.landlock_abi() == 0, reason="this kernel has no Landlock")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@needs_landlock
def test_checkout_and_hidden_reference_are_unreadable_and_unwritable(make):
    box = make(f"""
        import os
        def peek():
            out = []
            for path in ({ROOT!r} + "/solutions/ex01_sigmoid/sigmoid.py", {ROOT!r} + "/README.md"):
                try:
                    open(path).read()
                    out.append("read " + path)
                except OSError:
                    pass
            try:
                os.listdir({ROOT!r})
                out.append("listed")
            except OSError:
                pass
            for path in ({ROOT!r} + "/exercises/ex01_sigmoid/exercise.yaml", {ROOT!r} + "/planted.txt"):
                try:
                    open(path, "a").write("points: 1000")
                    out.append("wrote " + path)
                except OSError:
                    pass
            return ";".join(out)
    """)
    assert box.call("peek").value == ""
    assert not os.path.exists(os.path.join(ROOT, "planted.txt"))


@needs_landlock
def test_grader_cannot_be_signalled_and_its_environment_is_hidden(make):
    # The parent is the grader, or the fork server; the grader's pid is given too.
    box = make(f"""
        import os, signal
        def attack():
            out = []
            for pid in (os.getppid(), {os.getpid()}):
                try:
                    os.kill(pid, signal.SIGKILL)
                    out.append("killed")
                except OSError:
                    pass
                try:
                    out.append(open(f"/proc/{{pid}}/environ").read()[:10])
                except OSError:
                    pass
            return ";".join(out)
    """)
    assert box.call("attack").value == ""


@needs_landlock
def test_no_network(make):
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    box = make(f"""
        import socket
        def connect():
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                return "connected"
            except OSError as e:
                return "refused"
    """)
    try:
        assert box.call("connect").value == "refused"
    finally:
        server.close()


def test_isolation_in_effect_is_reported(make):
    box = make(GOOD)
    box.call("good", 1.0)
    features = box.isolation
    assert "rlimits" in features and "own process group" in features
    if isolation.landlock_abi():
        assert any(f.startswith("landlock") for f in features)


def test_opaque_values_inside_results_go_back_to_the_student(make):
    box = make("""
        import collections
        class Token:
            def __init__(self, v):
                self.v = v
        def first():
            return "unrelated"
        def make_state(x):
            return collections.OrderedDict(w=x, token=Token(x * 3))
        def read(state):
            return state["token"].v
    """)
    box.call("first")
    state = box.call("make_state", 2.0).value
    assert type(state) is dict and state["w"] == 2.0  # a dict subclass arrives as a plain dict
    assert box.call("read", state).value == 6.0  # the opaque Token is resolved from the right call
