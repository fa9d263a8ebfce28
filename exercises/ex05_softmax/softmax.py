"""Exercise 5: softmax, log-softmax and the softmax cross-entropy loss.

Layout: batch first, as in PyTorch: logits have shape (N, C), one row per
example and one column per class. softmax and log_softmax take an `axis`
argument and work on arrays of any shape. All three must be numerically
stable: logits as large as 1e4 in magnitude must give finite, exact results
without any NumPy warning. See README.md for the formulas. Check your work with

    grader check ex05
"""

import numpy as np


def softmax(z, axis=-1):
    """exp(z) / sum(exp(z)) along `axis`.

    Args:
        z: a float array of any shape (logits), entries up to 1e4 in magnitude.
        axis: the axis along which the result sums to 1 (an int; -1 is the last).

    Returns:
        An array of z's shape, positive, summing to 1 along `axis`.
        No overflow, no NaN and no warning for |z| up to 1e4.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("softmax")


def log_softmax(z, axis=-1):
    """log(softmax(z)) along `axis`, computed without ever taking log(0).

    Args:
        z: a float array of any shape (logits), entries up to 1e4 in magnitude.
        axis: the axis to normalise along (an int; -1 is the last).

    Returns:
        An array of z's shape, finite where z is finite (even where
        softmax(z) underflows to 0). No warning for |z| up to 1e4.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("log_softmax")


def softmax_cross_entropy(logits, labels):
    """The mean cross-entropy loss of a softmax classifier, and its gradient.

    loss = -(1/N) * sum over n of log(softmax(logits[n])[labels[n]]),
    as torch.nn.functional.cross_entropy(logits, labels) computes it.

    Args:
        logits: float array of shape (N, C), entries up to 1e4 in magnitude.
        labels: integer array of shape (N,) (int64 or int32), the correct
            class of each example, each in 0 .. C-1.

    Returns:
        (loss, dlogits):
        loss: a float (a Python float, a NumPy scalar or a 0-d array);
        dlogits: array of shape (N, C), the gradient of loss with respect
            to logits.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("softmax_cross_entropy")
