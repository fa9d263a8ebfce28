"""Reference solution for ex07_pool (hidden from students).

Vectorized over the batch, the channels and the output positions; the only
Python loop runs over the KH * KW offsets inside a window. Overlapping
windows (stride < kernel) accumulate their gradients with +=.
"""

import numpy as np


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _geometry(x, kernel_size, stride):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    _, _, H, W = x.shape
    H_out = (H - kh) // sh + 1
    W_out = (W - kw) // sw + 1
    return kh, kw, sh, sw, H_out, W_out


def _window(a, c, sh, sw, H_out, W_out):
    """Index of the element at offset (a, c) of every window."""
    return (slice(None), slice(None),
            slice(a, a + sh * (H_out - 1) + 1, sh), slice(c, c + sw * (W_out - 1) + 1, sw))


def max_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw, H_out, W_out = _geometry(x, kernel_size, stride)
    out = np.full(x.shape[:2] + (H_out, W_out), -np.inf)
    for a in range(kh):
        for c in range(kw):
            out = np.maximum(out, x[_window(a, c, sh, sw, H_out, W_out)])
    return out, (x, (kh, kw), (sh, sw))


def max_pool2d_backward(dout, cache):
    x, (kh, kw), (sh, sw) = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    taken = np.zeros(dout.shape, dtype=bool)  # ties: the first maximum, row-major, as PyTorch
    out = np.full(dout.shape, -np.inf)
    for a in range(kh):
        for c in range(kw):
            out = np.maximum(out, x[_window(a, c, sh, sw, H_out, W_out)])
    for a in range(kh):
        for c in range(kw):
            idx = _window(a, c, sh, sw, H_out, W_out)
            hit = (x[idx] == out) & ~taken
            taken |= hit
            dx[idx] += np.where(hit, dout, 0.0)
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw, H_out, W_out = _geometry(x, kernel_size, stride)
    out = np.zeros(x.shape[:2] + (H_out, W_out))
    for a in range(kh):
        for c in range(kw):
            out += x[_window(a, c, sh, sw, H_out, W_out)]
    return out / (kh * kw), (x.shape, (kh, kw), (sh, sw))


def avg_pool2d_backward(dout, cache):
    shape, (kh, kw), (sh, sw) = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(shape)
    share = dout / (kh * kw)
    for a in range(kh):
        for c in range(kw):
            dx[_window(a, c, sh, sw, H_out, W_out)] += share
    return dx
