"""Grader for ex01_sigmoid: the student's NumPy code against torch.sigmoid and autograd.

Points, tolerances and limits are in exercise.yaml. Run with
``grader check ex01`` or ``pytest exercises/ex01_sigmoid``.
"""

import numpy as np
import torch

EXTREMES = np.array([-1e4, -1000.0, -745.0, -50.0, -1.0, 0.0, 1.0, 50.0, 745.0, 1000.0, 1e4])


def sigmoid_mistakes(oracle, z):
    return {
        "you computed 1 / (1 + exp(z)), i.e. sigmoid(-z): the sign inside exp is flipped":
            oracle(lambda t: torch.sigmoid(-t), z),
        "this is tanh(z), not the logistic function 1 / (1 + exp(-z))": oracle(torch.tanh, z),
        "you returned exp(-z) / (1 + exp(-z)) = 1 - sigmoid(z)": oracle(lambda t: 1 - torch.sigmoid(t), z),
    }


def derivative(t):
    t = t.clone().requires_grad_(True)
    torch.sigmoid(t).sum().backward()
    return t.grad


def derivative_mistakes(oracle, z):
    return {
        "you returned sigmoid(z) itself, not its derivative sigmoid(z) * (1 - sigmoid(z))":
            oracle(torch.sigmoid, z),
        "you computed z * (1 - z): apply the sigmoid first, s = sigmoid(z), then s * (1 - s)":
            oracle(lambda t: t * (1 - t), z),
        "you computed s * (1 + s): the derivative is s * (1 - s)":
            oracle(lambda t: torch.sigmoid(t) * (1 + torch.sigmoid(t)), z),
        "you computed 1 - s**2: that is tanh's derivative pattern; the sigmoid's is s * (1 - s)":
            oracle(lambda t: 1 - torch.sigmoid(t) ** 2, z),
    }


def test_sigmoid_scalar(student, oracle, check):
    for z in (0.5, -2.0, 0.0):
        got = student.sigmoid(z)
        check.scalar(got, oracle(torch.sigmoid, np.array(z)), f"sigmoid({z})",
                     mistakes=sigmoid_mistakes(oracle, np.array(z)))


def test_sigmoid_arrays(student, oracle, check, rng):
    for shape in [(5,), (3, 4), (1, 7), (2, 3, 4), (1,)]:
        z = rng.normal(scale=4.0, size=shape)
        check.close(student.sigmoid(z), oracle(torch.sigmoid, z), "sigmoid(z)",
                    inputs={"z": z}, mistakes=sigmoid_mistakes(oracle, z))


def test_sigmoid_extremes(student, oracle, check):
    z = EXTREMES.copy()
    result = student.call("sigmoid", z)
    check.close(result.value, oracle(torch.sigmoid, z), "sigmoid(z) for z in [-1e4, 1e4]",
                inputs={"z": z}, mistakes=sigmoid_mistakes(oracle, z))
    check.no_warnings(result, "sigmoid(z) for |z| up to 1e4")
    top = check.as_scalar(student.sigmoid(1e4), "sigmoid(1e4)")
    if top != 1.0:
        check.fail(f"sigmoid(1e4) must be exactly 1.0, got {top!r}")
    bottom = check.as_scalar(student.sigmoid(-1e4), "sigmoid(-1e4)")
    if not 0.0 <= bottom <= 5e-324:
        check.fail(f"sigmoid(-1e4) must be 0.0 (or at most the smallest subnormal), got {bottom!r}")


def test_derivative_arrays(student, oracle, check, rng):
    for shape in [(6,), (4, 3), (2, 2, 5)]:
        z = rng.normal(scale=3.0, size=shape)
        check.close(student.sigmoid_derivative(z), oracle(derivative, z), "sigmoid_derivative(z)",
                    inputs={"z": z}, mistakes=derivative_mistakes(oracle, z))
    check.scalar(student.sigmoid_derivative(0.0), 0.25, "sigmoid_derivative(0.0)")


def test_derivative_extremes(student, oracle, check):
    z = EXTREMES.copy()
    result = student.call("sigmoid_derivative", z)
    check.close(result.value, oracle(derivative, z), "sigmoid_derivative(z) for z in [-1e4, 1e4]",
                inputs={"z": z}, mistakes=derivative_mistakes(oracle, z))
    check.no_warnings(result, "sigmoid_derivative(z) for |z| up to 1e4")


def test_inputs_unchanged(student, check, rng):
    for func in ("sigmoid", "sigmoid_derivative"):
        z = rng.normal(size=(3, 3))
        check.no_mutation(student.call(func, z), f"{func}(z)", names=["z"])
