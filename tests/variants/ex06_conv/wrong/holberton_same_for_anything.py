"""Holberton's conv_forward whose padding is 'valid' or else computed as for 'same': an int or a
pair given as padding is treated as 'same'."""
# mistake: worked out as for padding='same'
import numpy as np


def conv_forward(A_prev, W, b, activation, padding="same", stride=(1, 1)):
    m, h_prev, w_prev, c_prev = A_prev.shape
    kh, kw, _, c_new = W.shape
    sh, sw = stride
    if padding == 'valid':
        ph, pw = 0, 0
    else:
        ph = ((h_prev - 1) * sh + kh - h_prev) // 2 + 1
        pw = ((w_prev - 1) * sw + kw - w_prev) // 2 + 1
    h_new = (h_prev + 2 * ph - kh) // sh + 1
    w_new = (w_prev + 2 * pw - kw) // sw + 1
    A_pad = np.pad(A_prev, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    Z = np.zeros((m, h_new, w_new, c_new))
    for i in range(h_new):
        for j in range(w_new):
            for k in range(c_new):
                Z[:, i, j, k] = np.sum(A_pad[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :] * W[:, :, :, k],
                                       axis=(1, 2, 3))
    return activation(Z + b)


def conv_backward(dZ, A_prev, W, b, padding="same", stride=(1, 1)):
    m, h_prev, w_prev, c_prev = A_prev.shape
    kh, kw, _, c_new = W.shape
    _, h_new, w_new, _ = dZ.shape
    sh, sw = stride
    ph, pw = (0, 0) if padding == 'valid' else padding
    A_pad = np.pad(A_prev, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    dA = np.zeros_like(A_pad)
    dW = np.zeros_like(W)
    db = np.sum(dZ, axis=(0, 1, 2), keepdims=True)
    for n in range(m):
        for i in range(h_new):
            for j in range(w_new):
                for k in range(c_new):
                    dA[n, i * sh:i * sh + kh, j * sw:j * sw + kw, :] += W[:, :, :, k] * dZ[n, i, j, k]
                    dW[:, :, :, k] += A_pad[n, i * sh:i * sh + kh, j * sw:j * sw + kw, :] * dZ[n, i, j, k]
    return dA[:, ph:ph + h_prev, pw:pw + w_prev, :], dW, db


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_forward(x, w, b, stride=1, padding=0):
    A_prev, W = x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0)
    Z = conv_forward(A_prev, W, b.reshape(1, 1, 1, -1), lambda z: z, padding, _pair(stride))
    return Z.transpose(0, 3, 1, 2), (A_prev, W, b, _pair(padding), _pair(stride))


def conv2d_backward(dout, cache):
    A_prev, W, b, padding, stride = cache
    dA, dW, db = conv_backward(dout.transpose(0, 2, 3, 1), A_prev, W, b, padding, stride)
    return dA.transpose(0, 3, 1, 2), dW.transpose(3, 2, 0, 1), db.reshape(-1)
