"""What earns points is established by the grader, whatever the student's process says.

Input mutation is read back from the shared memory the grader placed the inputs
in; a forbidden library is seen in the process's memory maps, however it got
there. Each attack here takes over the worker (it shares the student's process)
and would keep the point if the grader believed it.
"""

import os
import sys
import textwrap
import time

import numpy as np
import pytest

from grader.sandbox import forkserver
from grader.sandbox.client import Limits, Sandbox, StudentError
from grader.sandbox.wire import Ref


@pytest.fixture(params=[
    pytest.param(True, id="forked", marks=pytest.mark.skipif(
        not forkserver.supported(), reason="the fork server needs Linux's pidfds")),
    pytest.param(False, id="started"),
])
def make(tmp_path, request):
    boxes = []

    def _make(source: str, **limits) -> Sandbox:
        path = tmp_path / f"student{len(boxes)}.py"
        path.write_text(textwrap.dedent(source))
        box = Sandbox(path, "student", Limits(**{"call_seconds": 5, "total_seconds": 60, **limits}),
                      display_name="student.py", use_fork_server=request.param)
        boxes.append(box)
        return box

    yield _make
    for box in boxes:
        box.close()


# Takes over the worker (the module running as __main__ in the sandbox): its own
# mutation check, if it has one, says "nothing changed", and every reply it sends
# claims the same; then changes the inputs in place.
SUBVERT_THE_WORKER = """
    import sys, gc
    worker = sys.modules["__main__"]
    if hasattr(worker, "_mutated"):
        worker._mutated = lambda *args, **kwargs: []
    _send = worker._Channel.send
    def _lying_send(self, msg):
        if isinstance(msg, dict) and msg.get("ok"):
            msg["mutated"] = []
        return _send(self, msg)
    worker._Channel.send = _lying_send
    for obj in gc.get_objects():
        if type(obj).__name__ == "_Channel":
            obj.send = _lying_send.__get__(obj)
"""


def test_a_mutation_hidden_by_a_subverted_worker_is_still_seen(make):
    box = make(SUBVERT_THE_WORKER + """
    def scale(x, params):
        x *= 2
        params["W"][0, 0] = 99.0
        return x.sum()
    """)
    x, params = np.arange(6.0).reshape(2, 3), {"W": np.ones((2, 2)), "b": 0.5}
    result = box.call("scale", x, params)
    assert result.value == 30.0
    assert sorted(result.mutated, key=str) == [[0, None], [1, "W"]]
    assert np.array_equal(x, np.arange(6.0).reshape(2, 3)), "the grader's own arrays are never touched"


def test_a_wrapper_that_copies_its_inputs_changes_nothing(make):
    box = make(SUBVERT_THE_WORKER + """
    import numpy as np
    def _scale(x, params):
        x *= 2
        params["W"] += 1
        return x
    def scale(x, params):
        return _scale(x.copy(), {k: np.copy(v) for k, v in params.items()})
    def reshape_only(x):
        x.shape = (-1,)  # the object, not the data the caller sees
        return x
    """)
    x = np.arange(6.0).reshape(2, 3)
    result = box.call("scale", x, {"W": np.ones(2)})
    assert np.array_equal(result.value, x * 2) and result.mutated == []
    assert box.call("reshape_only", x).mutated == []


def test_keyword_arguments_and_every_dtype_are_checked(make):
    box = make("""
    def touch(a, b=None, c=None):
        b[...] = 1
        c.flat[-1] = not c.flat[-1] if c.dtype == bool else c.flat[-1] + 1
        return 0.0
    """)
    for dtype in (np.float32, np.int64, np.uint8, np.bool_, np.complex128, ">f8"):
        c = np.zeros((3, 2), dtype=dtype)
        result = box.call("touch", np.ones(2), b=np.zeros(4, dtype=dtype), c=c)
        assert sorted(result.mutated, key=str) == [["b", None], ["c", None]], dtype


def test_a_nan_written_over_a_nan_is_not_a_change_but_a_new_nan_is(make):
    box = make("""
    import numpy as np
    def same(x):
        x[np.isnan(x)] = np.nan
        return 0.0
    def poison(x):
        x[0] = np.nan
        return 0.0
    """)
    x = np.array([np.nan, 1.0, 2.0])
    assert box.call("same", x).mutated == []
    assert box.call("poison", np.array([0.0, 1.0])).mutated == [[0, None]]


def test_stored_inputs_are_checked_and_restored_for_the_next_call(make):
    box = make(SUBVERT_THE_WORKER + """
    def total(x):
        return float(x.sum())
    def clobber(x):
        x[:] = 0
        return 0.0
    def clobber_w(params):
        params["W"][:] = 0
        return 0.0
    """)
    x = np.arange(1.0, 5.0)
    ref = box.store(x)
    assert box.call("clobber", ref).mutated == [[0, None]]
    assert box.call("total", ref).value == 10.0, "the next call sees the input the grader stored"
    stored = box.store({"W": np.ones(3), "b": 2.0})
    assert box.call("clobber_w", stored).mutated == [[0, "W"]]
    assert box.call("clobber", Ref([stored.path[0], "W"])).mutated == [[0, None]]
    assert box.call("total", Ref([stored.path[0], "W"])).value == 3.0


def test_inputs_the_student_keeps_stay_valid_in_later_calls(make):
    # A cache holding the input array itself (as a forward pass often does).
    box = make("""
    class Cache:
        def __init__(self, x):
            self.x = x
    def forward(x):
        return x + 1, Cache(x)
    def backward(cache):
        return cache.x * 10
    """)
    calls = [box.call("forward", np.full(3, float(i))) for i in range(80)]  # more than the open-files limit
    for i in (0, 41, 79):
        assert np.array_equal(box.call("backward", calls[i].ref(1)).value, np.full(3, 10.0 * i))


def test_large_inputs_round_trip(make):
    box = make("def total(x):\n    return float(x.sum())\n", memory_mb=1024)
    x = np.ones((4000, 4000))  # 128 MB
    assert box.call("total", x).value == x.size


def test_closing_the_grader_channel_costs_only_that_call(make):
    box = make("""
    import os, stat
    def close_sockets():
        for fd in range(3, 256):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)
            except OSError:
                pass
        return 0.0
    def total(x):
        return float(x.sum())
    """)
    assert box.call("close_sockets").value == 0.0
    with pytest.raises(StudentError) as info:
        box.call("total", np.ones(3))
    assert "could not be given the inputs" in info.value.cause
    assert box.call("total", np.ones(3)).value == 3.0, "a fresh worker takes the next call"


def test_unmapping_or_truncating_the_inputs_fails_only_that_student(make):
    box = make("""
    import ctypes, os, mmap
    libc = ctypes.CDLL(None)
    def unmap(x):
        libc.munmap(ctypes.c_void_p(x.ctypes.data & ~(mmap.PAGESIZE - 1)), ctypes.c_size_t(mmap.PAGESIZE))
        return 0.0
    _close = os.close
    def _truncate_then_close(fd):  # every descriptor the worker closes: the inputs' file too
        for size in (0, 1 << 30):
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
        _close(fd)
    def truncate(x):
        os.close = _truncate_then_close
        return float(x.sum())
    def total(x):
        return float(x.sum())
    """)
    box.call("unmap", np.ones(3))  # gone from its process; the grader's file is intact
    assert box.call("total", np.ones(3)).value == 3.0
    box.call("truncate", np.ones(3))
    # Sealed against shrinking and growing: the next call's file keeps its size,
    # and the grader, which never maps it, reads back exactly what it wrote.
    result = box.call("total", np.ones(3))
    assert result.value == 3.0 and result.mutated == []


# -- forbidden libraries, by any route ------------------------------------------------

def _base_site_packages():
    """The base interpreter's site-packages, where a package outside the grader's
    virtual environment (SciPy, say) may be installed."""
    import sysconfig
    return sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_exec_prefix})["purelib"]


SNEAK_PAST_THE_BLOCKER = """
    import sys
    def _unblock(extra_path=None):
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
        if extra_path:
            sys.path.append(extra_path)
"""


@pytest.mark.skipif(not os.path.isdir(os.path.join(_base_site_packages(), "scipy")),
                    reason="SciPy is not installed in the base Python here (the copied-package test covers the route)")
def test_scipy_from_the_base_python_is_caught(make):
    box = make(SNEAK_PAST_THE_BLOCKER + f"""
    def sigmoid(z):
        _unblock({_base_site_packages()!r})
        from scipy.special import expit
        return expit(z)
    """, memory_mb=4096)
    with pytest.raises(StudentError) as info:
        box.call("sigmoid", np.zeros(3))
    err = info.value
    # A filesystem view without SciPy stops the import; otherwise the memory maps tell.
    assert err.kind == "forbidden" and "loaded scipy" in err.cause or \
        err.kind == "exception" and ("No module named 'scipy'" in err.cause or "Permission denied" in err.cause), \
        err.cause


# A package named like a forbidden one, built by the student in its own folder
# from a shared object it can read (one of NumPy's): importable only past the
# blocker, and loaded into the process like the real library would be.
FAKE_PACKAGE = SNEAK_PAST_THE_BLOCKER + """
    import glob, os, shutil, importlib
    import numpy as np
    def _fake(package, module):
        source = sorted(glob.glob(os.path.join(os.path.dirname(np.__file__), "_core", "_multiarray_tests*.so")))[0]
        folder = os.path.join(os.getcwd(), *package.split("."))
        os.makedirs(folder, exist_ok=True)
        for level in range(len(package.split("."))):
            init = os.path.join(os.getcwd(), *package.split(".")[:level + 1], "__init__.py")
            if not os.path.exists(init):
                open(init, "w").close()
        shutil.copy(source, os.path.join(folder, os.path.basename(source)))
        _unblock()
        importlib.invalidate_caches()
        return importlib.import_module(package + "._multiarray_tests")
"""


@pytest.mark.parametrize("package,library", [("scipy.special", "scipy"), ("sklearn.utils", "sklearn"),
                                             ("numba.core", "numba"), ("llvmlite.binding", "numba")])
def test_a_forbidden_package_loaded_by_any_route_is_caught(make, package, library):
    box = make(FAKE_PACKAGE + f"""
    def sigmoid(z):
        _fake({package!r}, None)
        return 1 / (1 + np.exp(-z))
    def good(z):
        return z * 2
    """, memory_mb=2048)
    with pytest.raises(StudentError) as info:
        box.call("sigmoid", np.zeros(3))
    assert _forbidden_or_unloadable(info.value, library), info.value.cause
    assert box.call("good", 1.0).value == 2.0, "the next check runs in a fresh worker"


def _forbidden_or_unloadable(err, library):
    """Caught by the memory maps; or, where the sandbox's folder allows no code to be
    mapped from it (a noexec mount), the shared object could not be loaded at all."""
    return err.kind == "forbidden" and f"loaded {library}" in err.cause or \
        err.kind == "exception" and "failed to map segment" in err.cause


def test_numpy_own_libraries_are_not_mistaken_for_scipy(make):
    # NumPy's wheels ship libscipy_openblas: an honest NumPy user must not be refused.
    box = make("import numpy as np\ndef f(a):\n    return float(np.linalg.det(a @ a.T + np.eye(3)))\n")
    assert box.call("f", np.eye(3)).value == pytest.approx(8.0)


def test_a_forbidden_library_in_a_child_process_is_caught(make):
    box = make(FAKE_PACKAGE + """
    import os, time
    def sigmoid(z):
        pid = os.fork()
        if pid == 0:
            try:
                _fake("scipy.special", None)
            except ImportError:
                os._exit(3)
            time.sleep(30)
            os._exit(0)
        time.sleep(1.5)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return -1.0  # the child could not load it
        return 1 / (1 + np.exp(-z))
    """, memory_mb=2048)
    try:
        value = box.call("sigmoid", np.zeros(3)).value
    except StudentError as err:
        assert err.kind == "forbidden" and "loaded scipy" in err.cause, err.cause
    else:
        assert value == -1.0, "the child loaded the library and nothing saw it"
        pytest.skip("no shared object can be loaded from the sandbox's folder here")



def test_a_student_holding_every_open_file_is_told_why_its_call_fails(make):
    box = make("""
    import os
    held = []
    def hog(x):
        while True:
            try:
                held.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                return 0.0
    def total(x):
        return float(x.sum())
    """, open_files=32)
    assert box.call("hog", np.ones(2)).value == 0.0
    with pytest.raises(StudentError) as info:
        box.call("total", np.ones(2))
    assert "could not take the inputs of `total`" in info.value.cause and "too many open files" in info.value.cause


def test_a_frozen_sandbox_burns_no_cpu_while_another_is_timed(make):
    # A thread left spinning in the student's process would slow a baseline
    # timed meanwhile (and flatter the student's ratio): frozen, it stops.
    box = make("""
    import threading
    count = [0]
    def _spin():
        while True:
            count[0] += 1
    def start():
        threading.Thread(target=_spin, daemon=True).start()
        return 0.0
    def read():
        return float(count[0])
    """)
    box.call("start")
    first = box.call("read").value
    time.sleep(0.5)
    free = box.call("read").value - first  # counted in half a second running free
    with box.frozen():  # (no call in here: a stopped worker does not answer)
        time.sleep(0.5)
    frozen = box.call("read").value - first - free
    assert free > 0 and frozen < free / 3, (free, frozen)


def test_the_inputs_file_is_sealed_and_a_shrunk_one_reads_as_changed(monkeypatch):
    from grader.sandbox import shared_inputs

    shared = shared_inputs.place([(["args", 0], np.arange(1000.0))])
    if hasattr(os, "memfd_create"):
        with pytest.raises(OSError):
            os.ftruncate(shared.fd, 0)  # the student cannot shrink what the grader reads back
    shared.close()
    # Where no seal is to be had (no memfd), a shrunk file is a changed input, never a fault.
    monkeypatch.delattr(os, "memfd_create", raising=False)
    shared = shared_inputs.place([(["args", 0], np.arange(1000.0)), (["args", 1, "W"], np.ones(3))])
    os.ftruncate(shared.fd, 100)
    assert [r.at for r in shared.changed()] == [["args", 0], ["args", 1, "W"]]
    shared.close()
