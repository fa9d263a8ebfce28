"""The padding is removed from dx with dx_pad[:, :, ph:-ph, pw:-pw].

Right for padding > 0, but with padding 0 the slice 0:-0 is empty (-0 is 0).
"""
# expect-hint: -0 is 0
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
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = np.sum(x_pad[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] * w[f]) + b[f]
    return out, (x, w, b, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    x, w, b, (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    dw[f] += x_pad[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] * dout[n, f, i, j]
                    dx_pad[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += w[f] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    return dx_pad[:, :, ph:-ph, pw:-pw], dw, db
