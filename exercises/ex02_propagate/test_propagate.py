"""Grader for ex02_propagate: cost and gradients against torch autograd.

The oracle is ``F.binary_cross_entropy_with_logits`` (exact, unlike
``binary_cross_entropy`` which clamps each log at -100) and autograd.
"""

import numpy as np
import torch
import torch.nn.functional as F


def oracle_propagate(w, b, X, Y):
    w = w.clone().requires_grad_(True)
    b = b.clone().requires_grad_(True)
    cost = F.binary_cross_entropy_with_logits(w.T @ X + b, Y)
    cost.backward()
    return {"cost": cost, "dw": w.grad, "db": b.grad}


def make_case(rng, n_x, m):
    w = rng.normal(scale=0.5, size=(n_x, 1))
    b = float(rng.normal(scale=0.5))
    X = rng.normal(size=(n_x, m))
    Y = (rng.random(size=(1, m)) < 0.5).astype(np.float64)
    return w, b, X, Y


def run(student, oracle, check, w, b, X, Y):
    """Call the student's propagate; return (grads, cost, expected) after checking the structure."""
    result = check.tuple(student.propagate(w, b, X, Y), 2, "propagate(w, b, X, Y)")
    grads = check.keys(result[0], ["dw", "db"], "grads (the first value returned by propagate)")
    expected = oracle(oracle_propagate, w, np.array(b), X, Y)
    return grads, result[1], expected


def cost_mistakes(oracle, w, b, X, Y):
    return {
        "the labels are swapped: the cost is -(Y log(1 - A) + (1 - Y) log(A))":
            oracle(lambda *a: oracle_propagate(*a)["cost"], w, np.array(b), X, 1 - Y),
    }


def test_initialize_with_zeros(student, check):
    for dim in (2, 1, 7):
        w, b = check.tuple(student.initialize_with_zeros(dim), 2, f"initialize_with_zeros({dim})")
        check.close(w, np.zeros((dim, 1)), f"w from initialize_with_zeros({dim})")
        check.scalar(b, 0.0, f"b from initialize_with_zeros({dim})")


def test_cost(student, oracle, check, rng):
    for n_x, m in [(4, 7), (3, 12)]:
        w, b, X, Y = make_case(rng, n_x, m)
        grads, cost, expected = run(student, oracle, check, w, b, X, Y)
        check.scalar(cost, expected["cost"], "cost", inputs={"w": w, "X": X, "Y": Y},
                     mistakes=cost_mistakes(oracle, w, b, X, Y),
                     factors={m: "the cost is the mean over the m examples: divide the sum by m"})


def test_dw(student, oracle, check, rng):
    for n_x, m in [(4, 7), (5, 9)]:
        w, b, X, Y = make_case(rng, n_x, m)
        grads, cost, expected = run(student, oracle, check, w, b, X, Y)
        check.close(grads["dw"], expected["dw"], "grads['dw']", inputs={"w": w, "X": X, "Y": Y},
                    factors={m: "did you forget to divide by m?"})


def test_db(student, oracle, check, rng):
    for n_x, m in [(4, 7), (2, 10)]:
        w, b, X, Y = make_case(rng, n_x, m)
        grads, cost, expected = run(student, oracle, check, w, b, X, Y)
        check.scalar(grads["db"], expected["db"], "grads['db']", inputs={"X": X, "Y": Y},
                     factors={m: "did you forget to divide by m?"})


def test_edge_cases(student, oracle, check, rng):
    for n_x, m, label in [(3, 1, "one example (m = 1)"), (1, 6, "one feature (n_x = 1)"), (1, 1, "m = n_x = 1")]:
        w, b, X, Y = make_case(rng, n_x, m)
        grads, cost, expected = run(student, oracle, check, w, b, X, Y)
        check.scalar(cost, expected["cost"], f"cost with {label}")
        check.close(grads["dw"], expected["dw"], f"grads['dw'] with {label}")
        check.scalar(grads["db"], expected["db"], f"grads['db'] with {label}")


def test_inputs_unchanged(student, check, rng):
    w, b, X, Y = make_case(rng, 3, 5)
    result = student.call("propagate", w, b, X, Y)
    check.no_mutation(result, "propagate(w, b, X, Y)", names=["w", "b", "X", "Y"])
