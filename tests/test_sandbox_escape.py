"""A determined student against the operating-system layers of the sandbox.

Each test is an attack a student could write (issue: untamperable grading),
run through ``Sandbox`` both ways a worker starts (the ``make`` fixture of
test_sandbox.py). Where the machine lacks namespaces the sandbox falls back,
says so in its report, and these tests skip with that reason.
"""

import os
import socket
import textwrap
import stat
import sys
import time
import uuid

import numpy as np
import pytest
from test_sandbox import make  # noqa: F401  (the fixture: forked and started workers)

from grader.sandbox import runtime
from grader.sandbox.client import Limits, Sandbox

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _viewed(make, source: str, **limits) -> Sandbox:
    """A sandbox for ``source`` (plus a ``ping``), skipped where no view can be built."""
    box = make(textwrap.dedent(source) + PING, **limits)
    box.start()
    box.call("ping")
    if box._plan.view is None:
        pytest.skip("this kernel or container refuses the namespaces the filesystem view needs")
    return box


PING = "\ndef ping():\n    return 1\n"


def test_the_filesystem_view_is_the_allow_list(make):
    base_site = [p for p in runtime.hidden_package_dirs([os.path.realpath(sys.base_prefix)])]
    box = _viewed(make, f"""
        import os, sys, importlib
        def probe(paths):
            return {{p: os.path.lexists(p) for p in paths}}
        def listing(paths):
            return [os.listdir(p) if os.path.isdir(p) else [] for p in paths]
        def scipy_behind_the_blocker(site):
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
            sys.path.extend(site)
            try:
                import scipy.special
                return "imported scipy"
            except ImportError as exc:
                return type(exc).__name__
        def numpy_works():
            import numpy as np
            return float(np.exp(np.float64(0.0)))
    """)
    secrets = ["/etc/shadow", "/etc/passwd", "/etc/hostname", "/home", "/var", "/run", "/sys", "/dev/shm",
               os.path.join(CHECKOUT, "solutions"), os.path.join(CHECKOUT, "exercises"),
               os.path.join(CHECKOUT, "grader"), str(runtime.private_folder().parent / "x"),
               os.path.dirname(os.path.dirname(np.__file__)) + "/torch"]
    seen = box.call("probe", secrets).value
    assert not any(seen.values()), f"outside the view, yet visible: {[p for p, v in seen.items() if v]}"
    assert base_site and box.call("listing", base_site).value == [[] for _ in base_site], \
        "the base Python's own packages (scipy here) are hidden"
    # The attack: the blocker removed, the base Python's site-packages appended.
    assert box.call("scipy_behind_the_blocker", base_site).value == "ModuleNotFoundError"
    assert box.call("numpy_works").value == 1.0


def test_the_worker_owns_nothing_outside_its_folder(make, tmp_path):
    outside = tmp_path / "course-file.txt"
    outside.write_text("the course's")
    os.chmod(outside, 0o644)
    box = _viewed(make, """
        import os, numpy
        def identity():
            return [os.getuid(), os.getgid(), os.getgroups()]
        def tamper(paths):
            done = []
            for path in paths:
                for name, act in (("chmod", lambda: os.chmod(path, 0)),
                                  ("utime", lambda: os.utime(path, (0, 0))),
                                  ("chown", lambda: os.chown(path, os.getuid(), os.getgid())),
                                  ("setxattr", lambda: os.setxattr(path, b"user.x", b"1")),
                                  ("write", lambda: open(path, "a").close())):
                    try:
                        act()
                        done.append(f"{name} {path}")
                    except OSError:
                        pass
            return done
        def own_folder():
            with open("mine.txt", "w") as f:
                f.write("ok")
            os.chmod("mine.txt", 0o600)
            return open("mine.txt").read()
    """)
    uid, gid, groups = box.call("identity").value
    assert groups == []
    if os.getuid() == 0:
        assert (uid, gid) == (65534, 65534), "a root grader's student runs as nobody"
    import numpy

    targets = ["/", "/tmp", os.path.dirname(numpy.__file__), numpy.__file__, sys.base_prefix, "/usr/bin",
               str(outside), str(tmp_path), str(runtime.private_folder()), "/dev/null", "/proc/self/root"]
    assert box.call("tamper", targets).value == []
    assert box.call("own_folder").value == "ok", "its own work folder stays writable"
    assert stat.S_IMODE(os.stat(outside).st_mode) == 0o644 and outside.read_text() == "the course's"
    assert stat.S_IMODE(os.stat(runtime.private_folder()).st_mode) == 0o700


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


def _host_shm_segments() -> set[str]:
    with open("/proc/sysvipc/shm") as f:
        return {line.split()[1] for line in f.readlines()[1:] if line.split()}


def test_nothing_outlives_the_sandbox(make):
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"  # a unique sleep time
    before = _host_shm_segments()
    box = _viewed(make, f"""
        import ctypes, os, time
        def daemon():
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/usr/bin/sleep", ["sleep", "{marker}"])
                os._exit(0)
            time.sleep(0.3)
            return 1
        def shared_memory():
            libc = ctypes.CDLL(None, use_errno=True)
            ids = [libc.shmget(0, 256 << 20, 0o1000 | 0o600) for _ in range(3)]  # IPC_PRIVATE, IPC_CREAT
            made = []
            try:
                fd = os.open("/dev/shm/grader-escape", os.O_CREAT | os.O_RDWR, 0o600)
                made.append("posix")
            except OSError:
                pass
            return [i for i in ids if i >= 0], made
    """, processes=16)
    assert box.call("daemon").value == 1
    if box._plan.cgroup is None or os.getuid() != 0:
        pass  # the PID namespace alone must do it: nothing below depends on the cgroup
    ids, posix = box.call("shared_memory").value
    assert posix == [], "no /dev/shm in the view"
    assert _host_shm_segments() == before, "SysV segments live in the sandbox's own IPC namespace"
    assert _processes_with(marker), "the daemon runs while its sandbox does"
    box.close()
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == [], "a double-forked setsid daemon died with its sandbox"
    assert not os.path.exists("/dev/shm/grader-escape")


def test_named_sockets_are_out_of_reach(make, tmp_path):
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(1)
    try:
        box = _viewed(make, """
            import socket
            def connect(path):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(path)
                    return "connected"
                except OSError as exc:
                    return type(exc).__name__
        """)
        assert box.call("connect", path).value != "connected"
    finally:
        server.close()


def test_one_students_sabotage_costs_no_other_student(make, tmp_path):
    """The issue's attack on a class: chmod the folder that holds every sandbox,
    and every folder the student can name, to 000; then honest students."""
    attacker = _viewed(make, """
        import os
        def sabotage():
            hits = []
            for path in ("/tmp", os.path.dirname(os.getcwd()), os.path.dirname(os.path.dirname(os.getcwd())),
                         os.environ.get("TMPDIR", "/tmp") + "/..", "/"):
                try:
                    os.chmod(path, 0)
                    hits.append(path)
                except OSError:
                    pass
            return hits
    """)
    assert attacker.call("sabotage").value == [], "nothing outside its work folder can be changed"
    attacker.close()
    mode = stat.S_IMODE(os.stat(tempfile_dir()).st_mode)
    assert mode & 0o700 == 0o700, "the shared temporary folder keeps its permissions"
    for i in range(3):
        path = tmp_path / f"honest{i}.py"
        path.write_text("import numpy as np\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n")
        with Sandbox(path, "honest", Limits(call_seconds=5, total_seconds=20)) as box:
            assert np.allclose(box.call("sigmoid", np.zeros(3)).value, 0.5)


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()


def _interpreter_for(uid: int, pythonpath: str) -> str | None:
    """An interpreter of this Python version that ``uid`` can run with NumPy and torch on ``pythonpath``."""
    import shutil
    import subprocess

    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for exe in dict.fromkeys([sys.executable, getattr(sys, "_base_executable", ""), shutil.which(version) or "",
                              f"/usr/bin/{version}"]):
        if not exe or not os.path.exists(exe):
            continue
        probe = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", exe, "-c",
             "import os, sys, numpy, grader.sandbox.client as c; "
             "assert os.path.exists(c.runtime.python()); print(sys.version_info[:2])"],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath, "HOME": "/tmp"}, cwd="/",
            capture_output=True, text=True, timeout=60)
        if probe.returncode == 0 and probe.stdout.strip() == str(tuple(sys.version_info[:2])):
            return exe
    return None


@pytest.mark.skipif(os.environ.get("GRADER_UNPRIVILEGED_RUN") == "1", reason="already the unprivileged run")
def test_the_same_attacks_as_an_unprivileged_grader():
    """Every test above again, with the grader itself running as an ordinary
    user (nobody): the worker then gets a user namespace of its own."""
    import shutil
    import subprocess

    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to start the grader as an unprivileged user")
    import numpy as _np

    pythonpath = os.pathsep.join([os.path.dirname(os.path.dirname(_np.__file__)), CHECKOUT])
    exe = _interpreter_for(65534, pythonpath)
    if exe is None:
        pytest.skip("no interpreter here that an unprivileged user can run with this checkout's packages")
    run = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "-k", "not unprivileged", os.path.abspath(__file__)],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath, "HOME": "/tmp", "GRADER_UNPRIVILEGED_RUN": "1"},
        cwd=CHECKOUT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last, run.stdout[-1000:]


SABOTEUR = '''
import os, threading, time

def _sabotage():
    # Every folder it can name, the shared temporary folder and whatever
    # sandboxes appear in it, to 000, for as long as the process lives.
    seen = set()
    while True:
        for base in ("/tmp", os.environ.get("TMPDIR", "/tmp"), os.path.dirname(os.getcwd()), "/"):
            try:
                names = [os.path.join(base, n) for n in os.listdir(base)]
            except OSError:
                names = []
            for path in [base] + names:
                try:
                    os.chmod(path, 0)
                    seen.add(path)
                except OSError:
                    pass
        time.sleep(0.01)

threading.Thread(target=_sabotage, daemon=True).start()
if os.fork() == 0:  # and a daemon that would outlive the sandbox
    os.setsid()
    if os.fork() == 0:
        os.execv("/usr/bin/sleep", ["sleep", "MARKER"])
    os._exit(0)

def sigmoid(z):
    time.sleep(0.5)
    return z

def sigmoid_derivative(z):
    time.sleep(0.5)
    return z
'''


def test_a_class_with_saboteurs_grades_the_honest_students_exactly(tmp_path):
    """The issue's batch attack: honest students beside saboteurs get exactly
    the scores they get alone, and the shared temporary folder is untouched."""
    import csv
    import shutil

    import yaml
    from conftest import ROOT, run_cli

    course = tmp_path / "course"
    folder = course / "exercises" / "ex01_sigmoid"
    shutil.copytree(ROOT / "exercises" / "ex01_sigmoid", folder, ignore=shutil.ignore_patterns("mutants"))
    meta = yaml.safe_load((folder / "exercise.yaml").read_text())
    meta["limits"].update(call_seconds=2, total_seconds=6)
    (folder / "exercise.yaml").write_text(yaml.safe_dump(meta))
    reference = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
    flipped = (ROOT / "exercises" / "ex01_sigmoid" / "mutants" / "sign_flipped.py").read_text()
    subs = tmp_path / "subs"
    subs.mkdir()
    students = {"a_saboteur": SABOTEUR, "b_honest": reference, "c_flipped": flipped, "d_saboteur": SABOTEUR,
                "e_honest": reference, "f_flipped": flipped}
    marker = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    for name, source in students.items():
        (subs / f"{name}.py").write_text(source.replace("MARKER", marker))
    tmp_mode = stat.S_IMODE(os.stat(tempfile_dir()).st_mode)
    proc = run_cli("--root", str(course), "batch", str(subs), "--exercise", "ex01", "--jobs", "2",
                   "--out", str(tmp_path / "grades"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as f:
        book = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    assert {name: book[name] for name in students if "saboteur" not in name} == \
        {"b_honest": 10.0, "c_flipped": 2.0, "e_honest": 10.0, "f_flipped": 2.0}
    assert stat.S_IMODE(os.stat(tempfile_dir()).st_mode) == tmp_mode
    assert _processes_with(marker) == [], "no saboteur's daemon outlives the run"


def test_where_the_kernel_refuses_the_view_the_sandbox_falls_back_and_says_so(make, monkeypatch):
    """A container or kernel that refuses a mount or a namespace: the earlier
    layers still confine the student, the report shows the view is missing,
    and a batch's gradebook flags the weaker sandbox."""
    from grader.batch.gradebook import weak_sandbox
    from grader.sandbox import isolation

    monkeypatch.setattr(isolation, "view_works", lambda view: False)
    box = make("import os\ndef who():\n    return os.getuid()\n")
    assert isinstance(box.call("who").value, int)
    layers = box.isolation
    assert not any("filesystem view" in layer for layer in layers)
    assert "sandbox without mount+pid+ipc+network namespaces" in weak_sandbox({"sandbox": layers})
