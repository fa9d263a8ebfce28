"""Capstones (issue 24): multi-file submissions, and one mistake costing only its own checks.

ex11_resblock is graded here (seconds); ex12_lenet's own grading (a full training
run per grading) is covered by tests/test_exercises.py.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_cli
from grader.exercises import resolve
from grader.grading import grade
from grader.sandbox.client import Sandbox, StudentError
from grader.sandbox.limits import Limits
from grader.submission import companion_sources, prepare_submission, used_exercises

SOL = ROOT / "solutions"
EX11 = resolve("ex11", ROOT)
EX12 = resolve("ex12", ROOT)
RESBLOCK = (SOL / "ex11_resblock" / "resblock.py").read_text()
CONV = (SOL / "ex06_conv" / "conv.py").read_text()
BATCHNORM = (SOL / "ex08_batchnorm" / "batchnorm.py").read_text()
WRONG_BN_BACKWARD = (ROOT / "exercises" / "ex08_batchnorm" / "mutants" / "dx_direct_term_only.py").read_text()


def _write(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _summary(result) -> str:
    return "\n".join(f"{t.name}: {t.status} {t.score}/{t.max_score}\n{t.output}" for t in result.tests)


def test_uses_names_the_earlier_exercises():
    assert [ex.name for ex in used_exercises(EX11)] == ["ex06_conv", "ex08_batchnorm"]
    assert [ex.module for ex in used_exercises(EX12)] == ["softmax", "conv", "pool", "optim"]
    assert used_exercises(resolve("ex06", ROOT)) == []


def test_companions_are_found_beside_the_file_and_in_sibling_exercise_folders(tmp_path):
    flat = _write(tmp_path / "flat", {"resblock.py": RESBLOCK, "conv.py": CONV, "batchnorm.py": BATCHNORM})
    assert companion_sources(flat / "resblock.py", EX11) == {"ex06_conv": flat / "conv.py",
                                                             "ex08_batchnorm": flat / "batchnorm.py"}
    # A course repository (or a pull request's checkout): each file in its exercise's folder.
    repo = tmp_path / "repo" / "exercises"
    _write(repo / "ex11_resblock", {"resblock.py": RESBLOCK})
    _write(repo / "ex06_conv", {"conv.py": CONV})
    _write(repo / "ex08_batchnorm", {"ex08_batchnorm.ipynb": "{}"})  # a notebook counts too
    assert companion_sources(repo / "ex11_resblock" / "resblock.py", EX11) == {
        "ex06_conv": repo / "ex06_conv" / "conv.py",
        "ex08_batchnorm": repo / "ex08_batchnorm" / "ex08_batchnorm.ipynb"}
    # A file in a folder of another name: only its own folder is searched.
    alone = _write(tmp_path / "work" / "mine", {"resblock.py": RESBLOCK})
    _write(tmp_path / "work" / "ex06_conv", {"conv.py": CONV})
    assert companion_sources(alone / "resblock.py", EX11) == {}


def test_a_missing_companion_that_is_imported_gets_a_note(tmp_path, capsys):
    folder = _write(tmp_path / "s", {"resblock.py": RESBLOCK, "conv.py": CONV})
    prepared = prepare_submission(folder, EX11)
    assert set(prepared.companions) == {"conv"}
    assert any("imports batchnorm, but no batchnorm.py (ex08_batchnorm) was found beside it" in n
               for n in prepared.notes)


def test_a_folder_with_the_students_own_layers_scores_full_marks(tmp_path):
    folder = _write(tmp_path / "s", {"resblock.py": RESBLOCK, "conv.py": CONV, "batchnorm.py": BATCHNORM})
    (result,) = grade([EX11], {EX11.name: folder})
    assert result.score == result.max_score, _summary(result)
    assert not any("fix ex0" in t.output for t in result.tests)  # correct layers: nothing to name
    # Without them the same file cannot be imported: the companions really were used.
    alone = _write(tmp_path / "alone", {"resblock.py": RESBLOCK})
    (result,) = grade([EX11], {EX11.name: alone})
    assert result.score == 0 and "No module named" in _summary(result)


def test_a_wrong_layer_is_named_and_does_not_cost_the_composition(tmp_path):
    folder = _write(tmp_path / "s", {"resblock.py": RESBLOCK, "conv.py": CONV, "batchnorm.py": WRONG_BN_BACKWARD})
    (result,) = grade([EX11], {EX11.name: folder})
    # The composition is right: with the grader answering for the wrong batch norm it scores in full...
    assert result.score == result.max_score, _summary(result)
    # ... and every check names the layer's bug and the exercise to fix.
    for t in result.tests:
        assert "your batchnorm_backward (ex08) is wrong for (N, C, H, W) input: fix ex08 first" in t.output, t.output
        assert "batchnorm_backward, batchnorm_forward are answered by the grader" in t.output
    # The same layers with a wrong composition still lose the composition's points.
    wrong = RESBLOCK.replace("dx = dx + dz", "dx = dx")
    _write(folder, {"resblock.py": wrong})
    (result,) = grade([EX11], {EX11.name: folder})
    failed = {t.name for t in result.tests if t.status != "passed"}
    assert failed == {"test_backward_identity"}, _summary(result)
    assert "missing the gradient through the skip connection" in _summary(result)


def test_a_stand_in_answers_only_what_the_grader_chose(tmp_path):
    # Outside a capstone, or for a function it did not replace, a callback is refused.
    path = _write(tmp_path, {"student.py": (
        "import _grader_callback\n\n"
        "def ask(name, *args):\n    return _grader_callback.call(name, list(args), {})\n")}) / "student.py"
    with Sandbox(path, "student", Limits(call_seconds=5, total_seconds=30)) as box:
        with pytest.raises(StudentError, match="no callback is available here"):
            box.call("ask", "conv.conv2d_forward")
        from grader.capstone import StandIns

        stand_ins = StandIns(oracle=None, replaced={"optim": {"adam"}})
        box.callback = stand_ins.answer
        with pytest.raises(StudentError, match="conv.conv2d_forward is not answered here"):
            box.call("ask", "conv.conv2d_forward")
        with pytest.raises(StudentError, match="is not one the grader's stand-in returned"):
            stand_ins.replaced["conv"] = {"conv2d_backward"}
            box.call("ask", "conv.conv2d_backward", np.ones((1, 1, 1, 1)), {"grader_cache": 1})  # forged


def test_stand_in_values_are_torchs(tmp_path):
    from grader.capstone import StandIns
    from grader.oracle import Oracle

    rng = np.random.default_rng(0)
    stand_ins = StandIns(Oracle(), replaced={"conv": {"conv2d_forward", "conv2d_backward"}, "optim": {"adam"}})
    x, w, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    import sys

    sys.path.insert(0, str(SOL / "ex06_conv"))
    sys.path.insert(0, str(SOL / "ex09_optim"))
    try:
        import conv
        import optim
    finally:
        del sys.path[:2]
    out, handle = stand_ins.answer("conv.conv2d_forward", [[x, w, b], {"stride": 2, "padding": (1, 0)}])
    ref_out, ref_cache = conv.conv2d_forward(x, w, b, 2, (1, 0))
    np.testing.assert_allclose(out, ref_out, rtol=1e-12)
    dout = rng.normal(size=out.shape)
    for got, ref in zip(stand_ins.answer("conv.conv2d_backward", [[dout, handle], {}]),
                        conv.conv2d_backward(dout, ref_cache)):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    state, ref_state, p, ref_p = {}, {}, w, w
    for _ in range(3):
        g = rng.normal(size=w.shape)
        p, state = stand_ins.answer("optim.adam", [[p, g, state], {"lr": 0.01}])
        ref_p, ref_state = optim.adam(ref_p, g, ref_state, lr=0.01)
    np.testing.assert_allclose(p, ref_p, rtol=1e-12)
    assert state["step"] == 3


def test_batch_carries_the_companions_of_a_capstone(tmp_path):
    subs = tmp_path / "subs"
    _write(subs / "ada", {"resblock.py": RESBLOCK, "conv.py": CONV, "batchnorm.py": BATCHNORM})
    _write(subs / "bob", {"resblock.py": RESBLOCK, "conv.py": CONV})   # batchnorm.py missing
    out = tmp_path / "out"
    proc = run_cli("batch", str(subs), "--exercise", "ex11", "--out", str(out), "--jobs", "1", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ada = json.loads((out / "reports" / "ada.json").read_text())
    bob = json.loads((out / "reports" / "bob.json").read_text())
    assert ada["score"] == EX11.max_score, json.dumps(ada)[:2000]
    assert bob["score"] == 0 and "No module named 'batchnorm'" in json.dumps(bob)
    # A changed companion is graded again (its content is part of the result's key).
    _write(subs / "ada", {"batchnorm.py": WRONG_BN_BACKWARD})
    proc = run_cli("batch", str(subs), "--exercise", "ex11", "--out", str(out), "--jobs", "1", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 to grade" in proc.stdout or "2 to grade" in proc.stdout, proc.stdout
    ada = json.loads((out / "reports" / "ada.json").read_text())
    assert "batchnorm_backward (ex08)" in json.dumps(ada)


def test_check_all_in_a_course_repository_uses_the_students_own_files(tmp_path):
    repo = tmp_path / "course"
    shutil.copytree(ROOT / "exercises", repo / "exercises", ignore=shutil.ignore_patterns("mutants", "__pycache__"))
    (repo / "exercises" / "ex11_resblock" / "resblock.py").write_text(RESBLOCK)
    (repo / "exercises" / "ex06_conv" / "conv.py").write_text(CONV)
    (repo / "exercises" / "ex08_batchnorm" / "batchnorm.py").write_text(BATCHNORM)
    proc = run_cli("check", "ex11", "--format", "json", cwd=repo, env={"GRADER_CACHE_DIR": str(tmp_path / "c")})
    data = json.loads(proc.stdout)
    score = data["score"] if "score" in data else data["exercises"][0]["score"]
    assert score == EX11.max_score, proc.stdout[:3000] + proc.stderr


def test_gradescope_bundle_of_a_capstone_grades_a_flat_upload(tmp_path):
    from test_bundle import autograder_root, run_autograder

    out = tmp_path / "autograder.zip"
    proc = run_cli("bundle", "ex11", "--gradescope", str(out), "--seed", "4321", "--no-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = autograder_root(tmp_path, out)
    # The earlier exercises travel (for their metadata), not graded.
    assert (root / "source" / "exercises" / "ex06_conv" / "exercise.yaml").is_file()
    _write(root / "submission", {"resblock.py": RESBLOCK, "conv.py": CONV, "batchnorm.py": WRONG_BN_BACKWARD})
    data = run_autograder(root)
    assert data["score"] == pytest.approx(EX11.max_score), json.dumps(data)[:3000]
    assert {t["name"].split(":")[0] for t in data["tests"]} == {"ex11_resblock"}
    assert "batchnorm_backward (ex08)" in json.dumps(data)
