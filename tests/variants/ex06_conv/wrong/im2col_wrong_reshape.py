"""im2col whose output is reshaped straight to (N, F, H_out, W_out), though its columns run over
(position, example): the values land in the wrong places."""
# mistake: the right values in the wrong places
import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _indices(C, H, W, KH, KW, sh, sw, ph, pw):
    Ho = (H + 2 * ph - KH) // sh + 1
    Wo = (W + 2 * pw - KW) // sw + 1
    i0 = np.tile(np.repeat(np.arange(KH), KW), C)
    i1 = sh * np.repeat(np.arange(Ho), Wo)
    j0 = np.tile(np.arange(KW), KH * C)
    j1 = sw * np.tile(np.arange(Wo), Ho)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), KH * KW).reshape(-1, 1)
    return k, i, j, Ho, Wo


def conv2d_forward(x, w, b, stride=1, padding=0):
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    k, i, j, Ho, Wo = _indices(C, H, W, KH, KW, sh, sw, ph, pw)
    cols = x_pad[:, k, i, j]                      # (N, C*KH*KW, Ho*Wo)
    cols = cols.transpose(1, 2, 0).reshape(C * KH * KW, -1)
    out = w.reshape(F, -1) @ cols + b.reshape(-1, 1)
    out = out.reshape(N, F, Ho, Wo)  # the columns are (position, example) ordered: this scrambles them
    return out, (x.shape, w, cols, (sh, sw), (ph, pw))


def conv2d_backward(dout, cache):
    x_shape, w, cols, (sh, sw), (ph, pw) = cache
    N, C, H, W = x_shape
    F, _, KH, KW = w.shape
    db = dout.sum(axis=(0, 2, 3))
    d = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    dw = (d @ cols.T).reshape(w.shape)
    dcols = w.reshape(F, -1).T @ d
    k, i, j, Ho, Wo = _indices(C, H, W, KH, KW, sh, sw, ph, pw)
    dx_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    dcols = dcols.reshape(C * KH * KW, -1, N).transpose(2, 0, 1)
    np.add.at(dx_pad, (slice(None), k, i, j), dcols)
    return dx_pad[:, :, ph:ph + H, pw:pw + W], dw, db
