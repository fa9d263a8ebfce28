"""The oracle's cache: replayed answers equal fresh ones, torch is imported
only when an answer is missing, and an untrusted or damaged cache is never used."""

import json
import os
import re
import shutil
import subprocess
import sys
from functools import partial

import numpy as np
import pytest

from conftest import ROOT, run_cli
from grader import lazytorch
from grader.exercises import all_exercises, load_exercise
from grader.grading import grade
from grader.oraclecache import CachedOracle, NotCacheable, OracleStore, call_key, exercise_digest, same

EXERCISES = all_exercises(ROOT)


def _scores(result) -> list:
    # Timings (ex03's "took 0.02 s, 1.8x the baseline") differ from run to run; nothing else may.
    return [(t.name, t.status, t.score, re.sub(r"\d+\.\d+(e-?\d+)?", "#", t.output)) for t in result.tests]


def test_keys_name_the_question_not_the_object():
    torch_name = lazytorch.TorchName("torch.sigmoid")
    z = np.arange(3.0)
    assert call_key("c", torch_name, (z,), {}) == call_key("c", lazytorch.TorchName("torch.sigmoid"), (z.copy(),), {})
    assert call_key("c", torch_name, (z,), {}) != call_key("c", lazytorch.TorchName("torch.tanh"), (z,), {})
    assert call_key("c", torch_name, (z,), {}) != call_key("c", torch_name, (z + 1e-16 * 0 + 1,), {})
    assert call_key("c", torch_name, (z,), {}) != call_key("c", torch_name, (z.astype(np.float32),), {})
    assert call_key("c", torch_name, (z,), {}) != call_key("other graders", torch_name, (z,), {})
    # A lambda is keyed by its code and by what it captured.
    k = [call_key("c", (lambda scale: (lambda t: t * scale))(s), (z,), {}) for s in (2.0, 3.0, 2.0)]
    assert k[0] == k[2] != k[1]
    p1, p2 = partial(torch_name, alpha=1.0), partial(torch_name, alpha=2.0)
    assert call_key("c", p1, (z,), {}) != call_key("c", p2, (z,), {})
    with pytest.raises(NotCacheable):
        call_key("c", object(), (z,), {})  # no stable description: computed every time


def test_values_round_trip_exactly_and_damage_is_recomputed(tmp_path):
    ex, other = "e" * 64, "d" * 64  # two exercises' digests
    value = {"z": 1.5, "a": np.array([[1.0, np.nan], [-np.inf, 2.5e-300]]), "b": (np.float64(3.25), 7, None, [True]),
             "c": np.arange(4, dtype=np.int64)}  # keys out of order: their order is part of the value
    store = OracleStore(tmp_path)
    store.store("k" * 64, value, ["cpu", "cuda (H200)"], ex)
    assert not list(tmp_path.glob("*/*.json")), "written once, at the end of the session"
    store.flush()
    got, devices = OracleStore(tmp_path).load("k" * 64, ex)
    assert same(got, value) and devices == ["cpu", "cuda (H200)"]
    assert OracleStore(tmp_path).load("k" * 64, other) is None, "another exercise's results are its own"
    path = store._path(ex)
    # A foreign file (another exercise's results under this name) is ignored and removed.
    store.store("f" * 64, {"x": np.zeros(2)}, ["cpu"], other)
    store.flush()
    shutil.copy(store._path(other), path)
    assert OracleStore(tmp_path).load("k" * 64, ex) is None and not path.exists()
    # A damaged entry (a flipped value) is ignored, and the file rewritten without it.
    store = OracleStore(tmp_path)
    store.store("k" * 64, value, ["cpu"], ex)
    store.store("j" * 64, np.ones(3), ["cpu"], ex)
    store.flush()
    data = json.loads(path.read_text())
    data["entries"]["k" * 64]["result"] = data["entries"]["k" * 64]["result"].replace("7", "8")
    path.write_text(json.dumps(data))
    store = OracleStore(tmp_path)
    assert store.load("k" * 64, ex) is None
    assert np.array_equal(store.load("j" * 64, ex)[0], np.ones(3)), "the others still count"
    store.flush()
    assert "k" * 64 not in json.loads(path.read_text())["entries"]
    # A truncated file likewise.
    path.write_text(path.read_text()[:50])
    assert OracleStore(tmp_path).load("j" * 64, ex) is None and not path.exists()


def test_two_processes_writing_one_exercise_keep_both_results(tmp_path):
    first, second = OracleStore(tmp_path), OracleStore(tmp_path)
    first.load("a" * 64, "e" * 64), second.load("b" * 64, "e" * 64)  # both read the file before either writes
    first.store("a" * 64, np.ones(2), ["cpu"], "e" * 64)
    second.store("b" * 64, np.zeros(2), ["cpu"], "e" * 64)
    first.flush()
    second.flush()
    fresh = OracleStore(tmp_path)
    assert fresh.load("a" * 64, "e" * 64) is not None and fresh.load("b" * 64, "e" * 64) is not None


def test_the_cache_is_bounded(tmp_path):
    store = OracleStore(tmp_path)
    digests = [f"{i:064x}" for i in range(20)]
    for i, digest in enumerate(digests):
        store.store("k" * 64, np.zeros(1000), ["cpu"], digest)
        store.flush()
        os.utime(store._path(digest), ns=(i * 10**9, i * 10**9))
    size = store._path(digests[0]).stat().st_size
    store.trim(max_bytes=5 * size)
    kept = sorted(p.stem for p in tmp_path.glob("*/*.json"))
    assert kept == digests[15:], "the five most recently used exercises stay"


def test_one_exercise_cannot_fill_the_cache(tmp_path, monkeypatch):
    """Past an eighth of the bound, an exercise's file keeps only the results
    its last session used (a student's changing values make new keys)."""
    from grader import oraclecache

    monkeypatch.setattr(oraclecache, "MAX_BYTES", 8 * 20_000)
    store = OracleStore(tmp_path)
    for i in range(10):
        store.store(f"{i:064x}", np.zeros(500), ["cpu"], "e" * 64)  # about 5 KB each
    store.flush()
    later = OracleStore(tmp_path)
    assert later.load(f"{0:064x}", "e" * 64) is not None
    later.store(f"{99:064x}", np.ones(500), ["cpu"], "e" * 64)
    later.flush()
    kept = set(json.loads(store._path("e" * 64).read_text())["entries"])
    assert kept == {f"{0:064x}", f"{99:064x}"}


def test_any_change_of_the_graders_invalidates(tmp_path):
    folder = tmp_path / "ex01_sigmoid"
    shutil.copytree(ROOT / "exercises" / "ex01_sigmoid", folder)
    ex = load_exercise(folder)
    before = exercise_digest(ex, 1234)
    assert exercise_digest(ex, 1235) != before
    grader = folder / "test_sigmoid.py"
    grader.write_text(grader.read_text() + "\n# an edit\n")
    assert exercise_digest(ex, 1234) != before
    (folder / "exercise.yaml").write_text((folder / "exercise.yaml").read_text() + "\n")
    assert exercise_digest(ex, 1234) not in (before,)


def test_a_replayed_value_that_differs_is_caught(tmp_path):
    store = OracleStore(tmp_path)

    class Fresh:
        device_names = ["cpu"]

        def __call__(self, fn, *inputs):
            from grader.expected import Expected

            return Expected({"cpu": inputs[0] * 2})

    fn = lazytorch.TorchName("torch.double_it")
    oracle = CachedOracle(store, "ctx", Fresh, verify=True)
    assert np.array_equal(oracle(fn, np.ones(2)).value, [2.0, 2.0]) and oracle.misses == 1
    assert np.array_equal(oracle(fn, np.ones(2)).value, [2.0, 2.0]) and oracle.hits == 1
    # Someone edits the cache with a value that still reads back as well formed:
    key = call_key("ctx", fn, (np.ones(2),), {})
    store.store(key, np.array([2.0, 2.5]), ["cpu"], "ctx")
    from grader.oracle import OracleFault

    with pytest.raises(OracleFault):
        oracle(fn, np.ones(2))


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_scores_are_identical_with_no_cache_a_cold_cache_and_a_warm_one(ex, tmp_path, monkeypatch):
    """The reference, the stub and a mutant: graded without the cache, with an
    empty one, and again with the one that filled. The warm check uses torch
    for nothing: no grader computes with torch outside the oracle (a hint's
    arithmetic included), or each re-check would import it."""
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path))
    mutant = sorted((ex.path / "mutants").glob("*.py"))[0]
    for submission in (ROOT / "solutions" / ex.name / ex.file, ex.student_file, mutant):
        (fresh,) = grade([ex], {ex.name: submission})
        (cold,) = grade([ex], {ex.name: submission}, use_cache=True)
        before = lazytorch.uses()
        (warm,) = grade([ex], {ex.name: submission}, use_cache=True)
        assert lazytorch.uses() == before, f"{submission.name}: torch used on a re-check the cache answers"
        assert _scores(cold) == _scores(fresh) == _scores(warm), submission.name
        assert fresh.devices == warm.devices
    assert list((tmp_path / "oracle").glob("*/*.json")), "answers were recorded"


def _grade_in_a_fresh_process(env: dict, *args: str) -> dict:
    code = ("import json, sys\n"
            "from pathlib import Path\n"
            "from grader.oraclecache import allowed\n"
            "from grader.exercises import resolve\n"
            "from grader.grading import grade\n"
            "ex = resolve('ex05', Path('.'))\n"
            "(r,) = grade([ex], {ex.name: Path('solutions/ex05_softmax/softmax.py').resolve()}, "
            "use_cache=allowed())\n"
            "import grader.lazytorch as lt\n"
            "real = 'torch' in sys.modules and not isinstance(sys.modules['torch'], lt.LazyModule)\n"
            "print(json.dumps({'score': r.score, 'max': r.max_score, 'torch': lt.loaded() or real}))\n")
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_warm_recheck_does_not_import_torch(tmp_path):
    env = dict(os.environ, GRADER_CACHE_DIR=str(tmp_path))
    env.pop("GRADER_SEED", None)
    first = _grade_in_a_fresh_process(env)
    again = _grade_in_a_fresh_process(env)
    assert first == {"score": first["max"], "max": first["max"], "torch": True}
    assert again == {"score": first["max"], "max": first["max"], "torch": False}
    # A secret seed: computed afresh, never replayed, nothing recorded.
    secret = dict(env, GRADER_CACHE_DIR=str(tmp_path / "secret"), GRADER_SEED="4242")
    assert _grade_in_a_fresh_process(secret)["torch"] is True
    assert _grade_in_a_fresh_process(secret)["torch"] is True
    assert not (tmp_path / "secret" / "oracle").exists()


def test_trusted_runs_never_read_the_cache(tmp_path):
    """grader ci, grader batch and the autograder compute fresh: a poisoned
    cache (every answer replaced) changes nothing there."""
    cache = tmp_path / "cache"
    env = {"GRADER_CACHE_DIR": str(cache)}
    wrong = ROOT / "exercises" / "ex01_sigmoid" / "mutants" / "sign_flipped.py"
    assert run_cli("check", "ex01", "--submission", str(wrong), "--format", "json", env=env).returncode == 0
    entries = list((cache / "oracle").glob("*/*.json"))
    assert entries, "a student's check recorded its answers"
    for path in entries:
        os.utime(path, ns=(1, 1))  # a replay would mark each entry it reads as recently used
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(wrong, subs / "cyd.py")
    out = tmp_path / "grades"
    proc = run_cli("batch", str(subs), "--exercise", "ex01", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    secret = run_cli("check", "ex01", "--submission", str(wrong), env=dict(env, GRADER_SEED="77"))
    assert secret.returncode == 0, secret.stderr
    assert {p.stat().st_mtime_ns for p in entries} == {1}, "batch and a secret-seed check read none of them"
    assert set((cache / "oracle").glob("*/*.json")) == set(entries), "and wrote none"


def test_a_result_crosses_processes_without_torch(tmp_path):
    """`--all` grades in forked jobs and unpickles their results in the parent,
    which has not imported torch: nothing in a result may make it do so
    (torch's own version string did, for a second of the parent's time)."""
    import pickle

    ex = next(e for e in EXERCISES if e.name.startswith("ex09"))
    (result,) = grade([ex], {ex.name: ROOT / "solutions" / ex.name / ex.file})
    assert result.score == result.max_score
    blob = tmp_path / "result.pickle"
    blob.write_bytes(pickle.dumps(result))
    code = ("import pickle, sys\n"
            f"r = pickle.loads(open({str(blob)!r}, 'rb').read())\n"
            "print(r.score, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(result.score), "False"]


# With the limit at 10x: above 30x is decided after one round (slow), below 3.3x after two
# (fast); in between takes three.
@pytest.mark.parametrize("first,again", [(1000.0, 5.0), (0.01, 5.0), (5.0, 0.01), (5.0, 1000.0)],
                         ids=["slow then middling", "fast then middling", "middling then fast",
                              "middling then slow"])
def test_ex03_recheck_uses_no_torch_whatever_the_timings_decide(first, again, tmp_path, monkeypatch):
    """ex03's vectorization check times one, two or three rounds, as the measured ratio decides
    (a machine under load measures other ratios). What it asks the oracle must not depend on
    that: here the timings are forced (optimize's seconds over the baseline's), the first check
    deciding after one or two rounds and the re-check needing three, or the other way round,
    and the re-check still finds every answer in the cache."""
    from grader.sandbox.client import Sandbox

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path))
    ex = next(e for e in EXERCISES if e.name.startswith("ex03"))
    ratio = {"now": first}
    real_call = Sandbox.call

    def timed(self, func, *args, **kwargs):
        result = real_call(self, func, *args, **kwargs)
        if func == "kernel":  # the baseline
            result.seconds = 0.01
        elif func == "optimize":
            result.seconds = 0.01 * ratio["now"]
        return result

    limit = float(ex.extra["vectorization"]["max_ratio"])
    assert limit / 3 < 5.0 < 3 * limit, "the ratios above take the paths their names say"
    monkeypatch.setattr(Sandbox, "call", timed)
    reference = ROOT / "solutions" / ex.name / ex.file
    (cold,) = grade([ex], {ex.name: reference}, use_cache=True)
    ratio["now"] = again
    before = lazytorch.uses()
    (warm,) = grade([ex], {ex.name: reference}, use_cache=True)
    assert lazytorch.uses() == before, "torch used on a re-check the cache answers"
    for r, forced in ((cold, first), (warm, again)):  # the timings did decide as forced
        vectorized = next(t for t in r.tests if t.name == "test_optimize_vectorized")
        assert (vectorized.status == "passed") == (forced <= limit), vectorized.output
        assert f"{forced:.1f}x" in vectorized.output
    assert all(t.status == "passed" for t in warm.tests if t.name != "test_optimize_vectorized")
