"""grader.vjp: out.backward(dout), bit for bit, without importing sympy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.vjp import vjp

ROOT = Path(__file__).resolve().parents[1]
RUNNING = (torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64))

LAYERS = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [(3, 4, 9, 9), (5, 4, 3, 3), (5,)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2, 1), [(3, 4, 9, 9)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2) * 0.5, [(3, 4, 9, 9)]),
    "batch_norm": (lambda x, g, b: F.batch_norm(x, *RUNNING, g, b, training=True), [(6, 4, 5, 5), (4,), (4,)]),
}


@pytest.mark.parametrize("name", LAYERS)
def test_the_same_gradients_bit_for_bit(name):
    layer, shapes = LAYERS[name]
    gen = torch.Generator().manual_seed(7)
    inputs = [torch.randn(*s, dtype=torch.float64, generator=gen) for s in shapes]
    plain = [t.clone().requires_grad_(True) for t in inputs]
    out = layer(*plain)
    dout = torch.randn(out.shape, dtype=torch.float64, generator=gen)
    out.backward(dout)
    ours = [t.clone().requires_grad_(True) for t in inputs]
    vjp(layer(*ours), dout)
    for a, b in zip(plain, ours, strict=True):
        assert torch.equal(a.grad, b.grad)


def test_a_wrong_shape_is_refused_not_broadcast():
    x = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        vjp(x * 2, torch.ones(4, dtype=torch.float64))  # would broadcast in the product
    assert x.grad is None


def test_no_sympy_is_imported():
    """The point of it, with the plain call as the control that imports it."""
    code = ("import sys, torch\n"
            "from grader.vjp import vjp\n"
            "x = torch.ones(3, dtype=torch.float64, requires_grad=True)\n"
            "vjp(x * 2, torch.ones(3, dtype=torch.float64))\n"
            "ours = 'sympy' in sys.modules\n"
            "(x * 2).backward(torch.ones(3, dtype=torch.float64))\n"
            "print(ours, 'sympy' in sys.modules, x.grad.tolist())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "True", "[4.0,", "4.0,", "4.0]"]
