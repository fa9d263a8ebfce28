"""The sum along the axis without keepdims: a broadcasting error, or the wrong axis for square z."""
# mistake: keepdims=True
import numpy as np


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis)


def log_softmax(z, axis=-1):
    s = z - np.max(z, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def softmax_cross_entropy(logits, labels):
    N = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    d = np.exp(logp)
    d[np.arange(N), labels] -= 1
    return -logp[np.arange(N), labels].mean(), d / N
