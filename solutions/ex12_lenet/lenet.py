"""Reference solution for ex12_lenet (hidden from students).

Composed of the student's own layers, as the exercise asks: softmax.py (ex05),
conv.py (ex06), pool.py (ex07) and optim.py (ex09), which the grader copies
beside this file.
"""

import numpy as np

from conv import conv2d_backward, conv2d_forward
from optim import adam
from pool import max_pool2d_backward, max_pool2d_forward
from softmax import softmax_cross_entropy

KEYS = ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc1_w", "fc1_b", "fc2_w", "fc2_b", "fc3_w", "fc3_b")


def lenet_forward(X, params):
    p = params
    c1, conv1 = conv2d_forward(X, p["conv1_w"], p["conv1_b"], 1, 1)
    r1 = np.maximum(c1, 0)
    m1, pool1 = max_pool2d_forward(r1, 2)
    c2, conv2 = conv2d_forward(m1, p["conv2_w"], p["conv2_b"], 1, 1)
    r2 = np.maximum(c2, 0)
    m2, pool2 = max_pool2d_forward(r2, 2)
    f = m2.reshape(m2.shape[0], -1)
    h1 = np.maximum(f @ p["fc1_w"].T + p["fc1_b"], 0)
    h2 = np.maximum(h1 @ p["fc2_w"].T + p["fc2_b"], 0)
    logits = h2 @ p["fc3_w"].T + p["fc3_b"]
    cache = (conv1, c1, pool1, conv2, c2, pool2, m2.shape, f, h1, h2, p)
    return logits, cache


def _linear_backward(d, inp, w):
    return d @ w, d.T @ inp, d.sum(axis=0)


def lenet_loss(X, y, params):
    logits, cache = lenet_forward(X, params)
    loss, dlogits = softmax_cross_entropy(logits, y)
    conv1, c1, pool1, conv2, c2, pool2, m2_shape, f, h1, h2, p = cache
    g = {}
    dh2, g["fc3_w"], g["fc3_b"] = _linear_backward(dlogits, h2, p["fc3_w"])
    dh1, g["fc2_w"], g["fc2_b"] = _linear_backward(dh2 * (h2 > 0), h1, p["fc2_w"])
    df, g["fc1_w"], g["fc1_b"] = _linear_backward(dh1 * (h1 > 0), f, p["fc1_w"])
    dr2 = max_pool2d_backward(df.reshape(m2_shape), pool2)
    dm1, g["conv2_w"], g["conv2_b"] = conv2d_backward(dr2 * (c2 > 0), conv2)
    dr1 = max_pool2d_backward(dm1, pool1)
    _, g["conv1_w"], g["conv1_b"] = conv2d_backward(dr1 * (c1 > 0), conv1)
    return float(loss), g


def train(X, y, params, epochs=2, batch_size=32, lr=1e-3, seed=0):
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    states = {k: {} for k in params}
    losses = []
    N = X.shape[0]
    for e in range(epochs):
        order = np.random.default_rng(seed + e).permutation(N)
        for start in range(0, N, batch_size):
            idx = order[start:start + batch_size]
            loss, grads = lenet_loss(X[idx], y[idx], params)
            losses.append(loss)
            for k in params:
                params[k], states[k] = adam(params[k], grads[k], states[k], lr=lr)
    return params, losses


def predict(X, params):
    logits, _ = lenet_forward(X, params)
    return logits.argmax(axis=1)
