"""deeplearning.ai's softmax (x_exp / x_sum along axis 1, no max shift), log of it, and a
loss with an epsilon."""
# mistake: subtract the maximum along the axis first
# mistake: use the `axis` argument
# mistake: np.log(softmax(z)) is log(0)
# mistake: the cap is -log(1e-08)
import numpy as np


def softmax(x, axis=-1):
    x_exp = np.exp(x)
    x_sum = np.sum(x_exp, axis=1, keepdims=True) if x.ndim > 1 else np.sum(x_exp)
    return x_exp / x_sum


def log_softmax(z, axis=-1):
    return np.log(softmax(z, axis))


def softmax_cross_entropy(logits, labels):
    m = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    p = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(m), labels] + 1e-8))
    dlogits = p.copy()
    dlogits[np.arange(m), labels] -= 1
    return loss, dlogits / m
