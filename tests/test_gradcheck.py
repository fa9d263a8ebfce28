"""The students' numerical gradient checker."""

import numpy as np

from grader.gradcheck import check_gradient, numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = np.array([0.5, -1.0])
    g = numerical_gradient(lambda v: 0.5 * v @ A @ v, x.copy())
    assert np.allclose(g, A @ x, atol=1e-8)


def test_right_gradient_passes_and_wrong_one_fails(capsys):
    x = np.random.default_rng(0).normal(size=(3, 2))
    f = lambda v: float(np.sum(np.tanh(v) ** 2))  # noqa: E731
    right = 2 * np.tanh(x) * (1 - np.tanh(x) ** 2)
    assert check_gradient(f, x, right) < 1e-7
    assert "looks right" in capsys.readouterr().out
    assert check_gradient(f, x, right * 0.5) > 0.1
    assert "probably wrong" in capsys.readouterr().out


def test_tiny_gradients_are_still_checked():
    x = np.array([1.0, 2.0])
    f = lambda v: 1e-10 * float(np.sum(v ** 2))  # noqa: E731
    assert check_gradient(f, x, 2e-10 * x, verbose=False) < 1e-4
    assert check_gradient(f, x, -2e-10 * x, verbose=False) > 1e-4  # "probably wrong"


def test_relative_error_near_zero_is_bounded():
    assert relative_error(np.array([0.0]), np.array([1e-7]))[0] <= 1.0
