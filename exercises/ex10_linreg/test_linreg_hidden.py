"""Hidden checks for ex10_linreg: graded on Gradescope, left out of the student release.

Every check here is marked ``hidden: true`` in exercise.yaml. A hidden file is
self-contained (graders are imported one by one, not as a package), so it
repeats the oracle it needs.
"""

import numpy as np
import torch
import torch.nn.functional as F


def oracle_fit(X, Y, num_iterations, learning_rate):
    w = torch.zeros((X.shape[0], 1), dtype=X.dtype, device=X.device)
    b = torch.zeros((), dtype=X.dtype, device=X.device)
    losses = []
    for _ in range(num_iterations):
        w.requires_grad_(True)
        b.requires_grad_(True)
        loss = F.mse_loss(F.linear(X.T, w.T, b.reshape(1)).T, Y)
        dw, db = torch.autograd.grad(loss, (w, b))
        losses.append(loss.detach())
        w = (w - learning_rate * dw).detach()
        b = (b - learning_rate * db).detach()
    return {"w": w, "b": b, "losses": torch.stack(losses)}


def test_fit_course_data(student, oracle, check, rng):
    # The course notes' data: y = 0.8 x + 0.7 plus noise, and a wider problem,
    # each trained long enough to converge.
    x = rng.uniform(0.0, 2.0, size=(1, 100))
    cases = [(x, 0.8 * x + 0.7 + 0.1 * rng.normal(size=x.shape), 400, 0.3)]
    X = rng.normal(size=(4, 200))
    cases.append((X, rng.normal(size=(4, 1)).T @ X - 0.3 + 0.05 * rng.normal(size=(1, 200)), 300, 0.2))
    for X, Y, iterations, lr in cases:
        what = f"fit(X, Y, num_iterations={iterations}, learning_rate={lr}) on X of shape {X.shape}"
        w, b, losses = check.tuple(student.fit(X, Y, iterations, lr), 3, what)
        expected = oracle(oracle_fit, X, Y, iterations, lr)
        check.close(w, expected["w"], f"w returned by {what}")
        check.scalar(b, expected["b"], f"b returned by {what}")
        check.close(check.floats(losses, "losses").ravel(), expected["losses"], f"losses returned by {what}")
