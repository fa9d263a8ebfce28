"""Exercise 7: max pooling and average pooling, forward and backward.

Layout: batch first, as in PyTorch: x has shape (N, C, H, W). The functions
compute what torch.nn.functional.max_pool2d and avg_pool2d compute with their
defaults: no padding, output sizes rounded down (floor mode), and
stride=None meaning stride = kernel_size. See README.md for the formulas and
the conventions. Check your work with

    grader check ex07
"""

import numpy as np


def max_pool2d_forward(x, kernel_size, stride=None):
    """The forward pass of max pooling, as torch.nn.functional.max_pool2d.

    out[n, c, i, j] = max over 0 <= a < KH, 0 <= k < KW of x[n, c, i*sh + a, j*sw + k]

    Args:
        x: input, shape (N, C, H, W).
        kernel_size: an int K (a K x K window) or a pair (KH, KW) of ints,
            height first.
        stride: an int, a pair (sh, sw) of ints, or None (the default), which
            means stride = kernel_size (non-overlapping windows).

    Returns:
        (out, cache):
        out: shape (N, C, H_out, W_out) with H_out = (H - KH) // sh + 1 and
            W_out = (W - KW) // sw + 1 (rounded down; no padding).
        cache: anything you need in max_pool2d_backward (a tuple, a dict, an
            object: the grader only hands it back to your max_pool2d_backward).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("max_pool2d_forward")


def max_pool2d_backward(dout, cache):
    """The backward pass of max pooling.

    Args:
        dout: the gradient of the loss with respect to out, shape
            (N, C, H_out, W_out).
        cache: what your max_pool2d_forward returned as its cache.

    Returns:
        dx: gradient with respect to x, shape (N, C, H, W). Each window sends
            its dout only to the position of its maximum; where windows
            overlap (stride < kernel) the contributions add up.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("max_pool2d_backward")


def avg_pool2d_forward(x, kernel_size, stride=None):
    """The forward pass of average pooling, as torch.nn.functional.avg_pool2d.

    out[n, c, i, j] = mean over 0 <= a < KH, 0 <= k < KW of x[n, c, i*sh + a, j*sw + k]

    Args:
        x: input, shape (N, C, H, W).
        kernel_size: an int K or a pair (KH, KW) of ints, height first.
        stride: an int, a pair (sh, sw) of ints, or None (the default), which
            means stride = kernel_size.

    Returns:
        (out, cache):
        out: shape (N, C, H_out, W_out), sizes as in max_pool2d_forward.
        cache: anything you need in avg_pool2d_backward.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("avg_pool2d_forward")


def avg_pool2d_backward(dout, cache):
    """The backward pass of average pooling.

    Args:
        dout: the gradient of the loss with respect to out, shape
            (N, C, H_out, W_out).
        cache: what your avg_pool2d_forward returned as its cache.

    Returns:
        dx: gradient with respect to x, shape (N, C, H, W). Each window shares
            its dout equally among its KH * KW inputs; where windows overlap
            the contributions add up.
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("avg_pool2d_backward")
