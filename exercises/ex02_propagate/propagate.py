"""Exercise 2: logistic regression, one forward and one backward pass.

Layout: features x examples, so X has shape (n_x, m) and Y has shape (1, m).
See README.md for the formulas. Check your work with

    grader check ex02
"""

import numpy as np


def initialize_with_zeros(dim):
    """Parameters of a logistic regression with ``dim`` features, all zero.

    Args:
        dim: the number of features n_x (an int).

    Returns:
        (w, b): w, a float array of zeros of shape (dim, 1); b, the float 0.0.
    """
    # TODO
    raise NotImplementedError("initialize_with_zeros")


def propagate(w, b, X, Y):
    """The cost of logistic regression and its gradient.

    Args:
        w: weights, shape (n_x, 1).
        b: bias, a scalar.
        X: data, shape (n_x, m).
        Y: labels, shape (1, m), of 0.0 and 1.0.

    Returns:
        (grads, cost):
        grads: {"dw": array of shape (n_x, 1), "db": float}, the gradient of cost;
        cost: a float, the mean binary cross-entropy of A = sigmoid(w.T @ X + b).
    """
    # TODO: forward pass (A and cost), then backward pass (dw and db).
    raise NotImplementedError("propagate")
