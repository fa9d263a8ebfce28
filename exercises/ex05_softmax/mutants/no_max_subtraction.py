"""The textbook formulas without the max shift: exp overflows (inf / inf = NaN) for large logits."""
# expect-hint: subtract the maximum along the axis first
import numpy as np


def softmax(z, axis=-1):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    loss = -np.mean(logp[np.arange(n), labels])
    dlogits = np.exp(logp)
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits / n
