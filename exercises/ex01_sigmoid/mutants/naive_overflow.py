"""The textbook formula: right values, but np.exp overflows (with a warning) for z << 0."""
# expect-hint: np.exp never sees a large positive number
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1 - s)
