"""sigmoid computed as 1 / (1 + exp(z)): the sign inside exp is flipped."""
# expect-hint: sign inside exp is flipped
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(z))


def sigmoid_derivative(z):
    s = sigmoid(z)
    return s * (1 - s)
