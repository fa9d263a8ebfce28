"""Reference solution for ex02_propagate (hidden from students)."""

import numpy as np


def initialize_with_zeros(dim):
    return np.zeros((dim, 1)), 0.0


def propagate(w, b, X, Y):
    m = X.shape[1]
    Z = w.T @ X + b
    A = 1.0 / (1.0 + np.exp(-Z))
    # log(sigmoid(z)) = -logaddexp(0, -z): exact even where A rounds to 0 or 1.
    cost = float(np.mean(Y * np.logaddexp(0.0, -Z) + (1 - Y) * np.logaddexp(0.0, Z)))
    dZ = A - Y
    dw = X @ dZ.T / m
    db = float(np.sum(dZ) / m)
    return {"dw": dw, "db": db}, cost
