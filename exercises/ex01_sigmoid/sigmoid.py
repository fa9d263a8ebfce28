"""Exercise 1: the sigmoid function and its derivative.

Write both functions with NumPy only (no loops needed). See README.md for the
math and for what "numerically stable" means here. Check your work with

    grader check ex01
"""

import numpy as np


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z)), elementwise.

    Args:
        z: a Python float or a NumPy array of any shape (float64).

    Returns:
        sigmoid(z), a float for a scalar input, else an array of z's shape.
        It must be exact at the extremes (sigmoid(1e4) == 1.0) and must not
        emit an overflow warning for |z| up to 1e4.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("sigmoid")


def sigmoid_derivative(z):
    """The derivative of the sigmoid at z: d sigmoid(z) / dz, elementwise.

    Args:
        z: a Python float or a NumPy array of any shape (float64).

    Returns:
        An array of z's shape (a float for a scalar input). Hint: express it
        with sigmoid(z) itself. No overflow warning for |z| up to 1e4.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("sigmoid_derivative")
