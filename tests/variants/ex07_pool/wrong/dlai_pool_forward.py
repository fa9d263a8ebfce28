"""deeplearning.ai Course 4's pool_forward / pool_backward (hparameters f and stride, ints,
channels last), wrapped; stride=None passed through as it comes."""
# mistake: stride=None means stride = kernel_size
# mistake: a (height, width) pair was used as one int
import numpy as np


def pool_forward(A_prev, hparameters, mode="max"):
    (m, n_H_prev, n_W_prev, n_C) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    n_H = int(1 + (n_H_prev - f) / stride)
    n_W = int(1 + (n_W_prev - f) / stride)
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    a = A_prev[i, h * stride:h * stride + f, w * stride:w * stride + f, c]
                    A[i, h, w, c] = np.max(a) if mode == "max" else np.mean(a)
    return A, (A_prev, hparameters)


def create_mask_from_window(x):
    return x == np.max(x)


def distribute_value(dz, shape):
    (n_H, n_W) = shape
    return np.ones(shape) * dz / (n_H * n_W)


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    stride, f = hparameters["stride"], hparameters["f"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vs, hs = h * stride, w * stride
                    if mode == "max":
                        mask = create_mask_from_window(A_prev[i, vs:vs + f, hs:hs + f, c])
                        dA_prev[i, vs:vs + f, hs:hs + f, c] += mask * dA[i, h, w, c]
                    else:
                        dA_prev[i, vs:vs + f, hs:hs + f, c] += distribute_value(dA[i, h, w, c], (f, f))
    return dA_prev


def _fwd(x, kernel_size, stride, mode):
    A, cache = pool_forward(x.transpose(0, 2, 3, 1), {"f": kernel_size, "stride": stride}, mode)
    return A.transpose(0, 3, 1, 2), (cache, mode)


def _bwd(dout, cache):
    inner, mode = cache
    return pool_backward(dout.transpose(0, 2, 3, 1), inner, mode).transpose(0, 3, 1, 2)


def max_pool2d_forward(x, kernel_size, stride=None):
    return _fwd(x, kernel_size, stride, "max")


def max_pool2d_backward(dout, cache):
    return _bwd(dout, cache)


def avg_pool2d_forward(x, kernel_size, stride=None):
    return _fwd(x, kernel_size, stride, "avg")


def avg_pool2d_backward(dout, cache):
    return _bwd(dout, cache)
