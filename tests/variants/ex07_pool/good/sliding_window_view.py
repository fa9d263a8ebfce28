"""Windows by np.lib.stride_tricks.sliding_window_view, gradients by np.add.at."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _pair(v):
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _windows(x, kernel_size, stride):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    Ho, Wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :Ho, :Wo]
    return win, (kh, kw, sh, sw)


def max_pool2d_forward(x, kernel_size, stride=None):
    win, p = _windows(x, kernel_size, stride)
    flat = win.reshape(win.shape[:4] + (-1,))
    return flat.max(axis=-1), (x.shape, flat.argmax(axis=-1), p)


def max_pool2d_backward(dout, cache):
    shape, arg, (kh, kw, sh, sw) = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros(shape)
    n, c, i, j = np.indices((N, C, Ho, Wo))
    rows, cols = i * sh + arg // kw, j * sw + arg % kw
    np.add.at(dx, (n, c, rows, cols), dout)
    return dx


def avg_pool2d_forward(x, kernel_size, stride=None):
    win, p = _windows(x, kernel_size, stride)
    return win.mean(axis=(-2, -1)), (x.shape, p)


def avg_pool2d_backward(dout, cache):
    shape, (kh, kw, sh, sw) = cache
    dx = np.zeros(shape)
    for a in range(kh):
        for b in range(kw):
            dx[:, :, a:a + sh * dout.shape[2]:sh, b:b + sw * dout.shape[3]:sw] += dout / (kh * kw)
    return dx
