"""A padding pair is read as (width, height): padding=(1, 2) pads the height by 2 and the width by 1."""
# expect-hint: padding pair is swapped
import numpy as np


def conv2d_forward(x, w, b, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    pw, ph = (padding, padding) if isinstance(padding, int) else padding
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    H_out = (H + 2 * ph - KH) // sh + 1
    W_out = (W + 2 * pw - KW) // sw + 1
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, w) + b
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
