"""Subtracts the maximum of the whole array, not of each row: rows far below it underflow to 0 / 0."""
# expect-hint: the maximum of the whole array is not enough
import numpy as np


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    shifted = z - np.max(z)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    loss = -np.mean(logp[np.arange(n), labels])
    dlogits = np.exp(logp)
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits / n
