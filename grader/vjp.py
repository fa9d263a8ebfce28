"""``out.backward(dout)`` for an oracle, without the second it can cost.

Given an explicit gradient, ``Tensor.backward`` checks its shape with torch's
symbolic-shape machinery, whose first use imports sympy: a quarter of a
second, and more CPU, on a check that otherwise needs only torch. The same
vector-Jacobian product comes from ``(out * dout).sum().backward()``: the
sum's gradient is ones, and ones times ``dout`` is ``dout`` exactly, so every
gradient is the same bit for bit (``tests/test_vjp.py``).
"""

from __future__ import annotations

from typing import Any


def vjp(out: Any, dout: Any) -> None:
    """Accumulate into the leaves' ``.grad`` what ``out.backward(dout)`` would."""
    if tuple(out.shape) != tuple(dout.shape):
        # What torch's own check says; broadcasting in the product would hide it.
        raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {tuple(dout.shape)} and "
                           f"output has a shape of {tuple(out.shape)}")
    (out * dout).sum().backward()
