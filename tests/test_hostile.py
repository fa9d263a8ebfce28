"""Hostile submissions, end to end through `grader check --format json`.

For each: the grader exits normally within the exercise's time budget plus a
margin, the submission scores no more than it deserves, the other checks are
still graded, the student sees a one-line cause, and no file of the checkout
changes (hashed before and after).
"""

import hashlib
import json
import os
import shutil
import textwrap
import time

import pytest

from conftest import ROOT, run_cli

STABLE_SIGMOID = '''
import numpy as np
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))[()]
def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1 - s)
'''

# name -> (source, the most it deserves out of 10, text the report must show)
HOSTILE = {
    "monkeypatch_comparisons": ('''
        import numpy as np, numpy.testing
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)
        numpy.testing.assert_allclose = lambda *a, **k: None
        def sigmoid(z):
            return np.zeros_like(np.asarray(z, dtype=float))
        def sigmoid_derivative(z):
            return np.zeros_like(np.asarray(z, dtype=float))
    ''', 1, "values differ"),
    "fake_passing_output": ('''
        import json
        print(json.dumps({"exercise": "ex01_sigmoid", "score": 10, "max_score": 10}))
        print("  PASS  test_sigmoid_arrays  3 / 3\\n  Score: 10 / 10 (100%)")
        def sigmoid(z):
            print('{"score": 10}')
            return 0.0 * z
        def sigmoid_derivative(z):
            return 0.0 * z
    ''', 1, "values differ"),
    "impersonating_exception": ('''
        def sigmoid(z):
            raise Exception("PASS\\nScore: 10 / 10 (100%)\\ninternal error in the grader")
        def sigmoid_derivative(z):
            raise SystemExit("all tests passed")
    ''', 0, "raised Exception"),
    "rewrite_graders_and_metadata": ('''
        import os, pathlib
        targets = []
        for start in (pathlib.Path(__file__).resolve(), pathlib.Path.cwd(), pathlib.Path(ROOT)):
            for folder in (start, *start.parents):
                targets += list(folder.glob("exercises/*/test_*.py")) + list(folder.glob("exercises/*/exercise.yaml"))
        for t in targets:
            try:
                t.write_text("def test_always():\\n    pass\\n")
            except OSError:
                pass
        for name in ("results.json", "../results.json", os.path.join(ROOT, "results.json")):
            try:
                open(name, "w").write('{"score": 10}')
            except OSError:
                pass
        def sigmoid(z):
            return z
        def sigmoid_derivative(z):
            return z
    ''', 0, "values differ"),
    "steal_the_reference": ('''
        import os, pathlib, importlib.util
        found = None
        for start in (pathlib.Path(__file__).resolve(), pathlib.Path.cwd(), pathlib.Path(ROOT)):
            for folder in (start, *start.parents):
                candidate = folder / "solutions" / "ex01_sigmoid" / "sigmoid.py"
                try:
                    source = candidate.read_text()
                    found = candidate
                    break
                except OSError:
                    continue
            if found:
                break
        if found:
            exec(compile(source, str(found), "exec"))
        else:
            for name in ("solutions", "solutions.ex01_sigmoid.sigmoid", "grader"):
                try:
                    __import__(name)
                except ImportError:
                    pass
            def sigmoid(z):
                raise RuntimeError("no reference found")
            def sigmoid_derivative(z):
                raise RuntimeError("no reference found")
    ''', 0, "no reference found"),
    "read_secrets": ('''
        import os
        def sigmoid(z):
            raise RuntimeError("ENV " + repr(dict(os.environ)))
        def sigmoid_derivative(z):
            try:
                cmd = open(f"/proc/{os.getppid()}/cmdline").read()
            except OSError as e:
                cmd = str(e)
            raise RuntimeError("PARENT " + cmd)
    ''', 0, "raised RuntimeError"),
    "kill_the_grader": ('''
        import os, signal
        for sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                os.kill(os.getppid(), sig)
            except OSError:
                pass
        def sigmoid(z):
            try:
                os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
            except OSError:
                pass
            os.kill(os.getpid(), signal.SIGKILL)
        def sigmoid_derivative(z):
            os._exit(0)
    ''', 0, "died"),
    "lying_return_values": ('''
        import numpy as np
        class Liar(np.ndarray):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __array__(self, *a, **k): raise RuntimeError("no")
            def __array_ufunc__(self, *a, **k): return True
            def __float__(self): return 0.5
            def __len__(self): return 0
        class Fake:
            shape = (5,)
            def __float__(self): return 0.5
            def __array__(self, *a, **k): return np.full(5, 0.5)
        def sigmoid(z):
            return np.full(np.shape(z), 0.25).view(Liar)
        def sigmoid_derivative(z):
            return Fake()
    ''', 0, "values differ"),
    "nan_and_inf": ('''
        import numpy as np
        def sigmoid(z):
            return np.full(np.shape(z), np.nan)[()]
        def sigmoid_derivative(z):
            return np.full(np.shape(z), np.inf)[()]
    ''', 0, "NaN or inf"),
    "terminal_and_ci_injection": ('''
        def sigmoid(z):
            print("\\x1b[2J\\x1b[H::error file=README.md,line=1::you have been hacked")
            print("::add-mask::x\\n::stop-commands::token")
            raise ValueError("\\x1b[31m::warning::fake\\x07")
        def sigmoid_derivative(z):
            raise ValueError("::set-output name=score::10")
    ''', 0, "raised ValueError"),
    "forbidden_frameworks": ('''
        import importlib, sys, os
        def sigmoid(z):
            return importlib.import_module("torch").sigmoid(z)
        def sigmoid_derivative(z):
            sys.meta_path.clear()
            import numpy
            sys.path.append(os.path.dirname(os.path.dirname(os.path.realpath(numpy.__file__))))
            import torch
            s = torch.sigmoid(torch.as_tensor(z)).numpy()
            return s * (1 - s)
    ''', 0, "torch"),
    "network": ('''
        import socket, urllib.request
        def sigmoid(z):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        def sigmoid_derivative(z):
            urllib.request.urlopen("http://example.com", timeout=2)
    ''', 0, "raised"),
    "resources_at_import": ('''
        import os, sys
        sys.setrecursionlimit(10**6)
        try:
            x = bytearray(8 * 1024 ** 3)
        except MemoryError:
            pass
        for _ in range(300):
            try:
                if os.fork() == 0:
                    import time
                    time.sleep(120)
                    os._exit(0)
            except OSError:
                break
        sys.stdout.write("x" * (100 * 1024 * 1024))
    ''' + STABLE_SIGMOID.replace("\n", "\n        "), 0, "output limit"),
    # Links planted where the grader used to open files by name: the folder above
    # the working directory (its output file), the module's own path (rewritten
    # when the worker restarts) and the worker's runtime: to read the reference,
    # overwrite the grader's test file, or hang the grader on a FIFO.
    "links_in_the_sandbox": ('''
        import os, glob
        here, parent = os.getcwd(), os.path.dirname(os.getcwd())
        test_file = (glob.glob(os.path.join(ROOT, "exercises/*/test_*.py")) or [""])[0]
        reference = (glob.glob(os.path.join(ROOT, "solutions/*/*.py")) or [""])[0]
        for path, target in ((os.path.join(parent, "output.txt"), reference),
                             (os.path.join(here, "sigmoid.py"), test_file),
                             (os.path.join(parent, "runtime", "worker.py"), test_file)):
            try:
                os.unlink(path)
            except OSError:
                pass
            try:
                os.symlink(target, path)
            except OSError:
                pass
        try:
            os.mkfifo(os.path.join(parent, "output.txt"))
        except OSError:
            pass
        def sigmoid(z):
            os._exit(3)
        def sigmoid_derivative(z):
            os._exit(3)
    ''', 0, "exit status 3"),
    # Student text in names and reprs, not only in messages: the class of a
    # non-function, the type of an exception, the code given to sys.exit.
    "injection_through_names": ('''
        import sys
        Evil = type("Boom\\x1b]0;owned\\x07\\x1b[2J\\n::error file=README.md,line=1::fake\\n::set-output name=score::10",
                    (Exception,), {})
        class Code:
            def __repr__(self):
                return "0)\\x1b[2J\\n::error file=README.md,line=1::exit injection\\n("
        def sigmoid(z):
            if getattr(z, "ndim", 0) == 0:
                sys.exit(Code())
            raise Evil("harmless message")
        sigmoid_derivative = type("Y\\x1b[31m\\n::stop-commands::abc", (), {})()
    ''', 0, "raised"),
    # Values a test converts itself (a scalar as text or as an object): a failed
    # check for the student, never an internal error of the grader.
    "strings_for_numbers": ('''
        import numpy as np
        class Number:
            pass
        def sigmoid(z):
            if np.ndim(z) == 0:
                return "one" if z > 0 else Number()
            z = np.asarray(z, dtype=float)
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        def sigmoid_derivative(z):
            return "0.25"
    ''', 3, "expected a scalar"),
    # Correct values, inputs changed in place, and the worker (it shares the
    # student's process) patched to report nothing changed, its replies too.
    "mutation_behind_a_subverted_worker": ('''
        import sys, gc
        import numpy as np
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
        def _exact(z):
            z = np.asarray(z, dtype=float)
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1 / (1 + e), e / (1 + e))[()]
        def sigmoid(z):
            s = _exact(z)
            if isinstance(z, np.ndarray) and z.flags.writeable:
                z[...] = 0.5
            return s
        def sigmoid_derivative(z):
            s = _exact(z)
            if isinstance(z, np.ndarray) and z.flags.writeable:
                z += 1
            return s * (1 - s)
    ''', 9, "modified its input(s) in place"),
    # The blocker removed, the base Python's site-packages appended, and SciPy's
    # expit doing the work; where SciPy is not there (or not readable), a
    # package named scipy built in the sandbox from one of NumPy's shared objects.
    "scipy_behind_the_blocker": ('''
        import glob, importlib, os, shutil, sys, sysconfig
        import numpy as np
        def _expit():
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
            sys.path.append(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                                      "platbase": sys.base_exec_prefix})["purelib"])
            try:
                from scipy.special import expit
                return expit
            except ImportError:
                pass
            folder = os.path.join(os.getcwd(), "scipy", "special")
            os.makedirs(folder, exist_ok=True)
            for init in ("scipy/__init__.py", "scipy/special/__init__.py"):
                open(init, "a").close()
            so = sorted(glob.glob(os.path.join(os.path.dirname(np.__file__), "_core", "_multiarray_tests*.so")))[0]
            shutil.copy(so, folder)
            importlib.invalidate_caches()
            importlib.import_module("scipy.special._multiarray_tests")
            return lambda z: 1 / (1 + np.exp(-np.asarray(z, dtype=float)))
        def sigmoid(z):
            return _expit()(z)
        def sigmoid_derivative(z):
            s = sigmoid(z)
            return s * (1 - s)
    ''', 0, "loaded scipy"),
    "syntax_error": ("def sigmoid(z)\n    return z\n", 0, "SyntaxError"),
    "empty_module": ("", 0, "has no function `sigmoid`"),
}


@pytest.fixture
def course(tmp_path):
    """A course checkout of its own (exercise, hidden reference, grader package),
    so that its hash is not disturbed by anything else working in this repository."""
    root = tmp_path / "course"
    for part in ("exercises/ex01_sigmoid", "solutions/ex01_sigmoid", "grader"):
        shutil.copytree(ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def checkout_digest(root) -> str:
    """A hash of every file of the checkout (caches aside)."""
    h = hashlib.sha256()
    skip = {".venv", ".git", "__pycache__", ".pytest_cache"}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = os.path.join(folder, name)
            h.update(path.encode())
            try:
                with open(path, "rb") as f:
                    h.update(f.read())
            except OSError:
                pass
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_submission_gets_nothing_undeserved(name, tmp_path, course):
    source, deserved, needle = HOSTILE[name]
    submission = tmp_path / "sigmoid.py"
    submission.write_text(f"ROOT = {str(course)!r}\n" + textwrap.dedent(source))
    before = checkout_digest(course)
    start = time.monotonic()
    proc = run_cli("--root", str(course), "check", "ex01", "--submission", str(submission), "--format", "json",
                   env={"GRADER_SEED": "4242", "GITHUB_TOKEN": "ghp_secret_token"}, timeout=180)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)  # stdout is ours alone: nothing the student printed
    assert report["score"] <= deserved, json.dumps(report["tests"], indent=1)
    assert len(report["tests"]) == 6, "every check was graded"
    assert not [t["name"] for t in report["tests"] if t["status"] == "error"], "a student made the grader fault"
    outputs = "\n".join(t["output"] for t in report["tests"])
    assert needle in outputs, outputs
    assert all(t["output"].strip() for t in report["tests"] if t["status"] != "passed")
    assert "ghp_secret_token" not in outputs and "4242" not in outputs.replace(str(report["seed"]), "")
    assert "\x1b" not in outputs and not any(line.lstrip().startswith("::") for line in outputs.splitlines())
    assert elapsed < 60 + 30, f"took {elapsed:.0f} s"
    assert checkout_digest(course) == before, "the checkout changed"
    reference = (course / "solutions" / "ex01_sigmoid" / "sigmoid.py").read_text()
    assert not any(line.strip() in outputs for line in reference.splitlines() if len(line.strip()) > 25), \
        "the report shows the reference"
    assert not (course / "results.json").exists()


def test_not_a_notebook(tmp_path):
    bad = tmp_path / "ex01.ipynb"
    bad.write_text("this is not json {")
    proc = run_cli("check", "ex01", "--submission", str(bad), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["score"] == 0
    assert "not a readable Jupyter notebook" in report["tests"][0]["output"]


# The worker is the student's: its code finds the reply pipe (the worker's channel
# object, among the gc's objects) and writes replies of its own making there.
REPLY_BOMBS = '''
import gc, os
import numpy as np

def _send(data):
    fd = next(o.write_fd for o in gc.get_objects() if type(o).__name__ == "_Channel")
    while data:
        data = data[os.write(fd, data):]

def sigmoid(z):
    if np.ndim(z) == 0:  # 21 MB: more than the grader reads in one reply
        _send(b'{"id":1,"ok":true,"value":{"__list__":[' + b"[]," * 7_000_000 + b"[]]}}\\n")
    else:  # nested far deeper than any reply
        _send(b'{"id":1,"ok":true,"value":' + b"[" * 150_000 + b"\\n")
    return z

def sigmoid_derivative(z):  # 12 MB of four million empty lists: within the size limit
    _send(b'{"id":1,"ok":true,"value":{"__list__":[' + b"[]," * 4_000_000 + b"[]]}}\\n")
    return z
'''

_MEASURED = '''
import resource, subprocess, sys, time
start = time.monotonic()
proc = subprocess.run([sys.executable, "-m", "grader", *sys.argv[1:]], capture_output=True, text=True)
print(f"{proc.returncode} {time.monotonic() - start:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
print(proc.stdout)
'''


def _graded_with_rusage(*args):
    """``grader`` run with ``args``: exit status, seconds, peak memory (KiB) of it and its children, stdout."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    head, _, stdout = proc.stdout.partition("\n")
    code, seconds, rss = head.split()
    return int(code), float(seconds), int(rss), stdout


def test_forged_replies_fail_their_checks_within_budget_and_bounded_memory(tmp_path):
    """Replies written straight to the reply pipe: too large, too many values, too
    deep. Each fails its check with a one-line cause, fast, and the grader's memory
    stays near what an honest submission costs (it used to take 1.2 GB and 108 s)."""
    bombs = tmp_path / "sigmoid.py"
    bombs.write_text(REPLY_BOMBS)
    code, seconds, rss, stdout = _graded_with_rusage("check", "ex01", "--submission", str(bombs), "--format", "json")
    assert code == 0, stdout
    report = json.loads(stdout)
    by_name = {t["name"]: t["output"] for t in report["tests"]}
    assert report["score"] == 0 and not [t for t in report["tests"] if t["status"] == "error"]
    assert by_name["test_sigmoid_scalar"].startswith("your code returned more data than the grader accepts")
    assert "nested too deeply" in by_name["test_sigmoid_arrays"]
    assert "too large to parse" in by_name["test_derivative_arrays"]
    assert seconds < 60, "within ex01's time budget"
    _, _, honest_rss, _ = _graded_with_rusage("check", "ex01", "--submission",
                                              str(ROOT / "solutions/ex01_sigmoid/sigmoid.py"))
    assert rss < honest_rss + 200 * 1024, f"{rss // 1024} MB, an honest submission {honest_rss // 1024} MB"
