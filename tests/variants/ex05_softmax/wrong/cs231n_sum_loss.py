"""CS231n's loss without the division by num_train (loss and gradient summed)."""
# mistake: the loss is the mean over the N examples
# mistake: gradient of the MEAN loss
import numpy as np


def softmax(z, axis=-1):
    s = z - np.max(z, axis=axis, keepdims=True)
    return np.exp(s) / np.sum(np.exp(s), axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    s = z - np.max(z, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def softmax_cross_entropy(logits, labels):
    num_train = logits.shape[0]
    scores = logits - np.max(logits, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = np.sum(-np.log(probs[range(num_train), labels]))
    dscores = probs
    dscores[range(num_train), labels] -= 1
    return loss, dscores
