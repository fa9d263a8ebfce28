"""mse_loss leaves the bias out of its predictions (predict itself is right)."""
# expect-hint: the bias b is missing from the predictions

import numpy as np


def predict(w, b, X):
    return w.T @ X + b


def mse_loss(w, b, X, Y):
    m = X.shape[1]
    residual = w.T @ X - Y
    loss = float(np.mean(residual ** 2))
    dw = (2.0 / m) * (X @ residual.T)
    db = float(2.0 * np.sum(residual) / m)
    return loss, {"dw": dw, "db": db}


def fit(X, Y, num_iterations=100, learning_rate=0.01):
    w = np.zeros((X.shape[0], 1))
    b = 0.0
    losses = []
    for _ in range(num_iterations):
        loss, grads = mse_loss(w, b, X, Y)
        losses.append(loss)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
    return w, b, losses
