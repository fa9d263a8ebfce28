"""Exercise 4: a neural network with one hidden layer, forward and backward.

Layout: features x examples (the classic course layout), so X has shape
(n_x, m), Y has shape (n_y, m) and every column is one example. The hidden
layer uses tanh, the output layer the sigmoid:

    Z1 = W1 @ X + b1      A1 = tanh(Z1)
    Z2 = W2 @ A1 + b2     A2 = sigmoid(Z2)

See README.md for the formulas of the cost and its gradients, and for how to
check your gradients numerically. Check your work with

    grader check ex04
"""

import numpy as np


def forward_propagation(X, parameters):
    """The forward pass of the network.

    Args:
        X: input data, shape (n_x, m).
        parameters: a dict with
            "W1": shape (n_h, n_x), "b1": shape (n_h, 1),
            "W2": shape (n_y, n_h), "b2": shape (n_y, 1).

    Returns:
        (A2, cache):
        A2: the sigmoid output of the second layer, shape (n_y, m);
        cache: anything your backward_propagation needs (for example a dict
            with Z1, A1, Z2, A2). The grader never looks inside it: it only
            hands it back to your backward_propagation.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("forward_propagation")


def compute_cost(A2, Y):
    """The cross-entropy cost.

    cost = -(1/m) * sum over all entries of (Y * log(A2) + (1 - Y) * log(1 - A2))

    Args:
        A2: the network's output, shape (n_y, m), entries strictly between 0 and 1.
        Y: the labels, shape (n_y, m), of 0.0 and 1.0.

    Returns:
        cost: a float (a Python float, a NumPy scalar or a 0-d array; not a
            (1, 1) array). m is the number of examples, Y.shape[1]; for
            n_y > 1 the sum runs over the n_y outputs too, but it is still
            divided by m only.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("compute_cost")


def backward_propagation(parameters, cache, X, Y):
    """The gradients of compute_cost with respect to the four parameters.

    Args:
        parameters: the dict of W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1).
        cache: what your forward_propagation(X, parameters) returned as its cache.
        X: input data, shape (n_x, m).
        Y: the labels, shape (n_y, m), of 0.0 and 1.0.

    Returns:
        grads: a dict with
            "dW1": shape (n_h, n_x), "db1": shape (n_h, 1),
            "dW2": shape (n_y, n_h), "db2": shape (n_y, 1),
            each the gradient of compute_cost(A2, Y) with respect to that
            parameter (same shape as the parameter).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("backward_propagation")


def update_parameters(parameters, grads, learning_rate=1.2):
    """One step of gradient descent.

    Args:
        parameters: the dict of W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1).
        grads: the dict of dW1, db1, dW2, db2 (same shapes).
        learning_rate: a float.

    Returns:
        A NEW dict with keys W1, b1, W2, b2: W1 - learning_rate * dW1, and so on.
        Do not modify `parameters` (or `grads`) in place: `W1 = W1 - lr * dW1`,
        not `W1 -= lr * dW1`.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("update_parameters")
