"""max_pool2d_backward writes dout at each window's argmax with = instead of +=.

When two overlapping windows share their maximum, the second one replaces the
first one's gradient instead of adding to it.
"""
# expect-hint: overwrote each other's gradient
import numpy as np


def _params(kernel_size, stride):
    kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    if stride is None:
        stride = (kh, kw)
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    return kh, kw, sh, sw


def max_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw = _params(kernel_size, stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.max(x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw])
    return out, {"x": x, "kernel": (kh, kw), "stride": (sh, sw)}


def max_pool2d_backward(dout, cache):
    x, (kh, kw), (sh, sw) = cache["x"], cache["kernel"], cache["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    a, k = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * sh + a, j * sw + k] = dout[n, c, i, j]
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    kh, kw, sh, sw = _params(kernel_size, stride)
    N, C, H, W = x.shape
    H_out, W_out = (H - kh) // sh + 1, (W - kw) // sw + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.mean(x[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw])
    return out, {"shape": x.shape, "kernel": (kh, kw), "stride": (sh, sw)}


def avg_pool2d_backward(dout, cache):
    (kh, kw), (sh, sw) = cache["kernel"], cache["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros(cache["shape"])
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    dx[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw] += dout[n, c, i, j] / (kh * kw)
    return dx
