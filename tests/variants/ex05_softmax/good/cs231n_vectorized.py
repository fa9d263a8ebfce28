"""CS231n's softmax_loss_vectorized (scores - max, log-sum-exp), adapted."""
import numpy as np


def softmax(z, axis=-1):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax_loss_vectorized(scores, y):
    num_train = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train
    dscores = np.exp(log_probs)
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    return loss, dscores


def softmax_cross_entropy(logits, labels):
    return softmax_loss_vectorized(logits, labels)
