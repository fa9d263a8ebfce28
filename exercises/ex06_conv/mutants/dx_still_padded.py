"""conv2d_backward returns the gradient of the padded input, border included."""
# expect-hint: still includes the padding
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
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, w) + b
    return out, {"x_pad": x_pad, "w": w, "stride": (sh, sw)}


def conv2d_backward(dout, cache):
    x_pad, w, (sh, sw) = cache["x_pad"], cache["w"], cache["stride"]
    F, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW]
            dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], window)
            dx_pad[:, :, i * sh:i * sh + KH, j * sw:j * sw + KW] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
    return dx_pad, dw, dout.sum(axis=(0, 2, 3))
