"""A true convolution (the textbook definition): the kernel is rotated by 180 degrees.

F.conv2d computes a cross-correlation; this flips w in the forward pass and is
consistent with that in the backward pass.
"""
# expect-hint: the kernel is flipped
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
    w_rot = w[:, :, ::-1, ::-1]
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, w_rot) + b
    return out, (x, w, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    x, w, (sh, sw), (ph, pw) = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dx_pad = np.zeros_like(x_pad)
    dw_rot = np.zeros_like(w)
    w_rot = w[:, :, ::-1, ::-1]
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            dw_rot += np.einsum("nf,nchw->fchw", dout[:, :, i, j], window)
            dx_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w_rot)
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw_rot[:, :, ::-1, ::-1], dout.sum(axis=(0, 2, 3))
