"""db returned as a (1, 1) array from np.sum(..., keepdims=True), not a float."""
# expect-hint: np.squeeze
import numpy as np


def predict(w, b, X):
    return w.T @ X + b


def mse_loss(w, b, X, Y):
    m = X.shape[1]
    r = predict(w, b, X) - Y
    loss = np.mean(r ** 2)
    dw = 2 * X @ r.T / m
    db = 2 * np.sum(r, axis=1, keepdims=True) / m
    return loss, {"dw": dw, "db": db}


def fit(X, Y, num_iterations=100, learning_rate=0.01):
    w, b, losses = np.zeros((X.shape[0], 1)), 0.0, []
    for _ in range(num_iterations):
        loss, grads = mse_loss(w, b, X, Y)
        losses.append(loss)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
    return w, b, losses
