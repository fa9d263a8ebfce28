"""The one-hot is indexed [labels, arange(N)] (classes x examples habit) on an (N, C) array."""
# expect-hint: built along the wrong axis
import numpy as np


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    one_hot = np.zeros_like(logits)
    one_hot[labels, np.arange(n)] = 1
    probs = softmax(logits, axis=1)
    loss = -np.sum(one_hot * log_softmax(logits, axis=1)) / n
    return loss, (probs - one_hot) / n
