"""Zero padding on one side only: x is copied to the top-left corner of the padded array.

x_pad has the right size, (H + 2*ph, W + 2*pw), but all the zeros end up below
and to the right of x (x_pad[:, :, :H, :W] = x instead of [ph:ph + H, pw:pw + W]).
"""
# expect-hint: padded on one side only
import numpy as np


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def conv2d_forward(x, w, b, stride=1, padding=0):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    x_pad[:, :, :H, :W] = x
    H_out = (H + 2 * ph - KH) // sh + 1
    W_out = (W + 2 * pw - KW) // sw + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = np.sum(x_pad[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] * w[f]) + b[f]
    return out, (x_pad, w, (sh, sw), (H, W))


def conv2d_backward(dout, cache):
    x_pad, w, (sh, sw), (H, W) = cache
    F, _, KH, KW = w.shape
    N, _, H_out, W_out = dout.shape
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    dw[f] += x_pad[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] * dout[n, f, i, j]
                    dx_pad[n, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += w[f] * dout[n, f, i, j]
    return dx_pad[:, :, :H, :W], dw, dout.sum(axis=(0, 2, 3))
