"""Exercise 6: a 2-D convolution layer, forward and backward.

Layout: batch first, as in PyTorch: images x have shape (N, C, H, W) and the
filters w have shape (F, C, KH, KW). The layer computes what
torch.nn.functional.conv2d computes: a cross-correlation (the kernel is NOT
flipped), with zero padding and a stride, and output sizes rounded down.
See README.md for the formulas and the conventions. Check your work with

    grader check ex06
"""

import numpy as np


def conv2d_forward(x, w, b, stride=1, padding=0):
    """The forward pass of a convolution layer, as torch.nn.functional.conv2d.

    out[n, f, i, j] = b[f] + sum over c, a, k of
                      x_pad[n, c, i * sh + a, j * sw + k] * w[f, c, a, k]

    Args:
        x: input images, shape (N, C, H, W).
        w: filters, shape (F, C, KH, KW).
        b: biases, shape (F,).
        stride: an int s (the same stride in both directions) or a pair
            (sh, sw) of ints: the step between windows, height first.
        padding: an int p or a pair (ph, pw) of ints: the number of zeros
            added on EACH side (top and bottom get ph rows each, left and right
            get pw columns each).

    Returns:
        (out, cache):
        out: shape (N, F, H_out, W_out) with
            H_out = (H + 2 * ph - KH) // sh + 1 and
            W_out = (W + 2 * pw - KW) // sw + 1 (rounded down).
        cache: anything you need in conv2d_backward (a tuple, a dict, an
            object: the grader only hands it back to your conv2d_backward).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("conv2d_forward")


def conv2d_backward(dout, cache):
    """The backward pass of a convolution layer.

    Args:
        dout: the gradient of the loss with respect to out, shape
            (N, F, H_out, W_out).
        cache: what your conv2d_forward returned as its cache.

    Returns:
        (dx, dw, db):
        dx: gradient with respect to x, shape (N, C, H, W) (without padding).
        dw: gradient with respect to w, shape (F, C, KH, KW).
        db: gradient with respect to b, shape (F,).
    """
    # TODO: replace the line below with your implementation.
    raise NotImplementedError("conv2d_backward")
