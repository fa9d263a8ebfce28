"""dlogits is softmax - one_hot, not divided by N (the loss is right)."""
# expect-hint: gradient of the MEAN loss
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
    loss = -np.mean(logp[np.arange(n), labels])
    dlogits = softmax(logits, axis=1)
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits
