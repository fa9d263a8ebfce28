"""Reference solution for ex06_conv (hidden from students).

Vectorized over the batch, the filters and the output positions; the only
Python loop runs over the KH * KW kernel offsets. For the offset (a, b) the
inputs seen by every output position form the strided slice
x_pad[:, :, a : a + sh*(H_out-1) + 1 : sh, b : b + sw*(W_out-1) + 1 : sw].
"""

import numpy as np


def _pair(v):
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def conv2d_forward(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    H_out = (H + 2 * ph - KH) // sh + 1
    W_out = (W + 2 * pw - KW) // sw + 1
    out = np.zeros((N, F, H_out, W_out))
    for a in range(KH):
        for c in range(KW):
            patch = x_pad[:, :, a:a + sh * (H_out - 1) + 1:sh, c:c + sw * (W_out - 1) + 1:sw]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, a, c])
    out += b.reshape(1, F, 1, 1)
    cache = (x, w, (sh, sw), (ph, pw))
    return out, cache


def conv2d_backward(dout, cache):
    x, w, (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for a in range(KH):
        for c in range(KW):
            rows = slice(a, a + sh * (H_out - 1) + 1, sh)
            cols = slice(c, c + sw * (W_out - 1) + 1, sw)
            dw[:, :, a, c] = np.einsum("nfhw,nchw->fc", dout, x_pad[:, :, rows, cols])
            dx_pad[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, a, c])
    dx = dx_pad[:, :, ph:ph + H, pw:pw + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
