"""Exercise 12 (the capstone): LeNet on real handwritten digits, built from your own layers.

The network, with PyTorch's conventions (batch first, a linear layer computes
x @ w.T + b):

    conv1 3x3, padding 1, 1 -> 6 channels -> ReLU -> max-pool 2
    conv2 3x3, padding 1, 6 -> 16 channels -> ReLU -> max-pool 2
    flatten (x.reshape(N, -1): 16 * 2 * 2 = 64 features)
    fc1 64 -> 120 -> ReLU -> fc2 120 -> 84 -> ReLU -> fc3 84 -> 10
    softmax cross-entropy (the mean over the batch)

Compose your own layers: put this file beside your softmax.py (ex05), conv.py
(ex06), pool.py (ex07) and optim.py (ex09) and import them, e.g.

    from conv import conv2d_forward, conv2d_backward
    from pool import max_pool2d_forward, max_pool2d_backward
    from softmax import softmax_cross_entropy
    from optim import adam

The data (digits.npz, beside this file) and how to load them: README.md.
Check your work with

    grader check ex12
"""

import numpy as np


def lenet_forward(X, params):
    """The forward pass.

    Args:
        X: images, shape (N, 1, 8, 8), float64 in [0, 1].
        params: a dict: conv1_w (6, 1, 3, 3), conv1_b (6,), conv2_w (16, 6, 3, 3),
            conv2_b (16,), fc1_w (120, 64), fc1_b (120,), fc2_w (84, 120),
            fc2_b (84,), fc3_w (10, 84), fc3_b (10,).

    Returns:
        (logits, cache): logits of shape (N, 10); cache: anything you need.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("lenet_forward")


def lenet_loss(X, y, params):
    """The mean cross-entropy of the network on (X, y), and its gradients.

    Args:
        X: images, shape (N, 1, 8, 8).
        y: labels, shape (N,), integers 0-9.
        params: as in lenet_forward.

    Returns:
        (loss, grads): loss a scalar; grads a dict with the keys of params,
        each gradient of its parameter's shape.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("lenet_loss")


def train(X, y, params, epochs=2, batch_size=32, lr=1e-3, seed=0):
    """Mini-batch training with your own adam (ex09, default betas and eps).

    One optimizer state per parameter. Epoch e (from 0) visits the examples in
    the order np.random.default_rng(seed + e).permutation(N), in consecutive
    batches of batch_size (the last one may be smaller).

    Returns:
        (new_params, losses): new_params a new dict (params itself must not be
        modified); losses the loss of every batch before its update, in order.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("train")


def predict(X, params):
    """The predicted class of every image: shape (N,), integers 0-9."""
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("predict")
