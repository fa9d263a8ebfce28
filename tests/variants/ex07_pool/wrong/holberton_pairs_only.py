"""Holberton's pool_forward / pool_backward (kernel_shape and stride pairs, channels last),
passed the curriculum's arguments as they come."""
# mistake: here; your code expects (height, width) pairs only
import numpy as np


def pool_forward(A_prev, kernel_shape, stride=(2, 2), mode='max'):
    """Holberton: A_prev (m, h, w, c), kernel_shape (kh, kw), stride (sh, sw)."""
    m, h_prev, w_prev, c = A_prev.shape
    kh, kw = kernel_shape
    sh, sw = stride
    h_new, w_new = (h_prev - kh) // sh + 1, (w_prev - kw) // sw + 1
    out = np.zeros((m, h_new, w_new, c))
    pool = np.max if mode == 'max' else np.mean
    for i in range(h_new):
        for j in range(w_new):
            out[:, i, j, :] = pool(A_prev[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :], axis=(1, 2))
    return out


def pool_backward(dA, A_prev, kernel_shape, stride=(1, 1), mode='max'):
    m, h_new, w_new, c = dA.shape
    kh, kw = kernel_shape
    sh, sw = stride
    dA_prev = np.zeros_like(A_prev)
    for n in range(m):
        for i in range(h_new):
            for j in range(w_new):
                for k in range(c):
                    if mode == 'max':
                        win = A_prev[n, i * sh:i * sh + kh, j * sw:j * sw + kw, k]
                        dA_prev[n, i * sh:i * sh + kh, j * sw:j * sw + kw, k] += (win == np.max(win)) * dA[n, i, j, k]
                    else:
                        dA_prev[n, i * sh:i * sh + kh, j * sw:j * sw + kw, k] += dA[n, i, j, k] / (kh * kw)
    return dA_prev


def _fwd(x, kernel_size, stride, mode):
    stride = kernel_size if stride is None else stride
    out = pool_forward(x.transpose(0, 2, 3, 1), kernel_size, stride, mode)
    return out.transpose(0, 3, 1, 2), (x.transpose(0, 2, 3, 1), kernel_size, stride, mode)


def _bwd(dout, cache):
    A_prev, kernel_size, stride, mode = cache
    return pool_backward(dout.transpose(0, 2, 3, 1), A_prev, kernel_size, stride, mode).transpose(0, 3, 1, 2)


def max_pool2d_forward(x, kernel_size, stride=None):
    return _fwd(x, kernel_size, stride, 'max')


def max_pool2d_backward(dout, cache):
    return _bwd(dout, cache)


def avg_pool2d_forward(x, kernel_size, stride=None):
    return _fwd(x, kernel_size, stride, 'avg')


def avg_pool2d_backward(dout, cache):
    return _bwd(dout, cache)
