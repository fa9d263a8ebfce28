"""The output size with round() instead of floor division."""
# expect-hint: round()
import numpy as np


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def conv2d_forward(x, w, b, stride=1, padding=0):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    H_out = round((H + 2 * ph - KH) / sh) + 1
    W_out = round((W + 2 * pw - KW) / sw) + 1
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
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
