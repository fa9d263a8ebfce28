"""Grader for ex10_linreg: linear regression against F.linear, F.mse_loss and torch autograd.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex10`` or ``pytest exercises/ex10_linreg``.
"""

import numpy as np
import torch
import torch.nn.functional as F

FACTOR_TWO = ("the derivative of (pred - y) ** 2 is 2 * (pred - y): the factor 2 is missing "
              "(or you differentiated the 1/(2m) loss; the graded loss has no 1/2)")
NO_BIAS = ("the bias b is missing from the predictions: pred = w.T @ X + b (b is a float added to every "
           "example)")
NO_BIAS_FIT = ("the bias takes no part in training: b must start at 0, enter every prediction "
               "(pred = w.T @ X + b) and be updated every step, b = b - learning_rate * db")
HALF_LOSS = ("the graded loss is mean((pred - Y) ** 2), as F.mse_loss computes it: "
             "without the 1/2 of the 1/(2m) convention")


def oracle_predict(w, b, X):
    # F.linear works batch first: examples as rows.
    return F.linear(X.T, w.T, b.reshape(1)).T


def oracle_mse_loss(w, b, X, Y):
    w = w.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    loss = F.mse_loss(oracle_predict(w, b, X), Y)
    dw, db = torch.autograd.grad(loss, (w, b))
    return {"loss": loss.detach(), "dw": dw, "db": db}


def oracle_fit(X, Y, num_iterations, learning_rate, bias="used"):
    """Gradient descent from zeros; ``bias`` models mistakes: "fixed" (b never updated, stays 0),
    "unused" (b updated with db, but the predictions leave it out)."""
    w = torch.zeros((X.shape[0], 1), dtype=X.dtype, device=X.device)
    b = torch.zeros((), dtype=X.dtype, device=X.device)
    losses = []
    for _ in range(num_iterations):
        step = oracle_mse_loss(w, b if bias == "used" else torch.zeros_like(b), X, Y)
        losses.append(step["loss"])
        w = w - learning_rate * step["dw"]
        if bias != "fixed":
            b = b - learning_rate * step["db"]
    after = [*losses[1:], oracle_mse_loss(w, b, X, Y)["loss"]]
    return {"w": w, "b": b, "losses": torch.stack(losses), "losses_after": torch.stack(after)}


def make_case(rng, n_x, m):
    """Targets from a noisy linear model, as in the course notes (y = 0.8 x + 0.7 + noise)."""
    w_true = rng.uniform(0.5, 1.5, size=(n_x, 1)) * rng.choice([-1.0, 1.0], size=(n_x, 1))
    b_true = float(rng.uniform(-1.0, 1.0))
    X = rng.normal(size=(n_x, m))
    Y = w_true.T @ X + b_true + 0.1 * rng.normal(size=(1, m))
    w = rng.normal(scale=0.5, size=(n_x, 1))
    b = float(rng.normal(scale=0.5))
    return w, b, X, Y


def run_loss(student, oracle, check, w, b, X, Y):
    """Call the student's mse_loss; return (loss, grads, expected) after checking the structure."""
    loss, grads = check.tuple(student.mse_loss(w, b, X, Y), 2, "mse_loss(w, b, X, Y)")
    grads = check.keys(grads, ["dw", "db"], "grads (the second value returned by mse_loss)")
    return loss, grads, oracle(oracle_mse_loss, w, np.array(b), X, Y)


def no_bias(oracle, w, X, Y):
    """mse_loss's values when the predictions leave out the bias."""
    return oracle(oracle_mse_loss, w, np.array(0.0), X, Y)


def check_predict(student, oracle, check, rng, n_x, m):
    w, b, X, _ = make_case(rng, n_x, m)
    expected = oracle(oracle_predict, w, np.array(b), X)
    check.close(student.predict(w, b, X), expected, f"predict(w, b, X) with X of shape ({n_x}, {m})",
                inputs={"w": w, "b": b, "X": X},
                mistakes={"the bias b is missing: predictions are w.T @ X + b":
                          oracle(lambda w, X: w.T @ X, w, X)})


def test_predict(student, oracle, check, rng):
    # One example and one feature belong to test_edge_cases.
    for n_x, m in [(3, 10), (2, 6)]:
        check_predict(student, oracle, check, rng, n_x, m)


def test_loss(student, oracle, check, rng):
    for n_x, m in [(3, 20), (2, 7)]:
        w, b, X, Y = make_case(rng, n_x, m)
        loss, _, expected = run_loss(student, oracle, check, w, b, X, Y)
        check.scalar(loss, expected["loss"], "loss (the first value returned by mse_loss)",
                     inputs={"w": w, "X": X, "Y": Y}, mistakes={NO_BIAS: no_bias(oracle, w, X, Y)["loss"]},
                     factors={m: "the loss is the mean over the m examples: divide the sum by m",
                              0.5: HALF_LOSS})


def test_dw(student, oracle, check, rng):
    for n_x, m in [(3, 20), (5, 8)]:
        w, b, X, Y = make_case(rng, n_x, m)
        _, grads, expected = run_loss(student, oracle, check, w, b, X, Y)
        check.close(grads["dw"], expected["dw"], "grads['dw']", inputs={"w": w, "X": X, "Y": Y},
                    mistakes={NO_BIAS: no_bias(oracle, w, X, Y)["dw"]},
                    factors={0.5: FACTOR_TWO, m: "did you forget to divide by m?",
                             m / 2: "did you forget to divide by m?"})


def test_db(student, oracle, check, rng):
    for n_x, m in [(3, 20), (2, 9)]:
        w, b, X, Y = make_case(rng, n_x, m)
        _, grads, expected = run_loss(student, oracle, check, w, b, X, Y)
        check.scalar(grads["db"], expected["db"], "grads['db']", inputs={"X": X, "Y": Y},
                     mistakes={NO_BIAS: no_bias(oracle, w, X, Y)["db"]},
                     factors={0.5: FACTOR_TWO, m: "did you forget to divide by m?",
                              m / 2: "did you forget to divide by m?"})


def test_edge_cases(student, oracle, check, rng):
    for n_x, m, label in [(3, 1, "one example (m = 1)"), (1, 8, "one feature (n_x = 1)"), (1, 1, "m = n_x = 1")]:
        check_predict(student, oracle, check, rng, n_x, m)
        w, b, X, Y = make_case(rng, n_x, m)
        loss, grads, expected = run_loss(student, oracle, check, w, b, X, Y)
        check.scalar(loss, expected["loss"], f"loss with {label}")
        check.close(grads["dw"], expected["dw"], f"grads['dw'] with {label}")
        check.scalar(grads["db"], expected["db"], f"grads['db'] with {label}")


def run_fit(student, oracle, check, X, Y, iterations, lr):
    what = f"fit(X, Y, num_iterations={iterations}, learning_rate={lr})"
    w, b, losses = check.tuple(student.fit(X, Y, iterations, lr), 3, what)
    return w, b, losses, oracle(oracle_fit, X, Y, iterations, lr), what


def test_fit_params(student, oracle, check, rng):
    for n_x, m, iterations, lr in [(1, 40, 200, 0.1), (3, 25, 60, 0.05)]:
        _, _, X, Y = make_case(rng, n_x, m)
        w, b, _, expected, what = run_fit(student, oracle, check, X, Y, iterations, lr)
        inputs = {"X": X, "num_iterations": iterations, "learning_rate": lr}
        fixed = oracle(oracle_fit, X, Y, iterations, lr, bias="fixed")
        unused = oracle(oracle_fit, X, Y, iterations, lr, bias="unused")
        check.close(w, expected["w"], f"w returned by {what} (training starts from zeros)", inputs=inputs,
                    mistakes={NO_BIAS_FIT: fixed["w"]})
        check.scalar(b, expected["b"], f"b returned by {what}", inputs=inputs,
                     mistakes={NO_BIAS_FIT: fixed["b"], NO_BIAS: unused["b"]})


def test_fit_losses(student, oracle, check, rng):
    for n_x, m, iterations, lr in [(2, 30, 50, 0.1), (1, 10, 1, 0.1)]:
        _, _, X, Y = make_case(rng, n_x, m)
        _, _, losses, expected, what = run_fit(student, oracle, check, X, Y, iterations, lr)
        if not isinstance(losses, (list, tuple, np.ndarray)) or np.ndim(losses) != 1:
            check.fail(f"losses must be a list (or 1-d array) of {iterations} floats, got "
                       + (f"an array of shape {np.shape(losses)}" if isinstance(losses, np.ndarray)
                          else type(losses).__name__))
        if len(losses) != iterations:
            check.fail(f"with num_iterations={iterations}, losses must hold {iterations} value(s) (the loss "
                       f"before each update), got {len(losses)}")
        check.close(check.floats(losses, "losses"), expected["losses"], f"losses returned by {what}",
                    inputs={"X": X},
                    mistakes={"these are the losses after each update: record the loss before each update":
                              expected["losses_after"]})


def test_inputs_unchanged(student, check, rng):
    w, b, X, Y = make_case(rng, 3, 6)
    result = student.call("mse_loss", w, b, X, Y)
    check.no_mutation(result, "mse_loss(w, b, X, Y)", names=["w", "b", "X", "Y"])
    result = student.call("fit", X, Y, 3, 0.1)
    check.no_mutation(result, "fit(X, Y, ...)", names=["X", "Y"])
