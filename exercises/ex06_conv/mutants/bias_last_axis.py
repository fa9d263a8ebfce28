"""The bias is added as out + b: b of shape (F,) broadcasts along the last axis (the width).

It raises a broadcasting error unless W_out == F, and then it silently adds
b[j] to column j instead of b[f] to filter f.
"""
# expect-hint: along the last axis
import numpy as np


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def conv2d_forward(x, w, b, stride=1, padding=0):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    H_out = (H + 2 * ph - KH) // sh + 1
    W_out = (W + 2 * pw - KW) // sw + 1
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, w)
    out = out + b
    return out, (x, w, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    x, w, (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], window)
            dx_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw, dout.sum(axis=(0, 2, 3))
