"""Exercise 8: batch normalisation, forward and backward.

Write both functions with NumPy only. They must do exactly what
torch.nn.functional.batch_norm does, for 2-D input (N, C) and for image input
(N, C, H, W), in training and in eval mode. README.md has the math and
PyTorch's conventions (which variance where, which way round momentum goes).
Check your work with

    grader check ex08

and check your backward pass numerically with grader.gradcheck.check_gradient
(README.md shows how).
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """Batch normalisation, one statistic per channel C.

    Args:
        x: input, shape (N, C) or (N, C, H, W). The statistics of channel c are
            taken over every value of that channel: over axis 0 for (N, C),
            over axes (0, 2, 3) for (N, C, H, W).
        gamma: scale, shape (C,).
        beta: shift, shape (C,).
        running_mean: running mean, shape (C,).
        running_var: running variance, shape (C,).
        training: True to normalise with the batch statistics and update the
            running ones; False (eval mode) to normalise with the running
            statistics and return them unchanged.
        momentum: weight of the new batch statistic in the running update:
            new = (1 - momentum) * old + momentum * batch   (PyTorch's convention).
        eps: added to the variance inside the square root.

    Returns:
        (out, new_running_mean, new_running_var, cache):
        out: shape of x, gamma * x_hat + beta with
            x_hat = (x - mean) / sqrt(var + eps), where in training mode `var`
            is the *biased* batch variance (divide by n);
        new_running_mean, new_running_var: shape (C,); in training mode the
            running variance is updated with the *unbiased* batch variance
            (divide by n - 1), n = N for (N, C) and N*H*W for (N, C, H, W);
            in eval mode, the values passed in (copies are fine);
        cache: anything you need in batchnorm_backward (only your own
            backward pass ever sees it).

    Do not modify any argument in place: return new arrays.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("batchnorm_forward")


def batchnorm_backward(dout, cache):
    """Gradients of the training-mode forward pass.

    Args:
        dout: upstream gradient dL/dout, the shape of x ((N, C) or (N, C, H, W)).
        cache: the cache your batchnorm_forward returned (training=True).

    Returns:
        (dx, dgamma, dbeta): dx of x's shape; dgamma and dbeta of shape (C,).
        Remember that the batch mean and variance depend on x.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("batchnorm_backward")
