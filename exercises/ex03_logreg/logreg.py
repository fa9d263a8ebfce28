"""Exercise 3: vectorized logistic regression.

Layout: features x examples, X of shape (n_x, m), Y of shape (1, m). This
module is self-contained: write (or copy) your own sigmoid and propagate here.
"Vectorized" means no Python loop over examples or features in optimize: it is
timed against a vectorized NumPy baseline. See README.md. Check your work with

    grader check ex03
"""

import numpy as np


def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False):
    """Full-batch gradient descent on the logistic-regression cost.

    Args:
        w: initial weights, shape (n_x, 1); b: initial bias, a scalar.
        X: data, shape (n_x, m); Y: labels of 0.0/1.0, shape (1, m).
        num_iterations: number of gradient steps.
        learning_rate: the step size.
        print_cost: print the cost every 100 iterations.

    Returns:
        (params, grads, costs):
        params: {"w": (n_x, 1) array, "b": float}, after the last update;
        grads: {"dw": (n_x, 1) array, "db": float}, computed at the parameters
            before the last update;
        costs: the cost before the update at iterations 0, 100, 200, ...
            (a list of floats or a 1-d array).
    """
    # TODO
    raise NotImplementedError("optimize")


def predict(w, b, X):
    """Predicted labels: 1.0 where sigmoid(w.T @ X + b) > 0.5, else 0.0.

    Args:
        w: (n_x, 1); b: scalar; X: (n_x, m).

    Returns:
        An array of shape (1, m) of 0.0 and 1.0.
    """
    # TODO
    raise NotImplementedError("predict")


def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5, print_cost=False):
    """Train from zeros with optimize, then predict on both sets.

    Returns:
        A dict with keys "costs", "Y_prediction_test" (1, m_test),
        "Y_prediction_train" (1, m_train), "w", "b", "learning_rate",
        "num_iterations".
    """
    # TODO
    raise NotImplementedError("model")
