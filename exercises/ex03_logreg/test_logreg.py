"""Grader for ex03_logreg: gradient descent against torch autograd, and a vectorization check.

The vectorization check times the student's ``optimize`` against
``timing_baseline.py`` run in a second sandbox process started the same way
(one BLAS thread), interleaving the runs and keeping the fastest of each, so
load on the machine affects both sides alike. Every timed call starts from new
parameters and its values are checked: a call answered from memory, or not at
all, is not a fast one.
"""

import numpy as np
import torch
import torch.nn.functional as F

from grader.sandbox.client import Sandbox


def oracle_optimize(w, b, X, Y, num_iterations, learning_rate):
    costs = []
    dw = db = None
    for i in range(num_iterations):
        w = w.detach().requires_grad_(True)
        b = b.detach().requires_grad_(True)
        cost = F.binary_cross_entropy_with_logits(w.T @ X + b, Y)
        dw, db = torch.autograd.grad(cost, (w, b))
        if i % 100 == 0:
            costs.append(cost.detach())
        w = w.detach() - learning_rate * dw
        b = b.detach() - learning_rate * db
    return {"w": w, "b": b, "dw": dw, "db": db, "costs": torch.stack(costs)}


def make_data(rng, n_x, m):
    X = rng.normal(size=(n_x, m))
    Y = (rng.random(size=(1, m)) < 0.5).astype(np.float64)
    return X, Y


def run_optimize(student, oracle, check, rng, n_x=4, m=30, iterations=150, lr=0.05):
    w = rng.normal(scale=0.1, size=(n_x, 1))
    b = float(rng.normal(scale=0.1))
    X, Y = make_data(rng, n_x, m)
    out = check.tuple(student.optimize(w, b, X, Y, iterations, lr, False), 3,
                      f"optimize(w, b, X, Y, num_iterations={iterations}, learning_rate={lr})")
    expected = oracle(oracle_optimize, w, np.array(b), X, Y, iterations, lr)
    inputs = {"X": X, "num_iterations": iterations, "learning_rate": lr}
    return out, expected, inputs


def test_optimize_params(student, oracle, check, rng):
    (params, _, _), expected, inputs = run_optimize(student, oracle, check, rng)
    params = check.keys(params, ["w", "b"], "params (the first value returned by optimize)")
    check.close(params["w"], expected["w"], "params['w']", inputs=inputs)
    check.scalar(params["b"], expected["b"], "params['b']", inputs=inputs)


def test_optimize_grads(student, oracle, check, rng):
    (_, grads, _), expected, inputs = run_optimize(student, oracle, check, rng, iterations=120)
    grads = check.keys(grads, ["dw", "db"], "grads (the second value returned by optimize)")
    m = inputs["X"].shape[1]
    check.close(grads["dw"], expected["dw"], "grads['dw'] (at the parameters before the last update)",
                inputs=inputs, factors={m: "did you forget to divide by m?"})
    check.scalar(grads["db"], expected["db"], "grads['db'] (at the parameters before the last update)",
                 inputs=inputs, factors={m: "did you forget to divide by m?"})


def test_optimize_costs(student, oracle, check, rng):
    for iterations in (250, 1):
        (_, _, costs), expected, inputs = run_optimize(student, oracle, check, rng, iterations=iterations)
        n = len(expected["costs"].value)
        if not isinstance(costs, (list, tuple, np.ndarray)) or np.ndim(costs) != 1:
            check.fail(f"costs must be a list (or 1-d array) of {n} floats, got {type(costs).__name__}"
                       f" of shape {np.shape(costs)}" if isinstance(costs, np.ndarray) else
                       f"costs must be a list (or 1-d array) of {n} floats, got {type(costs).__name__}")
        if len(costs) != n:
            check.fail(f"with num_iterations={iterations}, costs must hold {n} value(s) (the cost at "
                       f"iterations 0, 100, 200, ... before the update), got {len(costs)}")
        check.close(check.floats(costs, "costs"), expected["costs"],
                    f"costs with num_iterations={iterations}", inputs=inputs)


def test_optimize_vectorized(student, oracle, check, rng, exercise):
    spec = exercise.extra["vectorization"]
    iterations, limit = int(spec["num_iterations"]), float(spec["max_ratio"])
    # Every input drawn, and every expected value asked of the oracle, before anything is
    # timed: how many rounds a timing takes, and whether a slow first shape ends the check,
    # depend on the machine's load, and must change neither the inputs nor what the oracle
    # is asked (a re-check that times differently finds every answer in the oracle's cache).
    plans = [_plan(oracle, rng, int(n_x), int(m), iterations) for n_x, m in spec["shapes"]]
    with Sandbox(exercise.path / "timing_baseline.py", "timing_baseline", exercise.limits) as baseline:
        # Many examples (a loop over them shows), then many features (likewise).
        for plan in plans:
            _time_optimize(student, baseline, check, plan, iterations, limit)


def _plan(oracle, rng, n_x, m, iterations, rounds=3, lr=0.01) -> dict:
    """The inputs of one shape's timing (X, Y, a starting point per round) and their expected values."""
    X, Y = make_data(rng, n_x, m)
    starts = [(np.zeros((n_x, 1)), 0.0)]  # the untimed first call
    starts += [(rng.normal(scale=0.1, size=(n_x, 1)), float(rng.normal(scale=0.1))) for _ in range(rounds)]
    expected = [oracle(oracle_optimize, w, np.array(b), X, Y, iterations, lr) for w, b in starts]
    return {"X": X, "Y": Y, "lr": lr, "starts": starts, "expected": expected,
            "shape": f"X of shape ({n_x}, {m})"}


def _time_optimize(student, baseline, check, plan, iterations, limit):
    """Time optimize against the baseline on ``plan``'s X, interleaved, keeping the
    fastest of each; every timed call's values are checked, with a new starting point
    each time, so that only real work can be fast."""
    X, Y, lr, shape = plan["X"], plan["Y"], plan["lr"], plan["shape"]
    n_x = X.shape[0]
    # Inputs live in each process beforehand: only the computation is timed.
    refs, base_refs = [student.store(v) for v in (X, Y)], [baseline.store(v) for v in (X, Y)]
    with student.frozen():
        baseline.call("kernel", np.zeros((n_x, 1)), 0.0, base_refs[0], base_refs[1], 1, lr)  # warm up
    (w0, b0), *starts = plan["starts"]
    expected0, *expected = plan["expected"]
    _checked_optimize(student, check, w0, b0, refs, iterations, lr, f"optimize on {shape}", expected0)
    yours, theirs = [], []
    for k, (w, b) in enumerate(starts):
        with student.frozen():  # nothing the student left running competes with the baseline
            theirs.append(baseline.call("kernel", w, b, base_refs[0], base_refs[1], iterations, lr).seconds)
        yours.append(_checked_optimize(student, check, w, b, refs, iterations, lr,
                                       f"optimize on {shape}, timed call {k + 1}", expected[k]))
        ratio = min(yours) / min(theirs)
        # Decided either way: a slow submission need not be timed again, nor a
        # fast one after two rounds (a third could only find a faster baseline,
        # and by a factor of 3; the student's processes are frozen meanwhile).
        if ratio > 3 * limit or (k >= 1 and ratio < limit / 3):
            break
    check.note(f"optimize on {shape} took {min(yours):.4f} s, {ratio:.1f}x the vectorized baseline "
               f"({min(theirs):.4f} s; the limit is {limit:g}x)")
    if ratio > limit:
        check.fail(
            f"optimize is not vectorized enough: {min(yours):.3f} s on {shape} with "
            f"num_iterations={iterations}, {ratio:.1f}x a vectorized NumPy baseline ({min(theirs):.4f} s); "
            f"the limit is {limit:g}x.\nHint: replace Python loops over examples or features by matrix "
            f"products (w.T @ X, X @ dZ.T) and np.sum")


def _checked_optimize(student, check, w, b, refs, iterations, lr, what, expected) -> float:
    """One call of optimize on the stored X and Y, its values checked against ``expected``
    (the oracle's, asked beforehand); the seconds it took.

    The new w and b go with the call itself (not stored ahead, where code that
    took over the sandbox could start the work before the clock does)."""
    result = student.call("optimize", w, b, refs[0], refs[1], iterations, lr, False)
    params = check.keys(check.tuple(result.value, 3, what)[0], ["w", "b"], f"params returned by {what}")
    check.close(params["w"], expected["w"], f"params['w'] returned by {what}")
    check.scalar(params["b"], expected["b"], f"params['b'] returned by {what}")
    return result.seconds


def test_predict(student, oracle, check, rng):
    for n_x, m in [(3, 12), (1, 1), (5, 40)]:
        w = rng.normal(size=(n_x, 1))
        b = float(rng.normal())
        X = rng.normal(size=(n_x, 4 * m))
        z = (w.T @ X + b).ravel()
        X = X[:, np.abs(z) > 0.05][:, :m]  # no probability within a hair of 0.5
        got = student.predict(w, b, X)
        expected = oracle(lambda w, b, X: (torch.sigmoid(w.T @ X + b) > 0.5).double(), w, np.array(b), X)
        check.close(got, expected, "predict(w, b, X)", inputs={"w": w, "X": X},
                    mistakes={"ones and zeros are swapped: predict 1 where the probability is above 0.5":
                              1.0 - expected.value})
    # Examples at probability exactly 0.5 (z = 0: b = 0 and a column of zeros): the
    # contract predicts 1 only where the probability is above 0.5.
    w = rng.normal(size=(3, 1))
    X = rng.normal(size=(3, 8))
    X[:, [1, 4, 5]] = 0.0
    got = student.predict(w, 0.0, X)
    expected = oracle(lambda w, X: (torch.sigmoid(w.T @ X) > 0.5).double(), w, X)
    at_half = expected.value.copy()
    at_half[:, [1, 4, 5]] = 1.0
    check.close(got, expected, "predict(w, 0.0, X) with examples at probability exactly 0.5",
                inputs={"w": w, "X": X},
                mistakes={"at probability exactly 0.5 (columns 1, 4 and 5 of X are zeros and b = 0) the "
                          "prediction is 0: predict 1 only where the probability is above 0.5 (A > 0.5), "
                          "not where it is at least 0.5 (A >= 0.5)": at_half,
                          "ones and zeros are swapped: predict 1 where the probability is above 0.5":
                              1.0 - expected.value})


def test_model(student, oracle, check, rng):
    X_train, Y_train = make_data(rng, 3, 40)
    X_test, Y_test = make_data(rng, 3, 15)
    iterations, lr = 250, 0.5
    d = student.model(X_train, Y_train, X_test, Y_test, iterations, lr, False)
    keys = ["costs", "Y_prediction_test", "Y_prediction_train", "w", "b", "learning_rate", "num_iterations"]
    d = check.keys(d, keys, "the dict returned by model")
    expected = oracle(oracle_optimize, np.zeros((3, 1)), np.array(0.0), X_train, Y_train, iterations, lr)
    check.close(d["w"], expected["w"], "model(...)['w'] (training starts from zeros)")
    check.scalar(d["b"], expected["b"], "model(...)['b']")
    check.close(check.floats(d["costs"], "model(...)['costs']").ravel(), expected["costs"], "model(...)['costs']")
    w, b = expected.value["w"], float(expected.value["b"])
    for name, X in (("Y_prediction_train", X_train), ("Y_prediction_test", X_test)):
        want = (1 / (1 + np.exp(-(w.T @ X + b))) > 0.5).astype(np.float64)
        check.close(d[name], want, f"model(...)['{name}']")
    check.scalar(d["learning_rate"], lr, "model(...)['learning_rate']")
    check.scalar(d["num_iterations"], iterations, "model(...)['num_iterations']")


def test_inputs_unchanged(student, check, rng):
    w = rng.normal(size=(3, 1))
    X, Y = make_data(rng, 3, 8)
    result = student.call("optimize", w, 0.1, X, Y, 5, 0.1, False)
    check.no_mutation(result, "optimize(w, b, X, Y, ...)", names=["w", "b", "X", "Y"])
