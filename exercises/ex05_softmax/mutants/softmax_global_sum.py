"""softmax divides by np.sum(e) without an axis: it normalises over the whole array."""
# expect-hint: the sum has no axis, so the whole array is normalised

import numpy as np


def log_softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    # Shifting by the maximum changes nothing mathematically, and then np.exp
    # sees only numbers <= 0 (no overflow) and the sum is >= 1 (no log(0)).
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e)


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    rows = np.arange(n)
    labels = np.asarray(labels).astype(np.intp)
    logp = log_softmax(logits, axis=1)
    loss = -np.mean(logp[rows, labels])
    dlogits = np.exp(logp)
    dlogits[rows, labels] -= 1.0
    return float(loss), dlogits / n
