"""deeplearning.ai Course 4's conv_forward (channels last, hparameters dict, (f, f, ...) = W.shape
assumes a square filter), with a thin wrapper that handles pairs."""
# mistake: a square kernel was assumed
# mistake: NumPy 2 converts only 0-d arrays
import numpy as np


def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1]), (0, 0)), mode='constant', constant_values=(0, 0))


def conv_single_step(a_slice_prev, W, b):
    return np.sum(a_slice_prev * W) + float(b)


def conv_forward(A_prev, W, b, hparameters):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters['stride']
    pad = hparameters['pad']
    n_H = int((n_H_prev - f + 2 * pad[0]) / stride[0]) + 1
    n_W = int((n_W_prev - f + 2 * pad[1]) / stride[1]) + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride[0], w * stride[1]
                    a_slice_prev = a_prev_pad[vs:vs + f, hs:hs + f, :]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride, pad = hparameters['stride'], hparameters['pad']
    (m, n_H, n_W, n_C) = dZ.shape
    dA_prev = np.zeros(A_prev.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride[0], w * stride[1]
                    a_slice = A_prev_pad[i, vs:vs + f, hs:hs + f, :]
                    dA_prev_pad[i, vs:vs + f, hs:hs + f, :] += W[:, :, :, c] * dZ[i, h, w, c]
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
    dA_prev = dA_prev_pad[:, pad[0]:pad[0] + n_H_prev, pad[1]:pad[1] + n_W_prev, :]
    return dA_prev, dW, db


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_forward(x, w, b, stride=1, padding=0):
    Z, cache = conv_forward(x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), b.reshape(1, 1, 1, -1),
                            {'stride': _pair(stride), 'pad': _pair(padding)})
    return Z.transpose(0, 3, 1, 2), cache


def conv2d_backward(dout, cache):
    dA, dW, db = conv_backward(dout.transpose(0, 2, 3, 1), cache)
    return dA.transpose(0, 3, 1, 2), dW.transpose(3, 2, 0, 1), db.reshape(-1)
