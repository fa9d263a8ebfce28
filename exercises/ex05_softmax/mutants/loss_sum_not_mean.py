"""The loss is the sum over the examples, not the mean (dlogits is right)."""
# expect-hint: the loss is the mean over the N examples
import numpy as np


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    logp = log_softmax(logits, axis=1)
    loss = -np.sum(logp[np.arange(n), labels])
    dlogits = np.exp(logp)
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits / n
