"""Grader for ex04_backprop: a one-hidden-layer network (tanh, then sigmoid) against torch.

Forward values come from torch.tanh and torch.sigmoid, the cost from
``F.binary_cross_entropy(A2, Y, reduction="sum") / m``, the gradients from
autograd on ``F.binary_cross_entropy_with_logits(Z2, Y, reduction="sum") / m``
(the same function of the parameters, exact at every input), all in float64.
The student's backward_propagation always runs on the cache of the student's
own forward_propagation. Points, tolerances and limits are in exercise.yaml.
"""

import dataclasses
import re

import numpy as np
import torch
import torch.nn.functional as F

from grader.compare import GradingFailure, fmt_shape
from grader.sandbox.client import StudentError

KEYS = ["W1", "b1", "W2", "b2"]
GRAD_KEYS = ["dW1", "db1", "dW2", "db2"]
GENERIC_FACTOR = re.compile(r"^(Hint: a missing or extra constant factor\?|  \(here every value is \S+ times the)")
DOT_HINT = ("np.dot(Y, np.log(A2).T) multiplies every output row by every other one, an (n_y, n_y) matrix; "
            "use the elementwise product Y * np.log(A2) and sum all its entries")
M_HINT = "did you forget the 1/m? Every gradient of the cost is divided by the number of examples m"

# (n_x, n_h, n_y, m): no two of n_x, n_h and m equal unless said, so that a
# transposed or unsummed result has a telling shape. Only the checks named after
# several outputs use n_y > 1: a template's `assert A2.shape == (1, X.shape[1])`
# (kept by many students) costs those and nothing else.
ONE_OUTPUT = [(3, 4, 1, 5), (5, 3, 1, 8)]
SQUARE = (4, 4, 1, 6)          # W1 square: a transposed dW1 has the right shape
MULTI_OUTPUT = [(4, 5, 3, 6), (2, 3, 2, 7)]
ONE_EXAMPLE = [(3, 4, 1, 1), (4, 2, 1, 1)]


# -- inputs ----------------------------------------------------------------------


def make_net(rng, n_x, n_h, n_y, m):
    """Random parameters, data and 0/1 labels; pre-activations of order 1 (no saturation)."""
    params = {
        "W1": rng.normal(scale=1.0 / np.sqrt(n_x), size=(n_h, n_x)),
        "b1": rng.normal(scale=0.3, size=(n_h, 1)),
        "W2": rng.normal(scale=1.5 / np.sqrt(n_h), size=(n_y, n_h)),
        "b2": rng.normal(scale=0.3, size=(n_y, 1)),
    }
    X = rng.normal(size=(n_x, m))
    Y = (rng.random(size=(n_y, m)) < 0.5).astype(np.float64)
    return params, X, Y


def shapes(params, X, Y=None):
    inputs = {"W1": params["W1"], "W2": params["W2"], "X": X}
    if Y is not None:
        inputs["Y"] = Y
    return inputs


# -- the oracle --------------------------------------------------------------------


def oracle_forward(p, X, hidden=torch.tanh, output=torch.sigmoid, bias1=True, bias2=True):
    Z1 = p["W1"] @ X + (p["b1"] if bias1 else 0)
    Z2 = p["W2"] @ hidden(Z1) + (p["b2"] if bias2 else 0)
    return output(Z2)


def oracle_cost(A2, Y):
    return F.binary_cross_entropy(A2, Y, reduction="sum") / Y.shape[1]


def oracle_grads(p, X, Y):
    p = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    Z2 = p["W2"] @ torch.tanh(p["W1"] @ X + p["b1"]) + p["b2"]
    cost = F.binary_cross_entropy_with_logits(Z2, Y, reduction="sum") / X.shape[1]
    cost.backward()
    return {"d" + k: v.grad for k, v in p.items()}


def manual_grads(p, X, Y, tanh_prime="1 - A1**2", dz2="A2 - Y"):
    """The backward pass by hand, with a known mistake swapped in (for hints)."""
    m = X.shape[1]
    Z1 = p["W1"] @ X + p["b1"]
    A1 = torch.tanh(Z1)
    A2 = torch.sigmoid(p["W2"] @ A1 + p["b2"])
    dZ2 = {"A2 - Y": A2 - Y, "(A2 - Y) * A2 * (1 - A2)": (A2 - Y) * A2 * (1 - A2)}[dz2]
    derivative = {
        "1 - A1**2": 1 - A1 ** 2,
        "1 - Z1**2": 1 - Z1 ** 2,
        "1 - A1": 1 - A1,
        "A1 * (1 - A1)": A1 * (1 - A1),
        "nothing": torch.ones_like(A1),
    }[tanh_prime]
    dZ1 = (p["W2"].T @ dZ2) * derivative
    return {"dW1": dZ1 @ X.T / m, "db1": dZ1.sum(1, keepdim=True) / m,
            "dW2": dZ2 @ A1.T / m, "db2": dZ2.sum(1, keepdim=True) / m}


def output_mistakes(oracle, params, X, Y, key):
    wrong = oracle(lambda p, x, y: manual_grads(p, x, y, dz2="(A2 - Y) * A2 * (1 - A2)")[key], params, X, Y)
    return {
        "you multiplied A2 - Y by the sigmoid's derivative A2 * (1 - A2) again: with the cross-entropy "
        "cost, dZ2 = A2 - Y already includes it": wrong,
    }


def hidden_mistakes(oracle, params, X, Y, key):
    hints = {
        "1 - Z1**2": "you computed tanh'(Z1) as 1 - Z1**2, from Z1: the derivative is "
                     "1 - tanh(Z1)**2 = 1 - A1**2, so use A1 (from your cache), not Z1",
        "1 - A1": "you computed tanh'(Z1) as 1 - A1: the derivative is 1 - A1**2 (A1 squared)",
        "A1 * (1 - A1)": "you used A1 * (1 - A1), the sigmoid's derivative; the hidden layer is tanh, "
                         "whose derivative is 1 - A1**2",
        "nothing": "dZ1 = W2.T @ dZ2 is missing the factor tanh'(Z1) = 1 - A1**2 (elementwise)",
    }
    out = {hint: oracle(lambda p, x, y, v=variant: manual_grads(p, x, y, tanh_prime=v)[key], params, X, Y)
           for variant, hint in hints.items()}
    out.update(output_mistakes(oracle, params, X, Y, key))
    return out


# -- helpers -----------------------------------------------------------------------


def scalar(check, actual, expected, what, **kwargs):
    """check.scalar, without the generic 'constant factor' guess: one number always has a ratio."""
    try:
        check.scalar(actual, expected, what, **kwargs)
    except GradingFailure as exc:
        lines = [line for line in str(exc).splitlines() if not GENERIC_FACTOR.match(line)]
        raise type(exc)("\n".join(lines)) from None


def expected_shape(key, params):
    return params[key[1:]].shape


def check_grad_shape(check, value, key, params, m):
    """Shape problems of a gradient, explained in terms of the backward pass."""
    shape = expected_shape(key, params)
    if not isinstance(value, (np.ndarray, np.generic, float, int)):
        return  # check.close explains
    got = np.shape(value)
    if got == tuple(shape):
        return
    what = f"grads['{key}']"
    layer = key[-1]
    dz = f"dZ{layer}"
    if key.startswith("db"):
        n = shape[0]
        if m > 1 and got in ((n, m), (1, m), (m,)):
            check.fail(f"{what}: expected shape {fmt_shape(shape)}, got {fmt_shape(got)}, one value per "
                       f"example\nHint: sum {dz} over the examples (axis=1, keepdims=True), "
                       f"then divide by m: np.sum({dz}, axis=1, keepdims=True) / m")
        if got in ((n,), (1, n)):
            check.fail(f"{what}: expected shape {fmt_shape(shape)}, got {fmt_shape(got)}\nHint: keep the "
                       f"column dimension: np.sum({dz}, axis=1, keepdims=True) / m")
        if got == () or np.size(value) == 1:
            check.fail(f"{what}: expected shape {fmt_shape(shape)} (a column, like b{layer}), got "
                       f"{fmt_shape(got)}\nHint: np.sum({dz}) without an axis adds up every unit too; "
                       f"use np.sum({dz}, axis=1, keepdims=True) / m")
    else:
        if len(got) == 2 and got == tuple(shape)[::-1]:
            prev = "X" if layer == "1" else "A1"
            check.fail(f"{what}: expected shape {fmt_shape(shape)} (like W{layer}), got {fmt_shape(got)}: "
                       f"it is transposed\nHint: dW{layer} = {dz} @ {prev}.T / m, not {prev} @ {dz}.T / m")


def check_grad(check, oracle, grads, key, params, X, Y, mistakes=None, label=""):
    value = grads[key]
    m = X.shape[1]
    check_grad_shape(check, value, key, params, m)
    expected = oracle(lambda p, x, y: oracle_grads(p, x, y)[key], params, X, Y)
    mistakes = dict(mistakes or {})
    shape = expected_shape(key, params)
    if key.startswith("dW") and shape[0] == shape[1]:
        prev = "X" if key == "dW1" else "A1"
        mistakes[f"grads['{key}'] is transposed: dW{key[-1]} = dZ{key[-1]} @ {prev}.T / m"] = \
            oracle(lambda p, x, y: oracle_grads(p, x, y)[key].T, params, X, Y)
    check.close(value, expected, f"grads['{key}']" + label, inputs=shapes(params, X, Y),
                mistakes=mistakes, factors={float(m): M_HINT} if m > 1 else None)


def forward_agrees(oracle, A2, params, X) -> bool:
    expected = oracle(oracle_forward, params, X).value
    try:
        A2 = np.asarray(A2, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return A2.shape == expected.shape and bool(np.allclose(A2, expected, rtol=1e-6, atol=1e-12))


def student_backward(student, check, params, X, Y):
    """Run the student's forward, then the student's backward on that forward's cache.

    Returns (grads, forward_ok): forward_ok says whether the forward's A2 was right.
    """
    try:
        fwd = student.call("forward_propagation", X, params)
    except StudentError as exc:
        raise StudentError("backward_propagation is graded on the cache of your forward_propagation, "
                           f"which failed: {exc.cause}", exc.details, kind=exc.kind) from None
    result = fwd.value
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        check.fail("backward_propagation cannot be graded: forward_propagation(X, parameters) must return "
                   "a tuple (A2, cache), and the grader hands that cache to your backward_propagation")
    grads = student.backward_propagation(params, fwd.ref(1), X, Y)
    grads = check.keys(grads, GRAD_KEYS, "backward_propagation(parameters, cache, X, Y)")
    return grads, result[0]


def graded_backward(student, oracle, check, params, X, Y, keys, mistakes_for, label=""):
    grads, A2 = student_backward(student, check, params, X, Y)
    for key in keys:
        try:
            check_grad(check, oracle, grads, key, params, X, Y, mistakes_for(key), label)
        except GradingFailure as exc:
            if not forward_agrees(oracle, A2, params, X):
                raise GradingFailure(
                    f"{exc}\nNote: your forward_propagation's A2 is wrong on these inputs too, and "
                    f"backward_propagation runs on its cache: fix forward_propagation first") from None
            raise


# -- forward ------------------------------------------------------------------------


def forward_mistakes(oracle, params, X):
    return {
        "the hidden layer uses the sigmoid: it should use tanh, A1 = np.tanh(Z1)":
            oracle(lambda p, x: oracle_forward(p, x, hidden=torch.sigmoid), params, X),
        "the hidden layer uses ReLU: it should use tanh, A1 = np.tanh(Z1)":
            oracle(lambda p, x: oracle_forward(p, x, hidden=torch.relu), params, X),
        "you returned Z2: apply the sigmoid to get A2 = sigmoid(Z2)":
            oracle(lambda p, x: oracle_forward(p, x, output=lambda z: z), params, X),
        "the output layer uses tanh: it should use the sigmoid, A2 = sigmoid(Z2)":
            oracle(lambda p, x: oracle_forward(p, x, output=torch.tanh), params, X),
        "b1 is missing: Z1 = W1 @ X + b1":
            oracle(lambda p, x: oracle_forward(p, x, bias1=False), params, X),
        "b2 is missing: Z2 = W2 @ A1 + b2":
            oracle(lambda p, x: oracle_forward(p, x, bias2=False), params, X),
    }


def check_forward(student, oracle, check, params, X, label):
    result = check.tuple(student.forward_propagation(X, params), 2,
                         "forward_propagation(X, parameters) (it returns (A2, cache))")
    check.close(result[0], oracle(oracle_forward, params, X), f"A2 from forward_propagation{label}",
                inputs=shapes(params, X),
                mistakes=forward_mistakes(oracle, params, X))


def test_forward_propagation(student, oracle, check, rng):
    for n_x, n_h, n_y, m in ONE_OUTPUT:
        params, X, _ = make_net(rng, n_x, n_h, n_y, m)
        check_forward(student, oracle, check, params, X, "")


def test_forward_multi_output_and_one_example(student, oracle, check, rng):
    for n_x, n_h, n_y, m in MULTI_OUTPUT[:1] + ONE_EXAMPLE:
        params, X, _ = make_net(rng, n_x, n_h, n_y, m)
        check_forward(student, oracle, check, params, X, f" with n_y = {n_y}, m = {m}")


# -- cost -----------------------------------------------------------------------------


def make_cost_case(rng, n_y, m):
    A2 = rng.uniform(0.05, 0.95, size=(n_y, m))
    Y = (rng.random(size=(n_y, m)) < 0.5).astype(np.float64)
    return A2, Y


def cost_mistakes(oracle, A2, Y):
    m = Y.shape[1]
    mistakes = {
        "the labels are swapped: the cost is -(1/m) sum(Y log(A2) + (1 - Y) log(1 - A2))":
            oracle(lambda a, y: oracle_cost(a, 1 - y), A2, Y),
        "only the Y * log(A2) term: add (1 - Y) * log(1 - A2), the term for the examples labelled 0":
            oracle(lambda a, y: -(y * torch.log(a)).sum() / m, A2, Y),
    }
    if Y.shape[0] > 1:
        mistakes[DOT_HINT + " (summing that matrix adds the cross terms too)"] = oracle(
            lambda a, y: -((y @ torch.log(a).T) + ((1 - y) @ torch.log(1 - a).T)).sum() / m, A2, Y)
        mistakes[DOT_HINT + " (its [0, 0] entry is the cost of the first output only)"] = oracle(
            lambda a, y: oracle_cost(a[:1], y[:1]), A2, Y)
    return mistakes


def check_cost_value(check, oracle, cost, A2, Y, label):
    n_y, m = Y.shape
    if isinstance(cost, np.ndarray) and cost.shape == (n_y, n_y) and n_y > 1:
        check.fail(f"compute_cost{label}: expected a scalar, got an array of shape {fmt_shape(cost.shape)}\n"
                   f"Hint: {DOT_HINT}")
    factors = {}
    if m > 1:
        factors[float(m)] = "the cost is divided by m, the number of examples"
    if n_y > 1:
        factors[1.0 / n_y] = (f"you averaged over all n_y * m entries; sum over the {n_y} outputs "
                              "and divide by m only (np.sum(...) / m, not np.mean)")
    scalar(check, cost, oracle(oracle_cost, A2, Y), f"compute_cost(A2, Y){label}",
                 inputs={"A2": A2, "Y": Y}, mistakes=cost_mistakes(oracle, A2, Y), factors=factors)


def test_compute_cost(student, oracle, check, rng):
    for m in (6, 11, 1):
        A2, Y = make_cost_case(rng, 1, m)
        check_cost_value(check, oracle, student.compute_cost(A2, Y), A2, Y, f" with m = {m}")


def test_compute_cost_multi_output(student, oracle, check, rng):
    for n_y, m in ((3, 5), (2, 8)):
        A2, Y = make_cost_case(rng, n_y, m)
        try:
            cost = student.compute_cost(A2, Y)
        except StudentError as exc:
            # float(np.squeeze(np.dot(Y, np.log(A2).T) ...)) fails on the (n_y, n_y) matrix.
            if re.search(r"(size-1|length-1|0-dimensional|0-d) arrays? can be converted|an array of size 1",
                         str(exc)):
                raise StudentError(f"{exc.cause}\nHint: with n_y = {n_y} outputs, {DOT_HINT}",
                                   exc.details, kind=exc.kind) from None
            raise
        check_cost_value(check, oracle, cost, A2, Y, f" with n_y = {n_y}, m = {m}")


# -- backward -----------------------------------------------------------------------


def test_backward_output_layer(student, oracle, check, rng):
    for dims in ONE_OUTPUT:
        params, X, Y = make_net(rng, *dims)
        graded_backward(student, oracle, check, params, X, Y, ["dW2", "db2"],
                        lambda key: output_mistakes(oracle, params, X, Y, key))


def test_backward_hidden_layer(student, oracle, check, rng):
    for dims in ONE_OUTPUT + [SQUARE]:
        params, X, Y = make_net(rng, *dims)
        graded_backward(student, oracle, check, params, X, Y, ["dW1", "db1"],
                        lambda key: hidden_mistakes(oracle, params, X, Y, key))


def test_backward_multi_output(student, oracle, check, rng):
    for dims in MULTI_OUTPUT:
        params, X, Y = make_net(rng, *dims)
        graded_backward(student, oracle, check, params, X, Y, GRAD_KEYS,
                        lambda key: hidden_mistakes(oracle, params, X, Y, key),
                        label=f" with n_y = {dims[2]} outputs")


def test_backward_one_example(student, oracle, check, rng):
    for dims in ONE_EXAMPLE:
        params, X, Y = make_net(rng, *dims)
        graded_backward(student, oracle, check, params, X, Y, GRAD_KEYS,
                        lambda key: hidden_mistakes(oracle, params, X, Y, key),
                        label=" with one example (m = 1)")


# -- update -------------------------------------------------------------------------


def make_grads(rng, params):
    return {"d" + k: rng.normal(scale=0.5, size=v.shape) for k, v in params.items()}


def test_update_parameters(student, oracle, check, rng):
    for dims, lr in (((3, 4, 1, 5), 1.2), ((4, 5, 1, 6), 0.05)):
        params, _, _ = make_net(rng, *dims)
        grads = make_grads(rng, params)
        new = check.keys(student.update_parameters(params, grads, lr), KEYS,
                         f"update_parameters(parameters, grads, {lr})")
        for key in KEYS:
            expected = oracle(lambda p, g: p[key] - lr * g["d" + key], params, grads)
            mistakes = {
                "you added the gradient: gradient descent goes against it, W = W - learning_rate * dW":
                    oracle(lambda p, g: p[key] + lr * g["d" + key], params, grads),
                f"you returned the old parameter {key}, not updated":
                    oracle(lambda p, g: p[key], params, grads),
            }
            if lr != 1.2:
                mistakes["you used learning_rate = 1.2 (the default); use the learning_rate argument"] = \
                    oracle(lambda p, g: p[key] - 1.2 * g["d" + key], params, grads)
            check.close(new[key], expected, f"new parameters['{key}'] (learning_rate = {lr})",
                        inputs={key: params[key]}, mistakes=mistakes)


def test_update_parameters_not_in_place(student, check, rng):
    params, _, _ = make_net(rng, 3, 4, 1, 5)
    grads = make_grads(rng, params)
    check.no_mutation(student.call("update_parameters", params, grads, 0.5),
                      "update_parameters(parameters, grads, learning_rate)",
                      names=["parameters", "grads", "learning_rate"])


def test_inputs_unchanged(student, check, rng):
    params, X, Y = make_net(rng, 3, 4, 1, 5)
    fwd = student.call("forward_propagation", X, params)
    check.no_mutation(fwd, "forward_propagation(X, parameters)", names=["X", "parameters"])
    A2, Y2 = make_cost_case(rng, 1, 5)
    check.no_mutation(student.call("compute_cost", A2, Y2), "compute_cost(A2, Y)", names=["A2", "Y"])
    if isinstance(fwd.value, (tuple, list)) and len(fwd.value) == 2:
        back = student.call("backward_propagation", params, fwd.ref(1), X, Y)
        # The cache is the student's own: changing it is allowed.
        back = dataclasses.replace(back, mutated=[w for w in back.mutated if w[0] != 1])
        check.no_mutation(back, "backward_propagation(parameters, cache, X, Y)",
                          names=["parameters", "cache", "X", "Y"])
