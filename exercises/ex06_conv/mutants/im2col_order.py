"""im2col with columns in (kh, kw, c) order against a kernel flattened in (c, kh, kw) order."""
# expect-hint: the im2col columns and the flattened kernel
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
    cols = np.zeros((N, H_out, W_out, KH * KW * C))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            cols[:, i, j] = window.transpose(0, 2, 3, 1).reshape(N, -1)      # (kh, kw, c) order
    out = (cols @ w.reshape(F, -1).T).transpose(0, 3, 1, 2) + b.reshape(1, F, 1, 1)  # w in (c, kh, kw) order
    return out, (x, w, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    x, w, (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros(F)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            g = dout[:, :, i, j]                                   # (N, F)
            dw += np.tensordot(g, window, axes=([0], [0]))
            dx_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += np.tensordot(g, w, axes=([1], [0]))
            db += g.sum(axis=0)
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw, db
