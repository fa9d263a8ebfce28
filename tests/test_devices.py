"""The oracle on every device: CUDA when present, TF32 off, and scores that do not
depend on the grading machine. CUDA tests skip, with a reason, without a GPU."""

import json

import numpy as np
import pytest
import torch

from conftest import ROOT, run_cli
from grader.oracle import Oracle

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def test_oracle_switches_tf32_off():
    Oracle()
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        assert matmul.fp32_precision == "ieee"
        assert torch.backends.cudnn.conv.fp32_precision == "ieee"
    else:
        assert matmul.allow_tf32 is False and torch.backends.cudnn.allow_tf32 is False


def test_oracle_returns_one_float64_value_per_device():
    oracle = Oracle()
    expected = oracle(lambda x: torch.sigmoid(x), np.array([0.0, 1.0]))
    assert set(expected.by_device) == {d.type for d in oracle.devices}
    assert expected.value.dtype == np.float64 and expected.value[0] == 0.5


@needs_cuda
def test_cuda_is_used_and_agrees_with_the_cpu():
    oracle = Oracle()
    assert [d.type for d in oracle.devices] == ["cpu", "cuda"]
    x = np.random.default_rng(0).normal(size=(2, 3, 9, 8))
    w = np.random.default_rng(1).normal(size=(4, 3, 3, 2))
    expected = oracle(lambda x, w: torch.nn.functional.conv2d(x, w, stride=(2, 1), padding=1), x, w)
    assert np.allclose(expected.by_device["cuda"], expected.by_device["cpu"], rtol=1e-12, atol=1e-12)


@needs_cuda
@pytest.mark.parametrize("submission", [
    "solutions/ex01_sigmoid/sigmoid.py",
    "exercises/ex02_propagate/mutants/no_mean.py",
    "exercises/ex01_sigmoid/mutants/naive_overflow.py",
])
def test_score_is_the_same_with_and_without_a_gpu(submission):
    with_gpu = run_cli("check", "--all", "--submission", str(ROOT / submission), "--format", "json")
    without = run_cli("check", "--all", "--submission", str(ROOT / submission), "--format", "json",
                      env={"CUDA_VISIBLE_DEVICES": ""})
    a, b = json.loads(with_gpu.stdout), json.loads(without.stdout)
    assert [r["devices"][-1].startswith("cuda") for r in a] == [True] * len(a)
    assert [r["devices"] for r in b] == [["cpu"]] * len(b)
    assert [(r["exercise"], r["score"]) for r in a] == [(r["exercise"], r["score"]) for r in b]
