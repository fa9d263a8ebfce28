"""sigmoid_derivative computes z * (1 - z), forgetting to apply the sigmoid first."""
# expect-hint: apply the sigmoid first
import numpy as np


def sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(np.asarray(z) >= 0, 1 / (1 + e), e / (1 + e))[()]


def sigmoid_derivative(z):
    return z * (1 - z)
