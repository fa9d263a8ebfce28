"""fit records the loss after each update instead of before it."""
# expect-hint: record the loss before each update
import numpy as np


def predict(w, b, X):
    return w.T @ X + b


def mse_loss(w, b, X, Y):
    m = X.shape[1]
    r = predict(w, b, X) - Y
    loss = np.mean(r ** 2)
    dw = 2 * X @ r.T / m
    db = 2 * np.sum(r) / m
    return loss, {"dw": dw, "db": db}


def fit(X, Y, num_iterations=100, learning_rate=0.01):
    w, b, losses = np.zeros((X.shape[0], 1)), 0.0, []
    for _ in range(num_iterations):
        _, grads = mse_loss(w, b, X, Y)
        w = w - learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
        losses.append(mse_loss(w, b, X, Y)[0])
    return w, b, losses
