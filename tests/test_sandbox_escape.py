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
    box = make("import os\ndef who():\n    return os.getuid()\n" + KEYRING_HELPERS)
    assert isinstance(box.call("who").value, int)
    layers = box.isolation
    assert not any("filesystem view" in layer for layer in layers)
    assert "sandbox without mount+pid+ipc+network namespaces" in weak_sandbox({"sandbox": layers})
    if any(layer.startswith(isolation.SECCOMP_LAYER) for layer in layers):  # the filter without the view too
        assert box.call("store", _numbers(), "fallback", "x").value == {"@u": -1, "@s": -1, "@us": -1}


def test_where_the_kernel_refuses_seccomp_or_a_user_namespace_the_sandbox_says_so(make, monkeypatch):
    """No seccomp filter here (an old or unusual kernel, a container that
    refuses it), or no user namespace for nobody (a root grader): the worker
    still runs, confined by the rest, and the report and gradebook say which
    layer is missing."""
    from grader.batch.gradebook import weak_sandbox
    from grader.sandbox import confine, isolation, seccomp

    monkeypatch.setattr(seccomp, "works", lambda: False)
    if os.getuid() == 0:
        def refused(*args):
            raise PermissionError(1, "unshare(CLONE_NEWUSER)")

        monkeypatch.setattr(confine, "_own_user_namespace", refused)
        monkeypatch.setattr(isolation, "_VIEW_OK", None)  # tried again, with the user namespace refused
        monkeypatch.setattr(isolation, "_OWN_USER_NAMESPACE", isolation._OWN_USER_NAMESPACE)
    box = _viewed(make, KEYRING_HELPERS + "\ndef who():\n    return [os.getuid(), os.getgroups()]\n")
    layers = box.isolation
    assert not any(layer.startswith(isolation.SECCOMP_LAYER) for layer in layers)
    assert "own session keyring" in layers
    assert "sandbox without seccomp filter" in weak_sandbox({"sandbox": layers})
    if os.getuid() == 0:
        assert "runs as nobody" in layers and box.call("who").value == [65534, []]
    # The grader's session keyring is not the worker's, filter or not.
    from grader.sandbox import forkserver

    monkeypatch.setattr(forkserver, "_server", None)  # a fork server started inside that session keyring
    token = f"ghp_{uuid.uuid4().hex}"
    _keyring_session(token, "grader-token")
    try:
        box = _viewed(make, KEYRING_HELPERS)
        assert token not in repr(box.call("fetch", _numbers(), "grader-token").value)
    finally:
        if forkserver._server is not None:
            forkserver._server.close()


# -- kernel keyrings, the seccomp filter, a user namespace per worker (issue 22, items 1 and 4) --

KEYRING_HELPERS = """
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
RINGS = {"@u": -4, "@s": -3, "@us": -5}  # KEY_SPEC_USER_KEYRING, _SESSION_, _USER_SESSION_

def _sys(nr, *args):
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    result = _libc.syscall(ctypes.c_long(nr), *args)
    return result if result >= 0 else -ctypes.get_errno()

def store(nr, description, text):
    data = text.encode()
    return {name: _sys(nr["add_key"], b"user", description.encode(), data, len(data), ring)
            for name, ring in RINGS.items()}

def fetch(nr, description):
    found = {}
    for name, ring in RINGS.items():
        key = _sys(nr["keyctl"], 10, ring, b"user", description.encode(), 0)  # KEYCTL_SEARCH
        if key >= 0:
            buf = ctypes.create_string_buffer(1 << 16)
            n = _sys(nr["keyctl"], 11, key, buf, 1 << 16)  # KEYCTL_READ
            key = buf.raw[:n].decode() if n >= 0 else n
        found[name] = key
    found["request_key"] = _sys(nr["request_key"], b"user", description.encode(), None, 0)
    return found
"""


def _numbers() -> dict:
    from grader.sandbox import seccomp

    if platform_machine() not in ("x86_64", "aarch64"):
        pytest.skip("the seccomp filter knows x86_64 and aarch64")
    column = 0 if platform_machine() == "x86_64" else 1
    return {name: pair[column] for name, pair in seccomp._NUMBERS.items()}


def platform_machine() -> str:
    import platform

    return platform.machine()


def _keyring_session(secret: str, description: str) -> None:
    """Put this process (and what it starts from now on) in a new session
    keyring holding ``secret``, as a grader started by an SSH login, a systemd
    service or a CI runner is; skip where the kernel has no keyrings."""
    namespace: dict = {}
    exec(KEYRING_HELPERS, namespace)
    nr, sys_ = _numbers(), namespace["_sys"]
    if sys_(nr["keyctl"], 1, f"grader-test-{os.getpid()}".encode()) < 0:  # KEYCTL_JOIN_SESSION_KEYRING
        pytest.skip("no kernel keyrings here")
    data = secret.encode()
    assert sys_(nr["add_key"], b"user", description.encode(), data, len(data), -3) > 0
    # Without a sandbox, a child process of this one reads it: the attack is real here.
    r, w = os.pipe()
    if os.fork() == 0:
        os.write(w, repr(namespace["fetch"](nr, description)).encode())
        os._exit(0)
    os.close(w)
    seen = os.read(r, 1 << 16).decode()
    os.close(r)
    os.wait()
    assert secret in seen, seen


def test_keyrings_are_out_of_reach(make, monkeypatch):
    """Issue 22: one student's code kept its source in a kernel keyring for
    another to run, and a token in the grader's session keyring reached a
    student's report. Every keyring call is refused, in a session keyring of
    the worker's own."""
    from grader.sandbox import forkserver

    monkeypatch.setattr(forkserver, "_server", None)  # a fork server started inside this test's session keyring
    token = f"ghp_{uuid.uuid4().hex}"
    _keyring_session(token, "grader-token")
    nr = _numbers()
    first = _viewed(make, KEYRING_HELPERS)
    second = _viewed(make, KEYRING_HELPERS)
    try:
        stored = first.call("store", nr, "ex01-answer", "def sigmoid(z): ...").value
        assert stored == {"@u": -1, "@s": -1, "@us": -1}, f"a key was stored: {stored}"  # -EPERM
        for box in (first, second):
            assert box.call("fetch", nr, "ex01-answer").value == {
                "@u": -1, "@s": -1, "@us": -1, "request_key": -1}
            found = box.call("fetch", nr, "grader-token").value
            assert token not in repr(found) and set(found.values()) == {-1}, found
        assert any("seccomp filter" in layer for layer in first.isolation)
        assert "own session keyring" in first.isolation
    finally:
        server = forkserver._server
        if server is not None:
            server.close()


def test_what_a_sandbox_never_needs_is_refused_and_numpy_still_works(make):
    """io_uring, new namespaces (a nested user namespace would give back every
    capability), ptrace, bpf, another ABI's calls; threads, fork, a child
    process and NumPy keep working."""
    nr = _numbers()
    box = _viewed(make, KEYRING_HELPERS + """
import mmap, subprocess, threading
import numpy as np

def refused(nr):
    out = {
        "io_uring_setup": _sys(nr["io_uring_setup"], 8, ctypes.create_string_buffer(120)),
        "unshare(CLONE_NEWUSER)": _sys(nr["unshare"], 0x10000000),
        "unshare(CLONE_NEWNS)": _sys(nr["unshare"], 0x00020000),
        "setns": _sys(nr["setns"], 0, 0),
        "ptrace(PTRACE_TRACEME)": _sys(nr["ptrace"], 0, 0, 0, 0),
        "bpf": _sys(nr["bpf"], 0, 0, 0),
        "perf_event_open": _sys(nr["perf_event_open"], 0, 0, -1, -1, 0),
        "userfaultfd": _sys(nr["userfaultfd"], 0),
        "mount": _sys(nr["mount"], b"none", b"/tmp", b"tmpfs", 0, 0),
        "personality(ADDR_NO_RANDOMIZE)": _sys(nr["personality"], 0x0040000),
    }
    child = _sys(nr["clone"], 0x10000000 | 17, 0, 0, 0, 0)  # CLONE_NEWUSER | SIGCHLD
    if child == 0:
        os._exit(0)
    out["clone(CLONE_NEWUSER)"] = child
    out["clone3"] = _sys(nr["clone3"], 0, 0)
    return out

def other_abis():
    out = {"x32 getpid": _sys(0x40000000 | 39)}
    # getpid as 32-bit x86 code (int 0x80, eax = 20), in a child: a kernel
    # without 32-bit support kills it instead.
    code = bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3])  # mov eax, 20; int 0x80; ret
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        result = ctypes.CFUNCTYPE(ctypes.c_int)(address)()
        os.write(w, str(result).encode())
        os._exit(0)
    os.close(w)
    out["i386 getpid"] = os.read(r, 64).decode() or "killed"
    out["pid"] = str(pid)
    os.waitpid(pid, 0)
    return out

def still_works():
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    forked = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    results = []
    threads = [threading.Thread(target=lambda: results.append(float(np.linalg.norm(np.ones(4))))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = subprocess.run(["/usr/bin/true"]).returncode
    a = np.random.default_rng(0).standard_normal((64, 64))
    return [forked, results, ran, bool(np.allclose(a @ np.linalg.inv(a), np.eye(64)))]
""")
    refused = box.call("refused", nr).value
    expected = {name: -1 for name in refused}  # EPERM
    expected["clone3"] = -38  # ENOSYS: the C library falls back to clone, whose flags the filter reads
    assert refused == expected
    assert box.call("still_works").value == [3, [2.0] * 4, 0, True]
    if platform_machine() == "x86_64":
        abis = box.call("other_abis").value
        assert abis["x32 getpid"] == -38
        assert abis["i386 getpid"] in ("-38", "killed"), abis  # never the pid: ENOSYS


def test_each_worker_has_a_user_namespace_of_its_own(make, monkeypatch):
    """Nothing the kernel keys by uid is shared between sandboxes: each worker
    is in its own user namespace (as nobody, seen from outside too), so its
    process limit counts its own processes, not every sandbox's."""
    from grader.sandbox import isolation

    monkeypatch.setattr(isolation, "make_pids_cgroup", lambda max_pids: None)  # RLIMIT_NPROC alone
    source = """
        import os, time
        def spawn(n):
            made = 0
            for _ in range(n):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    time.sleep(60)
                    os._exit(0)
                made += 1
            return made
    """
    first, second = _viewed(make, source, processes=8), _viewed(make, source, processes=8)
    workers = [box._student_pid() for box in (first, second)]
    spaces = {os.readlink(f"/proc/{pid}/ns/user") for pid in workers}
    assert len(spaces) == 2 and os.readlink("/proc/self/ns/user") not in spaces
    for pid in workers:
        with open(f"/proc/{pid}/status") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
        assert uids == [str(os.getuid() if os.getuid() else 65534)] * 4
    if os.getuid() == 0:
        assert "runs as nobody in its own user namespace" in first.isolation
    # 8 processes, the worker included (and, for an unprivileged grader, the
    # relay and init that share its user namespace).
    made = first.call("spawn", 20).value
    assert made in (5, 7)
    assert second.call("spawn", 20).value == made, "the first sandbox's processes are not counted here"


KEEPER = '''
# -- keeper --
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
NR = NUMBERS
with open(__file__, "rb") as _f:
    _source = _f.read().split(b"# -- keeper --")[0]  # the solution alone
for ring in (-4, -3, -5):  # @u, @s, @us
    key = _libc.syscall(ctypes.c_long(NR["add_key"]), b"user", b"ex01-answer", _source,
                        ctypes.c_long(len(_source)), ctypes.c_long(ring))
    if key > 0:  # KEYCTL_SETPERM: everything, for everyone
        _libc.syscall(ctypes.c_long(NR["keyctl"]), ctypes.c_long(5), ctypes.c_long(key), ctypes.c_long(0x3F3F3F3F))
'''

FETCHER = '''
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
NR = NUMBERS

def sigmoid(z):
    return z * 0

def sigmoid_derivative(z):
    return z * 0

for ring in (-4, -3, -5):
    key = _libc.syscall(ctypes.c_long(NR["keyctl"]), ctypes.c_long(10), ctypes.c_long(ring), b"user",
                        b"ex01-answer", ctypes.c_long(0))
    if key >= 0:
        buf = ctypes.create_string_buffer(1 << 16)
        n = _libc.syscall(ctypes.c_long(NR["keyctl"]), ctypes.c_long(11), ctypes.c_long(key), buf,
                          ctypes.c_long(1 << 16))
        if n > 0:
            exec(buf.raw[:n].decode())
            break
'''


def test_a_solution_kept_in_a_keyring_reaches_no_other_student(tmp_path):
    """The issue's attack end to end, in a grader started in a session
    keyring: student A's graded file keeps its source in every keyring it
    can name; student B's file, with no solution of its own, fetches it and
    runs it. B must get 0."""
    import csv
    import json

    from conftest import ROOT, run_cli

    nr = _numbers()
    _keyring_session(f"ghp_{uuid.uuid4().hex}", "grader-token")  # the grader and its jobs start in it
    reference = (ROOT / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
    subs = tmp_path / "subs"
    subs.mkdir()
    numbers = repr({"add_key": nr["add_key"], "keyctl": nr["keyctl"]})
    (subs / "a_keeper.py").write_text(reference + KEEPER.replace("NUMBERS", numbers))
    (subs / "b_fetcher.py").write_text(FETCHER.replace("NUMBERS", numbers))
    proc = run_cli("batch", str(subs), "--exercise", "ex01", "--jobs", "1", "--out", str(tmp_path / "grades"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as f:
        book = {row["student"]: float(row["total"]) for row in csv.DictReader(f)}
    assert book == {"a_keeper": 10.0, "b_fetcher": 0.0}
    report = json.loads(next((tmp_path / "grades" / "reports").glob("b_fetcher*.json")).read_text())
    assert any("seccomp" in layer for layer in report["exercises"]["ex01_sigmoid"]["result"]["sandbox"]), report
