"""What a sandbox costs the host and the grader: nothing outlives the grader,
nothing is left on disk, the work folder and the memory have totals, and the
grader's own checks after each call are charged to the student."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.sandbox import forkserver, runtime
from grader.sandbox.client import Limits, Sandbox, StudentError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="namespaces, cgroups and /proc are Linux's")


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
        box = Sandbox(path, "student", Limits(**{"call_seconds": 5, "total_seconds": 30, **limits}),
                      display_name="student.py", use_fork_server=request.param)
        boxes.append(box)
        return box

    yield _make
    for box in boxes:
        box.close()


def _has_view(box) -> bool:
    return box._plan is not None and box._plan.view is not None


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (only the processes this test started are looked at)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(p) for p in f.read().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


_GRADER = """
import sys, time
from pathlib import Path
from grader.sandbox import forkserver, runtime
from grader.sandbox.client import Limits, Sandbox
box = Sandbox(Path(sys.argv[1]), "student", Limits(call_seconds=60, total_seconds=60),
              use_fork_server=sys.argv[2] == "1")
box.start()
server = forkserver._server._proc.pid if box.forked else 0
print(runtime.private_folder(), server, box._proc.pid, box._plan.view is not None,
      " ".join(box._plan.cgroup_paths()), flush=True)
box.call("sleep_with_a_helper")
"""


@pytest.mark.parametrize("fork_server", [True, False], ids=["forked", "started"])
def test_a_killed_grader_leaves_no_sandbox_process_and_its_folder_goes_at_the_next_start(tmp_path, fork_server):
    if fork_server and not forkserver.supported():
        pytest.skip("the fork server needs Linux's pidfds")
    student = tmp_path / "student.py"
    student.write_text(textwrap.dedent("""
        import subprocess, sys, time
        def sleep_with_a_helper():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
            time.sleep(60)
    """))
    grader = subprocess.Popen([sys.executable, "-c", _GRADER, str(student), "1" if fork_server else "0"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        folder, server, relay, has_view, paths = grader.stdout.readline().split(" ", 4)
        folder, server, relay, paths = Path(folder), int(server), int(relay), paths.split()
        if has_view != "True":
            pytest.skip("no filesystem view here: a killed grader's sandbox ends only with its own pipes")
        deadline = time.monotonic() + 10
        while len(_children(relay)) < 3 and time.monotonic() < deadline:  # init, worker, helper
            time.sleep(0.05)
        sandbox = [relay] + _children(relay)
        assert len(sandbox) >= 4, "relay, init, worker and the student's helper were running"
        sandbox += [server] if server else []
        grader.kill()  # kill -9: no atexit, no finally
        grader.wait()
        deadline = time.monotonic() + 5
        while any(map(_alive, sandbox)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in sandbox if _alive(pid)], "every sandbox process ended with the grader"
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert folder.is_dir(), "a killed grader cannot remove its folder itself"
    removed = runtime.remove_stale_folders(str(folder.parent))
    assert folder in removed and not folder.exists()
    assert not [p for p in paths if os.path.exists(p)], "its cgroups were removed too"
    # A live grader's folder (this process's) is never taken for a stale one.
    mine = runtime.private_folder()
    assert mine not in runtime.remove_stale_folders(str(mine.parent)) and mine.is_dir()


def test_only_dead_graders_folders_are_taken_for_stale(tmp_path):
    """Folders with the prefix but no owner file (a notebook's, a CI clone), and
    a folder whose owner file is held (a live grader), are never removed."""
    import fcntl

    notebook = tmp_path / "grader-nb-1"
    notebook.mkdir(mode=0o700)
    live = tmp_path / "grader-live"
    live.mkdir(mode=0o700)
    (live / "owner.lock").write_text("1\n")
    dead = tmp_path / "grader-dead"
    dead.mkdir(mode=0o700)
    (dead / "owner.lock").write_text("2\n")
    with open(live / "owner.lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert runtime.remove_stale_folders(str(tmp_path)) == [dead]
    assert notebook.is_dir() and live.is_dir() and not dead.exists()


def _job_folder() -> str:
    return str(runtime.view_mountpoint().parent)


def test_a_pool_job_leaves_no_private_folder_behind(tmp_path, monkeypatch):
    """The jobs of ``grader check --all`` are workers of a fork-context process
    pool, which end through multiprocessing (no atexit): their private folders
    and view mount points used to stay (two per run). They go all the same."""
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        folders = {pool.submit(_job_folder).result() for _ in range(4)}
    assert folders and all(folder.startswith(str(tmp_path)) for folder in folders)
    assert list(tmp_path.glob("grader-*")) == [], "every job removed its folder as it ended"


def test_writing_past_the_disk_quota_is_one_line_and_leaves_nothing(make):
    box = make("""
        def fill():
            i = 0
            while True:
                with open(f"big{i}", "wb") as f:
                    f.write(b"x" * (50 << 20))
                i += 1
        def small_files():
            i = 0
            while True:
                open(f"f{i}", "w").close()
                i += 1
        def files():
            import os
            return sorted(os.listdir("."))
    """, disk_mb=8, disk_files=64, output_kb=100 * 1024)
    box.start()
    if not _has_view(box):
        pytest.skip("no filesystem view here: the work folder has no quota (files are bounded by output_kb)")
    assert "work folder: tmpfs of 8 MB, 64 files" in box.isolation
    for func in ("fill", "small_files"):
        with pytest.raises(StudentError) as info:
            box.call(func)
        assert info.value.kind == "disk"
        assert info.value.cause == f"`{func}` wrote more than 8 MB (or 64 files) into its folder, all it may write"
        assert box.call("files").value == ["student.py"], "a fresh worker starts with the module alone"
    work = box._root / "work"
    assert sorted(os.listdir(work)) == ["student.py"], "nothing the student wrote reached the grader's disk"


def test_memory_is_bounded_for_the_whole_sandbox(make):
    box = make("""
        import os, time
        def touch_in_children(mb, n):
            pids = []
            for _ in range(n):
                pid = os.fork()
                if pid == 0:
                    try:
                        block = bytearray(mb << 20)
                        for i in range(0, len(block), 4096):
                            block[i] = 1
                        time.sleep(1)
                    finally:
                        os._exit(0)
                pids.append(pid)
            for pid in pids:
                os.waitpid(pid, 0)
        def still_works():
            return 1
    """, memory_mb=600, call_seconds=10)
    box.start()
    if box._plan is None or box._plan.memcg is None:
        assert "memory: 600 MB per process (no memory cgroup)" in box.isolation
        pytest.skip("no writable memory cgroup here: the limit is per process")
    assert "memory cgroup (600 MB for the whole sandbox, no swap)" in box.isolation
    memcg = box._plan.memcg
    start = time.monotonic()
    with pytest.raises(StudentError) as info:
        box.call("touch_in_children", 250, 4)  # 1000 MB in all; each child alone is within its RLIMIT_AS
    # Which process the kernel chooses differs; the whole sandbox ends either way.
    assert info.value.kind == "memory"
    assert info.value.cause == ("your code ran out of memory during `touch_in_children`: the sandbox's 600 MB "
                                "are for all its processes together, and the kernel ended one of them")
    assert time.monotonic() - start < 8, "the kernel ended it, not the call's time limit"
    assert not os.path.exists(memcg) or memcg == box._plan.cgroup, "the cgroup was removed"
    assert box.call("still_works").value == 1


def test_checks_after_each_call_are_charged_and_bounded(make):
    """A student whose processes map many files makes the grader's scan slow:
    that scan is charged to the student's budget, and a process with more maps
    than the grader reads is not a pass."""
    box = make("""
        import mmap
        def many_mappings(n):
            keep = []
            for i in range(n):  # alternating protections: no two neighbours merge
                keep.append(mmap.mmap(-1, 4096, prot=mmap.PROT_READ if i % 2 else mmap.PROT_READ | mmap.PROT_WRITE))
            globals()["keep"] = keep
            return n
    """)
    assert box.call("many_mappings", 100).value == 100
    charged = box._used_seconds
    with pytest.raises(StudentError) as info:
        box.call("many_mappings", 40000)  # ~4 MB of /proc/PID/maps, past the 2 MB read
    assert info.value.kind == "forbidden"
    assert "could not be checked for forbidden libraries" in info.value.cause
    assert "the check is not granted" in info.value.cause
    assert box._used_seconds > charged, "the scan's time was charged"


def test_the_scan_is_charged_to_the_budget(make, monkeypatch):
    from grader.sandbox import mapscan

    box = make("\ndef good(x):\n    return x * 2\n", total_seconds=2)
    real = mapscan.scan

    def slow_scan(pids, most, deadline, max_bytes=mapscan.MAX_MAPS_BYTES):
        time.sleep(0.4)  # as a scan of many mappings would
        return real(pids, most, deadline, max_bytes)

    monkeypatch.setattr(mapscan, "scan", slow_scan)
    results = []
    for _ in range(10):
        try:
            results.append(box.call("good", 1).value)
        except StudentError as exc:
            results.append(exc.kind)
    assert results.count(2) <= 5 and "budget" in results, results
