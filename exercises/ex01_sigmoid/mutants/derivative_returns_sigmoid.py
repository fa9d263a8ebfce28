"""sigmoid_derivative returns sigmoid(z) itself."""
# expect-hint: you returned sigmoid(z) itself
import numpy as np


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(np.asarray(z) >= 0, 1 / (1 + e), e / (1 + e))[()]


def sigmoid_derivative(z):
    return sigmoid(z)
