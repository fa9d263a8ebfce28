"""A numerical gradient checker for students (NumPy only).

Use it on your own functions while you work: it estimates the gradient of a
scalar function by central differences and compares it with yours, reporting
the relative error the way CS231n's gradient checks do::

    from grader.gradcheck import check_gradient

    def loss_of_w(w):
        return my_loss(w, b, X, Y)            # a float

    rel = check_gradient(loss_of_w, w, my_grads["dw"])
    # relative error 3.1e-10 at worst (index (2, 0)): looks right

For a function with an array output (a layer's forward pass), check the
gradient of ``np.sum(out * dout)`` for a random ``dout``: its gradient is
exactly what your backward pass returns for that ``dout``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences: ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every entry i of ``x``.

    ``x`` is perturbed in place and restored, so ``f`` may close over it.
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = float(f(x))
        x[i] = old - h
        minus = float(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """Elementwise ``|a - n| / max(|a| + |n|, 1e-8)`` (CS231n's measure).

    Near zero this measure exaggerates: for a = 0 and n = 1e-7 it says 1.0.
    :func:`check_gradient` therefore also looks at the absolute error.
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-8)


def check_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, analytic: np.ndarray,
                   h: float = 1e-5, verbose: bool = True) -> float:
    """Compare ``analytic`` with the numerical gradient of ``f`` at ``x``.

    Returns the worst relative error, ignoring entries whose absolute error is
    below 1e-7 of the gradient's largest entry (where the relative measure is
    noise), and prints a verdict:
    below 1e-7 is right, up to 1e-4 is suspicious unless the function has kinks
    (ReLU, max), above that the gradient is wrong.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(f"the gradient has shape {analytic.shape} but x has shape {x.shape}")
    numeric = numerical_gradient(f, x, h)
    rel = relative_error(analytic, numeric)
    # Where both are ~0 the relative measure is noise; "~0" is relative to
    # the gradient's own scale, so an all-tiny wrong gradient is still caught.
    scale = max(float(np.max(np.abs(numeric), initial=0.0)), float(np.max(np.abs(analytic), initial=0.0)))
    rel = np.where(np.abs(analytic - numeric) <= max(1e-7 * scale, 1e-13), 0.0, rel)
    worst = float(rel.max(initial=0.0))
    if verbose:
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape)) if rel.size else ()
        verdict = ("looks right" if worst < 1e-7 else
                   "suspicious, unless your function has kinks (max, ReLU)" if worst < 1e-4 else
                   "probably wrong")
        print(f"relative error {worst:.2g} at worst (index {where}): {verdict}")
        if worst >= 1e-4:
            print(f"  yours: {analytic[where]:.8g}   numerical: {numeric[where]:.8g}")
    return worst
