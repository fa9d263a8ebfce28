"""grader.torch_optim: torch.optim's own optimizers, without importing torch's compiler."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grader import torch_optim

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    (torch.optim.SGD, {"lr": 0.1}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (torch.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01, "eps": 1e-10}),
    (torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True}),
    (torch.optim.Adadelta, {"lr": 1.0, "rho": 0.9, "weight_decay": 0.1}),
    (torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    (torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
]


def _run(cls, hp, grads, *, ours: bool):
    p = torch.linspace(-1, 1, grads.shape[1], dtype=torch.float64).requires_grad_(True)
    opt = torch_optim.make(cls, [p], **hp) if ours else cls([p], **hp)
    trace = []
    for g in grads:
        p.grad = g.clone()
        torch_optim.step(opt) if ours else opt.step()
        trace.append((p.detach().clone(), {k: v.clone() for k, v in opt.state[p].items()}))
    return trace, p.requires_grad


@pytest.mark.parametrize("cls,hp", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_the_same_steps_bit_for_bit(cls, hp):
    grads = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    ours, grad_ours = _run(cls, hp, grads, ours=True)
    plain, grad_plain = _run(cls, hp, grads, ours=False)
    assert grad_ours == grad_plain
    for (w1, s1), (w2, s2) in zip(ours, plain, strict=True):
        assert torch.equal(w1, w2)
        assert s1.keys() == s2.keys()
        assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_no_compiler_is_imported():
    """The point of it: in a process that has not imported torch._dynamo,
    building and stepping each of ex09's optimizers does not import it (nor
    sympy), and a plain opt.step() does (so that this test can fail). The
    wrappers are short-circuited for the call only: afterwards torch's
    functions hold nothing of ours, so a torch.compile later in the same
    process is unaffected."""
    code = ("import sys, torch\n"
            "from grader import torch_optim\n"
            "disable = torch_optim._codes()[0]\n"
            "wrapped = [f for owner in (torch.optim.Adam, sys.modules['torch.optim.adam'])\n"
            "           for f in torch_optim._disable_wrappers(owner, disable)]\n"
            "assert len(wrapped) >= 2, wrapped  # Optimizer.add_param_group, adam()\n"
            "for cls in (torch.optim.SGD, torch.optim.Adagrad, torch.optim.RMSprop, torch.optim.Adadelta,"
            " torch.optim.Adam):\n"
            "    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)\n"
            "    opt = torch_optim.make(cls, [p], lr=0.1)\n"
            "    p.grad = torch.ones(3, dtype=torch.float64)\n"
            "    torch_optim.step(opt)\n"
            "ours = 'torch._dynamo' in sys.modules or 'sympy' in sys.modules\n"
            "assert not [f for f in wrapped if '__dynamo_disable' in vars(f)], 'left behind'\n"
            "opt.step()\n"
            "print(ours, 'torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "True"]
