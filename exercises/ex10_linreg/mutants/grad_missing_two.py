"""The gradient lacks the factor 2 of d/dpred (pred - Y) ** 2."""
# expect-hint: the factor 2 is missing
import numpy as np


def predict(w, b, X):
    return w.T @ X + b


def mse_loss(w, b, X, Y):
    m = X.shape[1]
    r = predict(w, b, X) - Y
    loss = np.mean(r ** 2)
    dw = X @ r.T / m
    db = np.sum(r) / m
    return loss, {"dw": dw, "db": db}


def fit(X, Y, num_iterations=100, learning_rate=0.01):
    w, b, losses = np.zeros((X.shape[0], 1)), 0.0, []
    for _ in range(num_iterations):
        loss, grads = mse_loss(w, b, X, Y)
        losses.append(loss)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
    return w, b, losses
