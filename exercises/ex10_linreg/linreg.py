"""Exercise 10: linear regression by gradient descent.

Layout: features x examples, as in ex02, so X has shape (n_x, m) and Y has
shape (1, m). The loss is the mean squared error, exactly as
torch.nn.functional.mse_loss computes it (no 1/2 in front: see README.md).
Check your work with

    grader check ex10
"""

import numpy as np


def predict(w, b, X):
    """The predictions of a linear model, one per example.

    Args:
        w: weights, shape (n_x, 1).
        b: bias, a scalar.
        X: data, shape (n_x, m), one column per example.

    Returns:
        An array of shape (1, m): w.T @ X + b.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("predict")


def mse_loss(w, b, X, Y):
    """The mean squared error of the predictions, and its gradient.

    Args:
        w: weights, shape (n_x, 1).
        b: bias, a scalar.
        X: data, shape (n_x, m).
        Y: targets, shape (1, m).

    Returns:
        (loss, grads):
        loss: a float, the mean over the m examples of (prediction - Y) ** 2;
        grads: {"dw": array of shape (n_x, 1), "db": float}, the gradient of loss.
    """
    # TODO: the predictions, the loss, then dw and db.
    raise NotImplementedError("mse_loss")


def fit(X, Y, num_iterations=100, learning_rate=0.01):
    """Full-batch gradient descent on the mean squared error, from zeros.

    Args:
        X: data, shape (n_x, m).
        Y: targets, shape (1, m).
        num_iterations: the number of updates.
        learning_rate: the step size.

    Returns:
        (w, b, losses): w of shape (n_x, 1) and b a float after the last
        update; losses, a list of num_iterations floats: the loss *before*
        each update.
    """
    # TODO: start from w = zeros((n_x, 1)) and b = 0.0, then repeat
    # num_iterations times: loss and gradient, record the loss, update.
    raise NotImplementedError("fit")
