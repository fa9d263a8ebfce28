"""Correct values, but sigmoid writes its result into the input array to save memory."""
# expect-hint: modified its input
import numpy as np


def _stable(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid(z):
    if isinstance(z, np.ndarray):
        z[...] = _stable(z)
        return z
    return float(_stable(np.float64(z)))


def sigmoid_derivative(z):
    s = _stable(np.asarray(z, dtype=float))
    return (s * (1 - s))[()]
